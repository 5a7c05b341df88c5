"""Training the learned judge. Inference (the judge itself) lives with the other judges in ``scorer.judges.learned``.

For every criterion, every candidate — each embedding × conversation level, and turn level where the labels are
yes/no and the "yes" items carry evidence turns — is scored by κ on out-of-fold predictions over the training data
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

from eval.calibration import fit_threshold
from eval.datasets import Dataset, LabelledConversation
from scorer.judges._features import Featuriser
from scorer.judges.learned import MIN_PER_CLASS, CriterionModel, LearnedModel, criterion_speaker
from scorer.types import Criterion, Rubric

__all__ = ["DEFAULT_EMBEDDINGS", "DEFAULT_TURN_FEATURES", "REPEATS", "kappa_cut", "train"]

DEFAULT_EMBEDDINGS = ("e5", "minilm")
DEFAULT_TURN_FEATURES = "previous"  # "reply" was not clearly better on ESConv dev (cross-validated; docs/evaluation.md)
_FOLDS = 5
REPEATS = 3  # differently seeded k-fold splits whose mean held-out κ makes the choice


def _classifier(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.5, class_weight="balanced", max_iter=2000, random_state=seed)


def _kappa(y: Sequence[str], predicted: Sequence[str]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(set(y) | set(predicted)) < 2:
        return None
    value = float(cohen_kappa_score(list(y), list(predicted)))
    return None if np.isnan(value) else value


def _folds(y: Sequence[str], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    k = max(2, min(_FOLDS, min(list(y).count(v) for v in set(y))))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), list(y)))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def kappa_cut(p: np.ndarray, y: Sequence[int]) -> float:
    """The cut on P(class 1) whose decisions agree best with ``y`` (Cohen's κ) on out-of-fold scores, from a coarse
    grid in [0.2, 0.8] (one number fitted on the training data: a balanced classifier's 0.5 over-answers a rare
    class). Ties keep the cut nearest 0.5."""
    grid = sorted(np.round(np.arange(0.2, 0.801, 0.025), 3), key=lambda c: abs(c - 0.5))
    scores = [_kappa([str(v) for v in y], [str(int(v >= c)) for v in p]) for c in grid]
    values = [-2.0 if v is None else v for v in scores]
    return float(grid[values.index(max(values))])


def _shift(classifier: Any, cut: float) -> Any:
    """Move a binary logistic model's P(class 1) = 0.5 point to ``cut`` (so its argmax answers at the cut)."""
    classifier.intercept_ = classifier.intercept_ - _logit(cut)
    return classifier


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
                                        - _logit(cut))))
        probs[:, 0] = 1 - probs[:, 1]
        final = _shift(final, cut)
    predicted = [classes[int(np.argmax(p))] for p in probs]
    return CriterionModel("", "conversation", final), probs.max(axis=1), predicted


