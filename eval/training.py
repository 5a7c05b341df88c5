"""Training the learned judge: one scikit-learn classifier per criterion on the embedding features of labelled
conversations. Inference (the judge itself) lives with the other judges in ``scorer.judges.learned``."""

from __future__ import annotations

from eval.datasets import Dataset
from scorer.judges._features import Featuriser
from scorer.judges.learned import MIN_PER_CLASS, LearnedModel
from scorer.types import Rubric

__all__ = ["train"]


def train(dataset: Dataset, rubric: Rubric, *, embedding_model: str | None = None, seed: int = 0,
          featuriser: Featuriser | None = None) -> LearnedModel:
    """Fit one classifier per criterion on the dataset's human labels."""
    from sklearn.linear_model import LogisticRegression

    featuriser = featuriser or Featuriser(embedding_model)
    features = featuriser.many([item.conversation for item in dataset.items])
    model = LearnedModel(rubric.id, rubric.version, featuriser.model_path)
    for criterion in rubric.criteria:
        rows = [i for i, item in enumerate(dataset.items) if criterion.id in item.labels]
        y = [dataset.items[i].labels[criterion.id] for i in rows]
        counts = {label: y.count(label) for label in set(y)}
        model.trained_on[criterion.id] = len(y)
        if len(counts) < 2 or min(counts.values()) < MIN_PER_CLASS:
            model.untrainable[criterion.id] = (f"needs at least two answers with {MIN_PER_CLASS}+ labels each; "
                                               f"got {counts or 'no labels'}")
            continue
        classifier = LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000, random_state=seed)
        classifier.fit(features[rows], y)
        model.classifiers[criterion.id] = classifier
    return model
