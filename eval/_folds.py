"""Shared pieces of the learned judge's training (``eval.training``, ``eval._turn_training``): the classifier, the
seeded conversation folds, κ and the κ-fitted decision cut."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["FOLDS", "classifier", "fold_splits", "kappa", "kappa_cut", "logit", "shift"]

FOLDS = 5


def classifier(seed: int, c: float = 0.5) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)


def kappa(y: Sequence[str], predicted: Sequence[str]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(set(y) | set(predicted)) < 2:
        return None
    value = float(cohen_kappa_score(list(y), list(predicted)))
    return None if np.isnan(value) else value


def fold_splits(y: Sequence[str], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    k = max(2, min(FOLDS, min(list(y).count(v) for v in set(y))))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), list(y)))


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def kappa_cut(p: np.ndarray, y: Sequence[int]) -> float:
    """The cut on P(class 1) whose decisions agree best with ``y`` (Cohen's κ) on out-of-fold scores, from a coarse
    grid in [0.2, 0.8] (one number fitted on the training data: a balanced classifier's 0.5 over-answers a rare
    class). Ties keep the cut nearest 0.5."""
    grid = sorted(np.round(np.arange(0.2, 0.801, 0.025), 3), key=lambda c: abs(c - 0.5))
    scores = [kappa([str(v) for v in y], [str(int(v >= c)) for v in p]) for c in grid]
    values = [-2.0 if v is None else v for v in scores]
    return float(grid[values.index(max(values))])


def shift(fitted: Any, cut: float) -> Any:
    """Move a binary logistic model's P(class 1) = 0.5 point to ``cut`` (so its argmax answers at the cut)."""
    fitted.intercept_ = fitted.intercept_ - logit(cut)
    return fitted