def _turn_rows(items: list[LabelledConversation], turn_sets: list[tuple[list[int], np.ndarray]], cid: str,
               positive: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn features, their 0/1 labels (an evidence turn of a positive item is 1) and their item's row."""
    xs, ys, owner = [], [], []
    for row, (item, (index, features)) in enumerate(zip(items, turn_sets, strict=True)):
        gold = set(item.evidence.get(cid, [])) if item.labels[cid] == positive else set()
        for i, vector in zip(index, features, strict=True):
            xs.append(vector)
            ys.append(int(i in gold))
            owner.append(row)
    return np.asarray(xs), np.asarray(ys), np.asarray(owner)


def _turn_candidate(items: list[LabelledConversation], turn_sets: list[tuple[list[int], np.ndarray]],
                    criterion: Criterion, y: list[str], positive: str, negative: str, seed: int
                    ) -> tuple[CriterionModel, np.ndarray, list[str]] | None:
    """Per-turn classifier; the conversation score is its most likely turn, calibrated on out-of-fold scores."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    x, t, owner = _turn_rows(items, turn_sets, criterion.id, positive)
    if t.sum() < MIN_PER_CLASS or (t == 0).sum() < MIN_PER_CLASS:
        return None
    top = np.zeros(len(items))
    for fit_rows, test_rows in _folds(y, seed):
        fit_mask, test_mask = np.isin(owner, fit_rows), np.isin(owner, test_rows)
        if len(set(t[fit_mask])) < 2:
            return None
        scores = _classifier(seed).fit(x[fit_mask], t[fit_mask]).predict_proba(x[test_mask])[:, 1]
        for row, score in zip(owner[test_mask], scores, strict=True):
            top[row] = max(top[row], score)
    binary = np.asarray([int(v == positive) for v in y])
    calibrator = LogisticRegression(class_weight="balanced")  # Platt scaling of the top turn score, balanced
    # like the classifiers, so a rare behaviour is still answered "yes" when its top turn stands out
    p = cross_val_predict(calibrator, top[:, None], binary, cv=_folds(y, seed), method="predict_proba")[:, 1]
    cut = kappa_cut(p, list(binary))
    p = 1 / (1 + np.exp(-(np.log(np.clip(p, 1e-9, 1)) - np.log(np.clip(1 - p, 1e-9, 1)) - _logit(cut))))
    predicted = [positive if v >= 0.5 else negative for v in p]
    model = CriterionModel("", "turn", _classifier(seed).fit(x, t), positive=positive, negative=negative,
                           calibrator=_shift(LogisticRegression(class_weight="balanced").fit(top[:, None], binary),
                                             cut))
    return model, np.maximum(p, 1 - p), predicted


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


def train(dataset: Dataset, rubric: Rubric, *, embeddings: Sequence[str] | None = None, seed: int = 0,
          featurisers: dict[str, Featuriser] | None = None, levels: Sequence[str] = ("conversation", "turn"),
          target_accuracy: float = 0.9, cache_dir: Path | None = None, turn_features: str = DEFAULT_TURN_FEATURES,
          candidates_out: dict[str, dict[str, CriterionModel]] | None = None, repeats: int = REPEATS) -> LearnedModel:
    """Fit one classifier per criterion, choosing embedding and level by held-out κ on the training data.

    ``candidates_out``, if given, receives every fitted candidate per criterion (``"<embedding>/<level>"``), for
    side-by-side comparisons."""
    names = list(embeddings or (list(featurisers) if featurisers else DEFAULT_EMBEDDINGS))
    featurisers = {n: (featurisers or {}).get(n) or Featuriser(n, cache_dir=cache_dir) for n in names}
    conversations = [item.conversation for item in dataset.items]
    vectors = {n: featurisers[n].many(conversations) for n in names}
    model = LearnedModel(rubric.id, rubric.version, {n: featurisers[n].fingerprint for n in names})
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
        binary = sorted(counts) if len(counts) == 2 else None
        positive = next((a for a in (binary or []) if not criterion.scale.is_failing(a) and a != "na"), None)
        with_evidence = positive is not None and any(item.evidence.get(criterion.id) for item in items)
        best: tuple[float, CriterionModel, np.ndarray, list[str]] | None = None
        scores: dict[str, float | None] = {}
        for name in names:
            candidates = []
            if "conversation" in levels:
                x = vectors[name][rows]
                candidates.append(_repeated(partial(_conversation_candidate, x, y), y, seed, repeats))
            if "turn" in levels and with_evidence and binary and positive:
                negative = next(a for a in binary if a != positive)
                turn_sets = [featurisers[name].turn_features(item.conversation, about, kind=turn_features)
                             for item in items]
                found = _repeated(partial(_turn_candidate, items, turn_sets, criterion, y, positive, negative), y,
                                  seed, repeats)
                if found is not None:
                    found[0].turn_features = turn_features
                    candidates.append(found)
            for candidate, confidence, predicted, kappa in (c for c in candidates if c is not None):
                candidate.embedding, candidate.about = name, about
                scores[f"{name}/{candidate.level}"] = kappa
                threshold = fit_threshold(list(confidence), [a == b for a, b in zip(y, predicted, strict=True)],
                                          target_accuracy)
                candidate.threshold = threshold["threshold"] if threshold else None
                if candidates_out is not None:
                    candidates_out.setdefault(criterion.id, {})[f"{name}/{candidate.level}"] = candidate
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
