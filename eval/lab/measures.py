"""The numbers behind a behavioural verdict, per wording, and the verdict itself.

Per wording: answer shares (balance), N/A rate, evidence rate (answers that say a behaviour happened — every
answer but "no" and N/A — with a verified quote; a "no" has nothing to quote), paraphrase flip rate and, where the
judge gives probabilities, how well the paraphrases' P(yes) keeps the wording's ranking (Spearman); judge–judge
agreement; and, where the sample has human labels, accuracy and κ with bootstrap intervals, the human–human κ, and
the AUC of the judge's P(yes) against the human "yes" — whether it *ranks* conversations like humans even when its
yes/no threshold is off. The verdict rules are in :mod:`eval.lab.verdict`.

A behavioural verdict is about the wording *with this judge*: a weak judge makes every wording look worse. The
static check's verdict is reported beside it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from eval.lab.behaviour import LabRun, Wording
from eval.lab.static import check_criterion
from eval.lab.verdict import BehaviourVerdict, verdict_of
from eval.metrics import agreement, auc, bootstrap_ci, bootstrap_stat, human_human_kappa
from scorer.types import NA, Judgement

__all__ = ["BehaviourResult", "measure", "measure_wording", "p_yes"]



class BehaviourResult(BaseModel):
    """One wording's behavioural numbers, its verdict and the reasons (``None`` where a number cannot be had)."""

    criterion_id: str
    question: str
    side: str = ""
    verdict: BehaviourVerdict
    reasons: list[str]
    static_verdict: str
    conversations: int
    scored: int
    unscored: int
    unscored_reasons: dict[str, int] = Field(default_factory=dict)
    answer_shares: dict[str, float] = Field(default_factory=dict)
    majority_share: float | None = None
    na_rate: float | None = None
    evidence_rate: float | None = None
    paraphrases: list[str] = Field(default_factory=list)
    flip_rate: float | None = None
    paraphrase_agreement: list[float | None] = Field(default_factory=list)
    paraphrase_rank_corr: float | None = Field(default=None, description="Mean Spearman ρ of P(yes) between the "
                                               "wording and each paraphrase.")
    judge_judge_agreement: float | None = None
    judge_judge_kappa: float | None = None
    human_n: int = 0
    human_accuracy: float | None = None
    human_accuracy_ci: tuple[float, float] | None = None
    human_kappa: float | None = None
    human_kappa_ci: tuple[float, float] | None = None
    human_human_kappa: float | None = None
    human_auc: float | None = Field(default=None, description="AUC of the judge's P(yes) against human 'yes'.")
    human_auc_ci: tuple[float, float] | None = None
    human_label_shares: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


def _scored(j: Judgement | None) -> bool:
    return j is not None and j.status == "scored" and j.answer is not None


def p_yes(j: Judgement | None) -> float | None:
    """The judge's probability of "yes" for a scored yes/no judgement, when it gave probabilities."""
    if j is None or not _scored(j) or "yes" not in j.probabilities:
        return None
    return float(j.probabilities["yes"])


def _rank_corr(original: list[Judgement | None], paraphrased: list[list[Judgement | None]]) -> float | None:
    from scipy.stats import spearmanr

    values = []
    for answers in paraphrased:
        pairs = [(a, b) for x, y in zip(original, answers, strict=True)
                 if (a := p_yes(x)) is not None and (b := p_yes(y)) is not None]
        if len(pairs) >= 5 and len({a for a, _ in pairs}) > 1 and len({b for _, b in pairs}) > 1:
            values.append(float(spearmanr([a for a, _ in pairs], [b for _, b in pairs]).statistic))
    return sum(values) / len(values) if values else None


def _human_auc(rows: list[tuple[str, Judgement | None]]) -> dict[str, Any]:
    pairs = [(label == "yes", p) for label, j in rows if label in ("yes", "no") and (p := p_yes(j)) is not None]
    if not pairs:
        return {}
    y, score = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    return {"human_auc": auc(list(y), list(score)),
            "human_auc_ci": bootstrap_stat(lambda idx: auc(list(y[idx]), list(score[idx])), len(pairs))}


