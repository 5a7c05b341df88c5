"""Turn-level candidates of the learned judge's training (``eval.training``).

A turn candidate is a classifier of the criterion's speaker's turns (evidence turns of "yes" items are positives),
one turn feature set (``scorer.judges._features.TURN_FEATURES``; ``lexical`` adds TF-IDF character n-grams through
``scorer.judges._lexical``) and either one binary classifier per criterion or — where no turn of the training data is
evidence for two criteria (:func:`exclusive_groups`) — one *joint* multinomial classifier over {those criteria, none},
whose probability of this criterion's class is the turn score. Out-of-fold turn scores are computed once per seeded
split; each aggregation (``scorer.judges._aggregate.AGGREGATES``) then reads conversation scores from them, is
Platt-calibrated and cut for κ, and the aggregation with the best mean held-out κ over the splits is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from eval._folds import classifier, fold_splits, kappa, kappa_cut, logit, shift
from eval.datasets import LabelledConversation
from scorer.judges._aggregate import AGGREGATES, aggregate
from scorer.judges._lexical import lexical_pipeline
from scorer.judges.learned import MIN_PER_CLASS, CriterionModel

__all__ = ["NONE", "TurnTask", "exclusive_groups", "turn_candidate"]

NONE = ""  # the joint classifier's class of turns that are evidence for none of its criteria
LEXICAL_C = 2.0  # the lexical classifier's regularisation: on ESConv dev (5-fold, 3 splits, binary, best
# aggregation) C = 2 beat 0.5 on 6 of 7 criteria by 0.01–0.05 held-out κ; C = 8 was no better than 2


@dataclass
class TurnTask:
    """One criterion's turn-level training problem: its labelled items and their speaker's turn features."""

    criterion_id: str
    items: list[LabelledConversation]
    turn_sets: list[tuple[list[int], np.ndarray]]
    y: list[str]
    positive: str
    negative: str
    kind: str  # the turn feature set
    joint: dict[str, str] | None = None  # a joint classifier's criteria → their positive answers (None: binary)
    shared: dict[Any, Any] | None = None  # a joint classifier's fits, shared by its criteria (same items: fit once)


def exclusive_groups(items: Sequence[LabelledConversation], candidates: dict[str, tuple[str, str]]
                     ) -> dict[str, dict[str, str]]:
    """Criterion → the criteria (2+, same speaker) it can share a joint turn classifier with: those whose evidence
    turns never overlap in ``items``. ``candidates`` maps turn-level criteria to (speaker, positive answer)."""
    out: dict[str, dict[str, str]] = {}
    for about in {a for a, _ in candidates.values()}:
        group = sorted(c for c, (a, _) in candidates.items() if a == about)
        if len(group) < 2:
            continue
        for item in items:
            seen = [t for c in group if item.labels.get(c) == candidates[c][1] for t in set(item.evidence.get(c, []))]
            if len(seen) != len(set(seen)):
                break
        else:
            out.update({c: {g: candidates[g][1] for g in group} for c in group})
    return out


def _turn_rows(task: TurnTask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn features, their labels (1/0, or the criterion id / NONE for a joint classifier) and their item's row."""
    xs, ys, owner = [], [], []
    for row, (item, (index, features)) in enumerate(zip(task.items, task.turn_sets, strict=True)):
        gold: dict[int, str] = {}
        for cid, positive in (task.joint or {task.criterion_id: task.positive}).items():
            if item.labels.get(cid) == positive:
                gold.update({t: cid for t in item.evidence.get(cid, [])})
        for i, vector in zip(index, features, strict=True):
            xs.append(vector)
            ys.append(gold.get(i, NONE) if task.joint else int(gold.get(i) == task.criterion_id))
            owner.append(row)
    return (np.stack(xs) if xs else np.zeros((0, 0))), np.asarray(ys), np.asarray(owner)


def _turn_classifier(seed: int, kind: str):  # type: ignore[no-untyped-def]
    return lexical_pipeline(classifier(seed, LEXICAL_C)) if kind == "lexical" else classifier(seed)


