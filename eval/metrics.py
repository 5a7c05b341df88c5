"""Agreement metrics per criterion, computed with scikit-learn and krippendorff; null (with a reason) where a number
would be meaningless, never a made-up one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["agreement", "auc", "bootstrap_ci", "bootstrap_stat", "ece", "evidence_scores", "human_human_kappa",
           "krippendorff_alpha"]


def _kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(a) < 2 or len(set(a) | set(b)) < 2:
        return None
    value = cohen_kappa_score(a, b)
    return None if np.isnan(value) else float(value)


def agreement(human: Sequence[str], ai: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, Cohen's κ, macro-F1 and the confusion matrix of AI answers against human labels."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    n = len(human)
    if n == 0:
        return {"n": 0, "accuracy": None, "kappa": None, "macro_f1": None, "confusion": None,
                "note": "no labelled items"}
    kappa = _kappa(human, ai)
    out: dict[str, Any] = {
        "n": n,
        "accuracy": float(accuracy_score(human, ai)),
        "kappa": kappa,
        "macro_f1": float(f1_score(human, ai, labels=list(labels), average="macro", zero_division=0)),
        "confusion": {"labels": list(labels),
                      "matrix": confusion_matrix(human, ai, labels=list(labels)).tolist()},
    }
    if kappa is None:
        out["note"] = "κ undefined: only one class among the human labels and AI answers"
    if "na" in labels:
        out["na_vs_no"] = sum(h == "na" and a == "no" for h, a in zip(human, ai, strict=True))
        out["no_vs_na"] = sum(h == "no" and a == "na" for h, a in zip(human, ai, strict=True))
    return out


def bootstrap_ci(human: Sequence[str], ai: Sequence[str], metric: str = "accuracy", *, rounds: int = 1000,
                 seed: int = 0, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of accuracy or κ over items (resampled with replacement, seeded)."""
    h, a = np.asarray(human), np.asarray(ai)

    def statistic(idx: np.ndarray) -> float | None:
        return float(np.mean(h[idx] == a[idx])) if metric == "accuracy" else _kappa(list(h[idx]), list(a[idx]))

    return bootstrap_stat(statistic, len(h), rounds=rounds, seed=seed, level=level)


def human_human_kappa(annotators: Sequence[Sequence[dict[str, str]]], criterion: str) -> float | None:
    """Mean over annotators of κ between one annotator and the majority of the others (leave-one-out)."""
    per_annotator: dict[int, tuple[list[str], list[str]]] = {}
    for conversation in annotators:
        for k, own in enumerate(conversation):
            if criterion not in own:
                continue
            others = Counter(o[criterion] for j, o in enumerate(conversation) if j != k and criterion in o)
            if not others:
                continue
            top = others.most_common(2)
            if len(top) > 1 and top[0][1] == top[1][1]:
                continue  # the others are split evenly: no majority to compare with
            mine, theirs = per_annotator.setdefault(k, ([], []))
            mine.append(own[criterion])
            theirs.append(top[0][0])
    kappas = [value for mine, theirs in per_annotator.values() if (value := _kappa(mine, theirs)) is not None]
    return float(np.mean(kappas)) if kappas else None


def krippendorff_alpha(annotators: Sequence[Sequence[dict[str, str]]], criterion: str,
                       labels: Sequence[str]) -> float | None:
    """Krippendorff's α (nominal) across annotators; None with fewer than two annotators or one category."""
    import krippendorff

    width = max((len(c) for c in annotators), default=0)
    if width < 2:
        return None
    index = {label: i for i, label in enumerate(labels)}
    data = np.full((width, len(annotators)), np.nan)
    for col, conversation in enumerate(annotators):
        for row, own in enumerate(conversation):
            if criterion in own:
                data[row, col] = index[own[criterion]]
    if len(set(data[~np.isnan(data)].tolist())) < 2:
        return None
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def ece(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float | None:
    """Expected calibration error with equal-width bins."""
    if not confidences:
        return None
    c, y = np.asarray(confidences, dtype=float), np.asarray(correct, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(c, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(c[which == b].mean() - y[which == b].mean()) * np.mean(which == b)
                     for b in range(bins) if np.any(which == b)))


def evidence_scores(predicted: Sequence[set[int]], gold: Sequence[set[int]]) -> tuple[float | None, float | None]:
    """Turn-level micro precision and recall of predicted evidence turns against human rationale turns."""
    tp = sum(len(p & g) for p, g in zip(predicted, gold, strict=True))
    n_pred, n_gold = sum(len(p) for p in predicted), sum(len(g) for g in gold)
    return (tp / n_pred if n_pred else None), (tp / n_gold if n_gold else None)


def auc(positive: Sequence[bool], scores: Sequence[float]) -> float | None:
    """ROC AUC of ``scores`` (e.g. the judge's probability of "yes") against human positives; None with one class.
    It tells whether the judge *ranks* conversations like the humans even where its yes/no threshold is off.
    Computed as the Mann–Whitney U statistic over n₁·n₂ (scipy; same value as sklearn's roc_auc_score, several times
    faster inside a bootstrap)."""
    from scipy.stats import mannwhitneyu

    y, s = np.asarray(positive, dtype=bool), np.asarray(scores, dtype=float)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return None
    return float(mannwhitneyu(s[y], s[~y], method="asymptotic").statistic / (n_pos * n_neg))


def bootstrap_stat(statistic: Callable[[np.ndarray], float | None], n: int, *, rounds: int = 1000, seed: int = 0,
                   level: float = 0.95) -> tuple[float, float] | None:
    """Percentile interval of ``statistic(indices)`` over resamples of ``n`` items with replacement (seeded);
    resamples where it is undefined are skipped, and None is returned when more than half are or ``n`` < 10."""
    if n < 10:
        return None
    rng = np.random.default_rng(seed)
    values = [v for _ in range(rounds) if (v := statistic(rng.integers(0, n, n))) is not None]
    if len(values) < rounds // 2:
        return None
    low, high = np.percentile(values, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(low), float(high)