def _pair_agreement(a: list[Judgement | None], b: list[Judgement | None]) -> tuple[list[str], list[str]]:
    pairs = [(str(x.answer), str(y.answer)) for x, y in zip(a, b, strict=True)
             if x is not None and y is not None and _scored(x) and _scored(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _flip(w: Wording, run: LabRun) -> tuple[float | None, list[float | None], list[str]]:
    slot = run.answers[w.key]
    notes: list[str] = []
    if not run.reads_wording:
        return None, [], [f"paraphrase stability not measured: judge {run.judge_id} answers from the criterion id, "
                          "not from the wording"]
    if not w.paraphrases:
        return None, [], ["no paraphrases asked"]
    per = []
    for answers in slot.paraphrased:
        a, b = _pair_agreement(slot.original, answers)
        per.append(sum(x == y for x, y in zip(a, b, strict=True)) / len(a) if a else None)
    complete = [i for i, j in enumerate(slot.original) if _scored(j)
                and all(_scored(p[i]) for p in slot.paraphrased)]
    if not complete:
        return None, per, ["no conversation where the wording and all paraphrases were answered"]
    flips = sum(any(p[i].answer != slot.original[i].answer for p in slot.paraphrased)  # type: ignore[union-attr]
                for i in complete)
    return flips / len(complete), per, notes


def _human(w: Wording, run: LabRun) -> dict[str, Any]:
    items = run.sample.items[: run.completed]
    slot = run.answers[w.key]
    rows = [(item, j) for item, j in zip(items, slot.original, strict=False) if w.label_id in item.labels]
    if not rows:
        return {"notes": [f"no human labels for {w.label_id!r} in the sample: agreement with humans not measured"]}
    human = [item.labels[w.label_id] for item, j in rows if _scored(j)]
    ai = [str(j.answer) for _, j in rows if j is not None and _scored(j)]
    stats = agreement(human, ai, w.criterion.answers)
    annotators = [item.annotators for item, _ in rows if item.annotators]
    all_labels = [item.labels[w.label_id] for item, _ in rows]
    return {"human_n": len(human), "human_accuracy": stats["accuracy"], "human_kappa": stats["kappa"],
            "human_accuracy_ci": bootstrap_ci(human, ai, "accuracy"),
            "human_kappa_ci": bootstrap_ci(human, ai, "kappa"),
            "human_human_kappa": human_human_kappa(annotators, w.label_id) if annotators else None,
            "human_label_shares": {a: all_labels.count(a) / len(all_labels) for a in w.criterion.answers},
            **_human_auc([(item.labels[w.label_id], j) for item, j in rows]),
            "notes": [stats["note"]] if stats.get("note") else []}


def measure_wording(w: Wording, run: LabRun) -> BehaviourResult:
    """The numbers and verdict of one wording over the conversations the run completed."""
    slot = run.answers[w.key]
    done = slot.original[: run.completed]
    scored = [j for j in done if j is not None and _scored(j)]
    reasons = Counter(str(j.reason) for j in done if j is not None and not _scored(j))
    counts = Counter(str(j.answer) for j in scored)
    shares = {a: counts[a] / len(scored) for a in w.criterion.answers} if scored else {}
    decided = [j for j in scored if j.answer not in (NA, "no")]
    flip, per, notes = _flip(w, run)
    r: dict[str, Any] = {
        "criterion_id": w.key.split(".", 1)[1] if w.side else w.key, "question": w.criterion.question,
        "side": w.side, "conversations": len(done), "scored": len(scored), "unscored": len(done) - len(scored),
        "unscored_reasons": dict(reasons.most_common(3)), "answer_shares": shares,
        "majority_share": max(shares.values()) if shares else None,
        "na_rate": shares.get(NA) if NA in w.criterion.answers and scored else None,
        "evidence_rate": sum(bool(j.evidence) for j in decided) / len(decided) if decided else None,
        "paraphrases": [p.question for p in w.paraphrases], "flip_rate": flip, "paraphrase_agreement": per,
        "paraphrase_rank_corr": _rank_corr(done, [a[: run.completed] for a in slot.paraphrased])
        if run.reads_wording else None,
    }
    if run.judge2_id:
        a, b = _pair_agreement(done, slot.second[: run.completed])
        stats = agreement(a, b, w.criterion.answers)
        r["judge_judge_agreement"], r["judge_judge_kappa"] = stats["accuracy"], stats["kappa"]
    human = _human(w, run)
    r.update({k: v for k, v in human.items() if k != "notes"})
    r["notes"] = notes + human["notes"]
    r["verdict"], r["reasons"] = verdict_of(r)
    r["static_verdict"] = check_criterion(w.criterion).verdict
    return BehaviourResult(**r)


def measure(run: LabRun) -> list[BehaviourResult]:
    """Every wording's result, in the order the wordings were given."""
    return [measure_wording(w, run) for w in run.wordings]
