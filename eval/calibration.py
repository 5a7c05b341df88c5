"""Confidence calibration on human labels, and the auto-accept threshold that keeps a target accuracy.

Per criterion and judge: isotonic regression (Platt scaling below 200 labels) maps a judge's confidence to the
probability that its answer is right; expected calibration error (ECE) is reported before and after on held-out
items. The threshold is chosen on the raw confidence (both maps are monotone, so this is the same cut) as the
lowest value whose accepted items reach the target accuracy — the largest coverage that keeps it. Small samples
keep the default threshold and say so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from eval.metrics import ece

__all__ = ["ISOTONIC_MIN", "MIN_LABELS", "calibrate_criterion", "fit_threshold"]

MIN_LABELS = 30
ISOTONIC_MIN = 200
"""Below this many fitting labels a two-parameter Platt (sigmoid) fit is used: isotonic overfits small sets."""


def _fit(method: str, c: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A monotone map from confidence to P(correct), fitted with scikit-learn."""
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(c, y)
        return lambda x: np.asarray(iso.predict(x), dtype=float)
    from sklearn.linear_model import LogisticRegression

    def logit(x: np.ndarray) -> np.ndarray:
        clipped = np.clip(x, 1e-4, 1 - 1e-4)
        return np.log(clipped / (1 - clipped)).reshape(-1, 1)

    platt = LogisticRegression(C=1e4).fit(logit(c), y.astype(int))
    return lambda x: np.asarray(platt.predict_proba(logit(x))[:, 1], dtype=float)


def fit_threshold(confidences: Sequence[float], correct: Sequence[bool], target: float) -> dict[str, Any] | None:
    """The lowest confidence cut whose accepted items are at least ``target`` accurate; None if none is."""
    if not confidences:
        return None
    order = np.argsort(-np.asarray(confidences, dtype=float), kind="stable")
    c = np.asarray(confidences, dtype=float)[order]
    y = np.asarray(correct, dtype=float)[order]
    running = np.cumsum(y) / np.arange(1, len(y) + 1)
    best = None
    for k in range(len(c)):
        if k + 1 < len(c) and c[k + 1] == c[k]:
            continue  # a cut must take all items of equal confidence
        if running[k] >= target:
            best = k
    if best is None:
        return None
    return {"threshold": float(c[best]), "coverage": (best + 1) / len(c), "accuracy": float(running[best])}


def calibrate_criterion(confidences: Sequence[float], correct: Sequence[bool], *, target: float,
                        default_threshold: float, seed: int = 0) -> dict[str, Any]:
    """Fit calibration on half the items, measure ECE on the other half, then refit on all of them."""
    n = len(confidences)
    if n < MIN_LABELS or len(set(correct)) < 2:
        why = f"only {n} labelled items (need {MIN_LABELS})" if n < MIN_LABELS else \
            "the judge was always right or always wrong: nothing to calibrate"
        return {"n": n, "method": "none", "threshold": default_threshold, "note": f"{why}; kept the default "
                f"threshold {default_threshold}", "ece_before": None, "ece_after": None}
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n)
    fit_idx, test_idx = idx[: n // 2], idx[n // 2 :]
    c, y = np.asarray(confidences, dtype=float), np.asarray(correct, dtype=float)
    method = "isotonic" if n // 2 >= ISOTONIC_MIN else "platt"  # the held-out fit sees half the items
    half = _fit(method, c[fit_idx], y[fit_idx])
    before = ece(c[test_idx].tolist(), y[test_idx].astype(bool).tolist())
    after = ece(half(c[test_idx]).tolist(), y[test_idx].astype(bool).tolist())
    full = _fit(method, c, y)
    cut = fit_threshold(c.tolist(), y.astype(bool).tolist(), target)
    grid = np.linspace(0, 1, 21)
    return {
        "n": n, "method": method, "ece_before": before, "ece_after": after,
        "threshold": cut["threshold"] if cut else 1.01,
        "coverage": cut["coverage"] if cut else 0.0, "accuracy_at_threshold": cut["accuracy"] if cut else None,
        "note": None if cut else f"no confidence level reaches {target:.0%} accuracy: everything goes to review",
        "params": {"x": grid.tolist(), "y": full(grid).tolist()},
    }
