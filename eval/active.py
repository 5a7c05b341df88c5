"""Simulated active learning: how many reviews does the learned judge need to reach a target accuracy when reviews
come in the order ``review push --learn-share`` picks (least sure first) instead of a random order?

Per criterion and seed: start from 10 random labelled items, then add reviews up to 20, 40, 80, … and all — either
the pool items the current classifier is least sure of (``scorer.store.learning.uncertainty``, the rule the push
uses) or random ones — refit the conversation-level classifier and measure accuracy on the test set. The target is the
accuracy of the classifier trained on the whole pool minus ``tolerance``; "reviews needed" is the first count at
which the mean accuracy over criteria reaches it.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from eval.datasets import Dataset
from scorer.judges._features import Featuriser
from scorer.store.learning import uncertainty
from scorer.types import Rubric

__all__ = ["simulate"]


def _fit(x: np.ndarray, y: list[str], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000, random_state=seed).fit(x, y)


def _accuracy(model: Any, x: np.ndarray, y: list[str]) -> float:
    return float(np.mean(model.predict(x) == np.asarray(y)))


def _curve(x: np.ndarray, y: list[str], tx: np.ndarray, ty: list[str], sizes: list[int], strategy: str,
           seed: int) -> list[float]:
    rng = random.Random(seed)
    order = list(range(len(y)))
    rng.shuffle(order)
    labelled = order[: sizes[0]]
    while len({y[i] for i in labelled}) < 2 and len(labelled) < len(y):  # a classifier needs two answers
        labelled.append(order[len(labelled)])
    out = []
    for size in sizes:
        if len(labelled) < size:
            rest = [i for i in order if i not in set(labelled)]
            if strategy == "uncertainty":
                model = _fit(x[labelled], [y[i] for i in labelled], seed)
                probs = model.predict_proba(x[rest])
                scores = [uncertainty(dict(zip(map(str, model.classes_), p, strict=True)), None) for p in probs]
                rest = [i for _, i in sorted(zip(scores, rest, strict=True), key=lambda si: -si[0])]
            labelled += rest[: size - len(labelled)]
        out.append(_accuracy(_fit(x[labelled], [y[i] for i in labelled], seed), tx, ty))
    return out


def simulate(pool: Dataset, test: Dataset, rubric: Rubric, featuriser: Featuriser, *, seeds: int = 5,
             start: int = 10, tolerance: float = 0.01) -> dict[str, Any]:
    """Accuracy curves (mean over criteria and seeds) for random and uncertainty order, and reviews needed."""
    px = featuriser.many([i.conversation for i in pool.items])
    tx = featuriser.many([i.conversation for i in test.items])
    curves: dict[str, list[list[float]]] = {"random": [], "uncertainty": []}
    targets = []
    sizes: list[int] = []
    for criterion in rubric.criteria:
        rows = [k for k, i in enumerate(pool.items) if criterion.id in i.labels]
        trows = [k for k, i in enumerate(test.items) if criterion.id in i.labels]
        y = [pool.items[k].labels[criterion.id] for k in rows]
        ty = [test.items[k].labels[criterion.id] for k in trows]
        if len(set(y)) < 2 or not ty:
            continue
        sizes = [start * 2**k for k in range(12) if start * 2**k < len(pool)] + [len(pool)]  # 10, 20, 40, …, all
        own = [min(s, len(rows)) for s in sizes]
        targets.append(_accuracy(_fit(px[rows], y, 0), tx[trows], ty))
        for strategy in curves:
            for seed in range(seeds):
                curves[strategy].append(_curve(px[rows], y, tx[trows], ty, own, strategy, seed))
    target = float(np.mean(targets)) - tolerance
    result: dict[str, Any] = {"sizes": sizes, "target_accuracy": target, "seeds": seeds,
                              "embedding": featuriser.embedding, "criteria": len(targets)}
    n = len(targets)
    for strategy, runs in curves.items():
        per_seed = [np.mean([runs[c * seeds + s] for c in range(n)], axis=0) for s in range(seeds)]
        needed = [next((size for size, acc in zip(sizes, curve, strict=True) if acc >= target), None)
                  for curve in per_seed]
        result[strategy] = {"mean_accuracy": list(np.mean(per_seed, axis=0)),
                            "reviews_needed_per_seed": needed,
                            "reviews_needed_median": float(np.median([v for v in needed if v is not None]))
                            if any(v is not None for v in needed) else None}
    return result
