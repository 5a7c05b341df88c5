"""Confidence calibration on human labels, and the auto-accept threshold that keeps a target accuracy.

Per criterion and judge: isotonic regression maps a judge's confidence to the probability that its answer is
right; expected calibration error (ECE) is reported before and after on held-out items. The threshold is chosen on
the raw confidence (isotonic maps are monotone, so this is the same cut) as the lowest value whose accepted items
reach the target accuracy — the largest coverage that keeps it. Small samples keep the default threshold and say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from eval.metrics import ece

__all__ = ["MIN_LABELS", "calibrate_criterion", "fit_threshold"]

MIN_LABELS = 30


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
    """Fit isotonic calibration on half the items, measure ECE on the other half, then refit on all of them."""
    from sklearn.isotonic import IsotonicRegression

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
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(c[fit_idx], y[fit_idx])
    before = ece(c[test_idx].tolist(), y[test_idx].astype(bool).tolist())
    after = ece(iso.predict(c[test_idx]).tolist(), y[test_idx].astype(bool).tolist())
    full = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(c, y)
    cut = fit_threshold(c.tolist(), y.astype(bool).tolist(), target)
    return {
        "n": n, "method": "isotonic", "ece_before": before, "ece_after": after,
        "threshold": cut["threshold"] if cut else 1.01,
        "coverage": cut["coverage"] if cut else 0.0, "accuracy_at_threshold": cut["accuracy"] if cut else None,
        "note": None if cut else f"no confidence level reaches {target:.0%} accuracy: everything goes to review",
        "params": {"x": full.X_thresholds_.tolist(), "y": full.y_thresholds_.tolist()},
    }
