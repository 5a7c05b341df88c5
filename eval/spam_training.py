"""Training the learned spam filter on reviewers' spam labels; inference lives in :mod:`scorer.spam`.

Features are the learned judge's conversation vector (:meth:`scorer.judges._features.Featuriser.vector`, ``e5`` by
default), standardised; the classifier is a class-balanced logistic regression whose scores are calibrated to
probabilities by Platt scaling fitted on out-of-fold scores (``CalibratedClassifierCV``, sigmoid, seeded stratified
k-fold). Platt's target smoothing keeps probabilities from a few labels moderate — with 12 spam labels the clearest
spam reads about 0.97 — so a small label set excludes only clear cases. Nested out-of-fold probabilities give the
held-out precision and recall at each candidate threshold, stored in the model's manifest so a rubric's
``learned_spam_threshold`` can be chosen on figures. Too few labels: :class:`NotEnoughSpamLabels`,
and nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scorer._errors import RubricateError
from scorer.judges._embeddings import DEFAULT_EMBEDDING
from scorer.judges._features import Featuriser
from scorer.spam import SpamModel
from scorer.types import Conversation

__all__ = ["MIN_PER_CLASS", "THRESHOLDS", "NotEnoughSpamLabels", "train_spam"]

MIN_PER_CLASS = 5
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
_FOLDS = 5


class NotEnoughSpamLabels(RubricateError):
    """Fewer than :data:`MIN_PER_CLASS` conversations labelled spam, or not spam."""


def _folds(y: np.ndarray, seed: int) -> Any:
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(max(2, min(_FOLDS, int(y.sum()), int((1 - y).sum()))), shuffle=True, random_state=seed)


def _classifier(y: np.ndarray, seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scores = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, class_weight="balanced", max_iter=2000,
                                                                random_state=seed))
    return CalibratedClassifierCV(scores, method="sigmoid", cv=_folds(y, seed), ensemble=False)


def _heldout(x: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    """Out-of-fold P(spam) → precision, recall and how many were flagged at each threshold."""
    folds = _folds(y, seed)
    p = np.zeros(len(y))
    for fit, test in folds.split(x, y):
        p[test] = _classifier(y[fit], seed).fit(x[fit], y[fit]).predict_proba(x[test])[:, 1]
    at: dict[str, dict[str, float | int | None]] = {}
    for t in THRESHOLDS:
        flagged = p >= t
        hits = int((flagged & (y == 1)).sum())
        at[f"{t:.2f}"] = {"flagged": int(flagged.sum()), "precision": hits / int(flagged.sum()) if flagged.any()
                          else None, "recall": hits / int(y.sum())}
    return {"folds": folds.get_n_splits(), "n": len(y), "at": at}


def train_spam(examples: Sequence[tuple[Conversation, bool]], *, embedding: str = DEFAULT_EMBEDDING,
               featuriser: Featuriser | None = None, seed: int = 0, cache_dir: Path | None = None) -> SpamModel:
    """Fit the spam filter on (conversation, is spam) pairs; raises :class:`NotEnoughSpamLabels` below
    :data:`MIN_PER_CLASS` labels of either kind."""
    spam = sum(1 for _, value in examples if value)
    counts = {"spam": spam, "not_spam": len(examples) - spam}
    if min(counts.values()) < MIN_PER_CLASS:
        raise NotEnoughSpamLabels(
            f"the spam filter needs at least {MIN_PER_CLASS} conversations labelled spam and {MIN_PER_CLASS} "
            f"labelled not spam; there are {counts['spam']} and {counts['not_spam']}. Tick 'spam' (or leave it "
            "unticked) on more Label Studio tasks and run `rubricate review pull`. Nothing was trained.")
    examples = sorted(examples, key=lambda pair: pair[0].id)  # the same labels give the same model, in any order
    featuriser = featuriser or Featuriser(embedding, cache_dir=cache_dir)
    x = featuriser.many([conversation for conversation, _ in examples])
    y = np.asarray([int(value) for _, value in examples])
    heldout = _heldout(x, y, seed)
    return SpamModel(embedding=featuriser.embedding, fingerprint=featuriser.fingerprint,
                     classifier=_classifier(y, seed).fit(x, y), trained_on=counts, heldout=heldout)