def _oof_scores(task: TurnTask, x: np.ndarray, t: np.ndarray, owner: np.ndarray, target: object, seed: int
                ) -> np.ndarray | None:
    """Out-of-fold P(target) of every turn. A joint classifier's out-of-fold probabilities of all its classes are
    computed once per split (folds by conversation, stratified on whether the conversation has any evidence turn)
    and shared by its criteria; a binary one's folds are stratified on the criterion's labels."""
    key = ("oof", seed, tuple(item.conversation.id for item in task.items))
    if task.shared is not None and key in task.shared:
        classes, probs = task.shared[key]
        return probs[:, classes.index(target)] if target in classes else None
    stratify = [str(any(t[owner == row] != NONE)) for row in range(len(task.y))] if task.joint else task.y
    classes = sorted(set(t.tolist()), key=str)
    probs = np.zeros((len(t), len(classes)))
    for fit_rows, test_rows in fold_splits(stratify, seed):
        fit_mask, test_mask = np.isin(owner, fit_rows), np.isin(owner, test_rows)
        if target not in set(t[fit_mask].tolist()) or len(set(t[fit_mask].tolist())) < 2:
            return None
        fitted = _turn_classifier(seed, task.kind).fit(x[fit_mask], t[fit_mask])
        found = fitted.predict_proba(x[test_mask])
        for k, c in enumerate(fitted.classes_.tolist()):
            probs[np.flatnonzero(test_mask), classes.index(c)] = found[:, k]
    if task.shared is not None:
        task.shared[key] = (classes, probs)
    return probs[:, classes.index(target)]


def _final(task: TurnTask, x: np.ndarray, t: np.ndarray, seed: int) -> Any:
    """The turn classifier fitted on all turns (a joint one once for its criteria)."""
    key = ("final", seed, tuple(item.conversation.id for item in task.items))
    if task.shared is not None and key in task.shared:
        return task.shared[key]
    fitted = _turn_classifier(seed, task.kind).fit(x, t)
    if task.shared is not None:
        task.shared[key] = fitted
    return fitted


def _calibrated(top: np.ndarray, binary: np.ndarray, y: list[str], seed: int) -> tuple[np.ndarray, float]:
    """Out-of-fold Platt-calibrated P(positive) of conversation scores, moved so that the κ cut sits at 0.5."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    calibrator = LogisticRegression(class_weight="balanced")  # balanced like the classifiers, so a rare behaviour
    # is still answered "yes" when its top turn stands out
    p = cross_val_predict(calibrator, top[:, None], binary, cv=fold_splits(y, seed), method="predict_proba")[:, 1]
    cut = kappa_cut(p, list(binary))
    return 1 / (1 + np.exp(-(np.log(np.clip(p, 1e-9, 1)) - np.log(np.clip(1 - p, 1e-9, 1)) - logit(cut)))), cut


def turn_candidate(task: TurnTask, seed: int, repeats: int
                   ) -> tuple[CriterionModel, np.ndarray, list[str], float | None] | None:
    """The candidate fitted on all turns, its out-of-fold confidences and answers (first split) and its held-out κ
    (mean over ``repeats`` seeded splits, for the aggregation that has the best such mean)."""
    from sklearn.linear_model import LogisticRegression

    x, t, owner = _turn_rows(task)
    target: object = task.criterion_id if task.joint else 1
    positives = int((t == target).sum())
    if positives < MIN_PER_CLASS or len(t) - positives < MIN_PER_CLASS:
        return None
    binary = np.asarray([int(v == task.positive) for v in task.y])
    splits = []
    for k in range(repeats):
        scores = _oof_scores(task, x, t, owner, target, seed + 1000 * k)
        if scores is None and k == 0:
            return None
        if scores is not None:
            splits.append((seed + 1000 * k, [scores[owner == row] for row in range(len(task.y))]))
    results: dict[str, list[tuple[np.ndarray, float, np.ndarray]]] = {how: [] for how in AGGREGATES}
    means: dict[str, float] = {}
    for how in AGGREGATES:
        for split_seed, per_item in splits:
            top = np.asarray([aggregate(s, how) for s in per_item])
            p, cut = _calibrated(top, binary, task.y, split_seed)
            results[how].append((p, cut, top))
        found = [kappa(task.y, [task.positive if v >= 0.5 else task.negative for v in p]) for p, _, _ in results[how]]
        known = [v for v in found if v is not None]
        means[how] = float(np.mean(known)) if known else -2.0
    best = max(AGGREGATES, key=lambda how: means[how])  # ties keep the first (max)
    p, cut, top = results[best][0]
    model = CriterionModel("", "turn", _final(task, x, t, seed), positive=task.positive,
                           negative=task.negative, turn_features=task.kind, aggregate=best, turn_class=target,
                           calibrator=shift(LogisticRegression(class_weight="balanced").fit(top[:, None], binary),
                                            cut))
    predicted = [task.positive if v >= 0.5 else task.negative for v in p]
    return model, np.maximum(p, 1 - p), predicted, (means[best] if means[best] > -2.0 else None)
