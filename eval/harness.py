"""Run a judge over a labelled dataset and measure it: agreement with humans per criterion (with bootstrap CIs and
the human–human baseline), calibration, auto-accept coverage vs accuracy, evidence precision/recall, and a
learning curve for the learned judge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eval.calibration import calibrate_criterion, fit_threshold
from eval.datasets import Dataset
from eval.metrics import agreement, bootstrap_ci, ece, evidence_scores, human_human_kappa, krippendorff_alpha
from eval.results import CriterionMetrics, EvaluationResult, LearningPoint, Overall, Reliability
from scorer.judges import Judge
from scorer.pipeline import judge_step
from scorer.routing import DEFAULT_REVIEW_THRESHOLD
from scorer.types import Judgement, Rubric

__all__ = ["Predictions", "evaluate", "learning_curve", "predict"]

Predictions = list[dict[str, Judgement]]


def predict(judge: Judge, dataset: Dataset, rubric: Rubric,
            progress: Callable[[int], None] | None = None) -> Predictions:
    """The judge's checked, evidence-located judgements for every conversation."""
    out: Predictions = []
    judge.prepare([item.conversation for item in dataset.items])
    for n, item in enumerate(dataset.items, 1):
        judged = judge_step(item.conversation, rubric.criteria, judge)
        out.append({j.criterion_id: j for j in judged})
        if progress:
            progress(n)
    return out


def evaluate(dataset: Dataset, predictions: Predictions, rubric: Rubric, *, target_accuracy: float = 0.9,
             seed: int = 0) -> EvaluationResult:
    """Per-criterion agreement, calibration, coverage and evidence figures; None where not computable."""
    per: dict[str, CriterionMetrics] = {}
    all_h: list[str] = []
    all_a: list[str] = []
    for criterion in rubric.criteria:
        rows = [(item, pred[criterion.id]) for item, pred in zip(dataset.items, predictions, strict=True)
                if criterion.id in item.labels]
        scored = [(item, j) for item, j in rows if j.status == "scored" and j.answer is not None]
        human = [item.labels[criterion.id] for item, _ in scored]
        ai = [str(j.answer) for _, j in scored]
        stats = agreement(human, ai, criterion.answers)
        annotators = [item.annotators for item, _ in rows if item.annotators]
        correct = [h == a for h, a in zip(human, ai, strict=True)]
        confidences = [j.confidence if j.confidence is not None else 0.0 for _, j in scored]
        threshold = fit_threshold(confidences, correct, target_accuracy) if scored else None
        accepted = [c for conf, c in zip(confidences, correct, strict=True)
                    if threshold is not None and conf >= threshold["threshold"]]
        gold_rows = [(item, j) for item, j in scored if item.evidence.get(criterion.id)]
        precision, recall = evidence_scores([{e.turn for e in j.evidence} for _, j in gold_rows],
                                            [set(item.evidence[criterion.id]) for item, _ in gold_rows])
        proposed = sum(len(j.proposed_quotes) for _, j in rows)
        per[criterion.id] = CriterionMetrics.model_validate({
            "n": len(rows), "scored": len(scored), "unscored": len(rows) - len(scored),
            "accuracy": stats["accuracy"], "accuracy_ci": bootstrap_ci(human, ai, "accuracy", seed=seed),
            "kappa": stats["kappa"], "kappa_ci": bootstrap_ci(human, ai, "kappa", seed=seed),
            "macro_f1": stats["macro_f1"], "confusion": stats["confusion"],
            "human_human_kappa": human_human_kappa(annotators, criterion.id) if annotators else None,
            "krippendorff_alpha": krippendorff_alpha(annotators, criterion.id, criterion.answers)
            if annotators else None,
            "ece": ece(confidences, correct),
            **_heldout_calibration(confidences, correct, target_accuracy, seed),
            "auto_accept_threshold": threshold["threshold"] if threshold else None,
            "auto_accept_coverage": len(accepted) / len(scored) if scored and threshold else None,
            "auto_accept_accuracy": sum(accepted) / len(accepted) if accepted else None,
            "evidence_precision": precision, "evidence_recall": recall,
            "dropped_quote_rate": (sum(j.dropped_quotes for _, j in rows) / proposed) if proposed else None,
            "label_balance": {a: human.count(a) / len(human) for a in criterion.answers} if human else None,
            "note": stats.get("note"),
            "reliability": Reliability(confidence=confidences, correct=correct),
        })
        all_h += human
        all_a += ai
    overall = Overall(conversations=len(dataset), judgements=len(all_h),
                      accuracy=sum(h == a for h, a in zip(all_h, all_a, strict=True)) / len(all_h) if all_h else None,
                      target_accuracy=target_accuracy)
    return EvaluationResult(overall=overall, per_criterion=per)


def _heldout_calibration(confidences: list[float], correct: list[bool], target: float, seed: int
                         ) -> dict[str, object]:
    """ECE before/after calibration, fitted on one half of the test items and measured on the other."""
    result = calibrate_criterion(confidences, correct, target=target, default_threshold=DEFAULT_REVIEW_THRESHOLD,
                                 seed=seed)
    return {"calibration_method": result["method"], "ece_heldout_before": result["ece_before"],
            "ece_heldout_after": result["ece_after"]}


def learning_curve(train: Dataset, test: Dataset, rubric: Rubric, sizes: list[int], *, seed: int = 0,
                   target_accuracy: float = 0.9, embeddings: list[str] | None = None,
                   cache_dir: Path | None = None) -> list[LearningPoint]:
    """Retrain the learned judge on growing prefixes of a seeded shuffle of ``train``; measure on ``test``."""
    import random

    from eval.training import DEFAULT_EMBEDDINGS
    from eval.training import train as fit
    from scorer.judges._features import Featuriser
    from scorer.judges.learned import LearnedJudge

    order = list(train.items)
    random.Random(seed).shuffle(order)
    featurisers = {name: Featuriser(name, cache_dir=cache_dir) for name in (embeddings or DEFAULT_EMBEDDINGS)}
    points = []
    for size in sorted({min(s, len(order)) for s in sizes}):
        model = fit(Dataset(order[:size]), rubric, seed=seed, featurisers=featurisers)
        judge = LearnedJudge(model, featurisers=featurisers)
        metrics = evaluate(test, predict(judge, test, rubric), rubric, target_accuracy=target_accuracy)
        per = metrics.per_criterion
        points.append(LearningPoint(train_size=size, accuracy=metrics.overall.accuracy,
                                    kappa={c: m.kappa for c, m in per.items()},
                                    auto_accept_coverage={c: m.auto_accept_coverage for c, m in per.items()}))
    return points
