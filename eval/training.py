"""Training the learned judge. Inference (the judge itself) lives with the other judges in ``scorer.judges.learned``.

For every criterion, every candidate — each embedding × conversation level, and turn level where the labels are
yes/no and the "yes" items carry evidence turns (each turn feature set, with a binary classifier and, where no turn
is evidence for two criteria, a joint one; see ``eval._turn_training``) — is scored by κ on out-of-fold predictions
over the training data
(seeded stratified k-fold by conversation; the mean over ``REPEATS`` differently seeded splits). The candidate with
the highest held-out κ is refitted on all the data and kept; the held-out κ of every candidate is stored in the
model and its manifest, so the choice is reported. With two answers, the decision cut is fitted for κ on the
out-of-fold scores (:func:`kappa_cut`). The same held-out predictions give the auto-accept threshold (the
confidence that kept ``target_accuracy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from eval._folds import classifier as _classifier
from eval._folds import fold_splits as _folds
from eval._folds import kappa as _kappa
from eval._folds import kappa_cut, logit, shift
from eval._turn_training import TurnTask, exclusive_groups, turn_candidate
from eval.calibration import fit_threshold
from eval.datasets import Dataset
from scorer.judges._features import Featuriser
from scorer.judges.learned import MIN_PER_CLASS, CriterionModel, LearnedModel, criterion_speaker
from scorer.types import Rubric

__all__ = ["DEFAULT_EMBEDDINGS", "DEFAULT_TURN_FEATURES", "JOINT", "REPEATS", "kappa_cut", "train"]

DEFAULT_EMBEDDINGS = ("e5", "minilm")
DEFAULT_TURN_FEATURES = ("previous", "lexical")  # "reply" was not clearly better on ESConv dev (docs/evaluation.md)
JOINT = False  # try a joint turn classifier where evidence turns never overlap: with lexical features it did not
# help held-out κ on ESConv dev (mean over 7 criteria −0.003 e5, −0.013 MiniLM; docs/evaluation.md)
REPEATS = 3  # differently seeded k-fold splits whose mean held-out κ makes the choice


def _conversation_candidate(x: np.ndarray, y: list[str], seed: int) -> tuple[CriterionModel, np.ndarray, list[str]]:
    """Out-of-fold answers and confidences of a conversation-level classifier, and the classifier fitted on all.
    With two answers the decision cut is fitted for κ on the out-of-fold scores (:func:`kappa_cut`)."""
    classes = sorted(set(y))
    probs = np.zeros((len(y), len(classes)))
    for fit_rows, test_rows in _folds(y, seed):
        classifier = _classifier(seed).fit(x[fit_rows], [y[i] for i in fit_rows])
        found = classifier.predict_proba(x[test_rows])
        for k, c in enumerate(classifier.classes_):
            probs[test_rows, classes.index(str(c))] = found[:, k]
    final = _classifier(seed).fit(x, y)
    if len(classes) == 2:
        cut = kappa_cut(probs[:, 1], [int(v == classes[1]) for v in y])
        probs[:, 1] = 1 / (1 + np.exp(-(np.log(np.clip(probs[:, 1], 1e-9, 1)) - np.log(np.clip(probs[:, 0], 1e-9, 1))
                                        - logit(cut))))
        probs[:, 0] = 1 - probs[:, 1]
        final = shift(final, cut)
    predicted = [classes[int(np.argmax(p))] for p in probs]
    return CriterionModel("", "conversation", final), probs.max(axis=1), predicted


def _repeated(make: Any, y: list[str], seed: int, repeats: int
              ) -> tuple[CriterionModel, np.ndarray, list[str], float | None] | None:
    """A candidate (its model, out-of-fold confidences and answers from the first split) and its held-out κ as the
    mean over ``repeats`` differently seeded k-fold splits: one split of a few hundred conversations is too noisy to
    choose between candidates (docs/evaluation.md)."""
    first = make(seed)
    if first is None:
        return None
    kappas = [_kappa(y, first[2])]
    for k in range(1, repeats):
        again = make(seed + 1000 * k)
        if again is not None:
            kappas.append(_kappa(y, again[2]))
    known = [v for v in kappas if v is not None]
    return first[0], first[1], first[2], (float(np.mean(known)) if known else None)


def _turn_eligible(dataset: Dataset, rubric: Rubric) -> dict[str, tuple[str, str, str]]:
    """Criteria a turn-level classifier can learn: yes/no-style labels (two answers, 3+ each) whose positive items
    carry evidence turns → (speaker, positive answer, negative answer)."""
    out = {}
    for criterion in rubric.criteria:
        y = [item.labels[criterion.id] for item in dataset.items if criterion.id in item.labels]
        answers = sorted(set(y))
        if len(answers) != 2 or min(y.count(a) for a in answers) < MIN_PER_CLASS:
            continue
        positive = next((a for a in answers if not criterion.scale.is_failing(a) and a != "na"), None)
        if positive is not None and any(item.evidence.get(criterion.id) for item in dataset.items
                                        if item.labels.get(criterion.id) == positive):
            out[criterion.id] = (criterion_speaker(criterion), positive, next(a for a in answers if a != positive))
    return out


def train(dataset: Dataset, rubric: Rubric, *, embeddings: Sequence[str] | None = None, seed: int = 0,
          featurisers: dict[str, Featuriser] | None = None, levels: Sequence[str] = ("conversation", "turn"),
          target_accuracy: float = 0.9, cache_dir: Path | None = None,
          turn_features: str | Sequence[str] = DEFAULT_TURN_FEATURES, joint: bool = JOINT,
          candidates_out: dict[str, dict[str, CriterionModel]] | None = None, repeats: int = REPEATS) -> LearnedModel:
    """Fit one classifier per criterion, choosing embedding, level, turn feature set (``turn_features``: one or
    several of ``TURN_FEATURES``) and, with ``joint``, a joint turn classifier where the criteria's evidence turns
    never overlap, by held-out κ on the training data.

    ``candidates_out``, if given, receives every fitted candidate per criterion (keyed by ``CriterionModel.label``,
    e.g. ``"e5/conversation"``, ``"e5/turn+lexical"``), for side-by-side comparisons."""
    kinds = [turn_features] if isinstance(turn_features, str) else list(turn_features)
    names = list(embeddings or (list(featurisers) if featurisers else DEFAULT_EMBEDDINGS))
    featurisers = {n: (featurisers or {}).get(n) or Featuriser(n, cache_dir=cache_dir) for n in names}
    conversations = [item.conversation for item in dataset.items]
    vectors = {n: featurisers[n].many(conversations) for n in names}
    model = LearnedModel(rubric.id, rubric.version, {n: featurisers[n].fingerprint for n in names})
    eligible = _turn_eligible(dataset, rubric) if "turn" in levels else {}
    groups = exclusive_groups(dataset.items, {c: (a, p) for c, (a, p, _) in eligible.items()}) if joint else {}
    turn_sets: dict[tuple[str, str, str], list[Any]] = {}
    joint_fits: dict[tuple[str, str, tuple[str, ...]], dict[Any, Any]] = {}  # fitted once, used by each criterion
    for criterion in rubric.criteria:
        rows = [i for i, item in enumerate(dataset.items) if criterion.id in item.labels]
        items = [dataset.items[i] for i in rows]
        y = [item.labels[criterion.id] for item in items]
        counts = {label: y.count(label) for label in set(y)}
        model.trained_on[criterion.id] = len(y)
        if len(counts) < 2 or min(counts.values()) < MIN_PER_CLASS:
            model.untrainable[criterion.id] = (f"needs at least two answers with {MIN_PER_CLASS}+ labels each; "
                                               f"got {counts or 'no labels'}")
            continue
        about = criterion_speaker(criterion)
        best: tuple[float, CriterionModel, np.ndarray, list[str]] | None = None
        scores: dict[str, float | None] = {}
        for name in names:
            candidates = []
            if "conversation" in levels:
                candidates.append(_repeated(partial(_conversation_candidate, vectors[name][rows], y), y, seed,
                                            repeats))
            if criterion.id in eligible:
                _, positive, negative = eligible[criterion.id]
                for kind in kinds:
                    key = (name, kind, about)
                    if key not in turn_sets:
                        turn_sets[key] = [featurisers[name].turn_features(c, about, kind=kind) for c in conversations]
                    for group in [None, groups.get(criterion.id)][: 2 if criterion.id in groups else 1]:
                        shared = None if group is None else joint_fits.setdefault((name, kind, tuple(group)), {})
                        task = TurnTask(criterion.id, items, [turn_sets[key][i] for i in rows], y, positive,
                                        negative, kind, group, shared)
                        candidates.append(turn_candidate(task, seed, repeats))
            for candidate, confidence, predicted, kappa in (c for c in candidates if c is not None):
                candidate.embedding, candidate.about = name, about
                scores[candidate.label] = kappa
                threshold = fit_threshold(list(confidence), [a == b for a, b in zip(y, predicted, strict=True)],
                                          target_accuracy)
                candidate.threshold = threshold["threshold"] if threshold else None
                if candidates_out is not None:
                    candidates_out.setdefault(criterion.id, {})[candidate.label] = candidate
                if best is None or (kappa if kappa is not None else -2.0) > best[0]:
                    best = (kappa if kappa is not None else -2.0, candidate, confidence, predicted)
        if best is None:
            model.untrainable[criterion.id] = ("turn level needs yes/no labels with evidence turns on the "
                                               "'yes' items")
            continue
        chosen = best[1]
        for candidate in [chosen, *(candidates_out or {}).get(criterion.id, {}).values()]:
            candidate.heldout_kappa = scores
        model.criteria[criterion.id] = chosen
    unused = {m.embedding for m in model.criteria.values()}
    model.embeddings = {n: f for n, f in model.embeddings.items() if n in unused}
    return model
