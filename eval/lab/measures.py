"""The numbers behind a behavioural verdict, per wording, and the verdict itself.

Thresholds (module constants, so a team can see and change them):

* paraphrase **flip rate** (share of conversations where some paraphrase gets another answer than the wording):
  over ``FLIP_BAD`` → not measurable, over ``FLIP_WARN`` → ambiguous;
* **label balance**: one answer in ``BALANCE_WARN`` or more of the conversations tells little → ambiguous;
* **N/A rate** over ``NA_WARN`` → ambiguous (it mostly does not apply: check ``applies_when``);
* **evidence rate** (answers that say a behaviour happened — every answer but "no" and N/A — with a verified quote;
  a "no" has nothing to quote) under ``EVIDENCE_WARN`` → ambiguous;
* **judge–judge κ** under ``KAPPA_WARN`` → ambiguous;
* **κ with humans**: the interval's upper end under ``KAPPA_BAD`` → not measurable (with this judge), the point under
  ``KAPPA_WARN`` → ambiguous, unless the human–human κ is no better;
* fewer than ``MIN_SCORED`` scored answers → inconclusive (no verdict is made up from a handful).

A behavioural verdict is about the wording *with this judge*: a weak judge makes every wording look worse. The
static check's verdict is reported beside it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, Field

from eval.lab.behaviour import LabRun, Wording
from eval.lab.static import check_criterion
from eval.metrics import agreement, bootstrap_ci, human_human_kappa
from scorer.types import NA, Judgement

__all__ = ["BehaviourResult", "BehaviourVerdict", "measure", "measure_wording"]

BehaviourVerdict = Literal["measurable", "ambiguous", "not_measurable", "inconclusive"]
FLIP_BAD, FLIP_WARN = 0.25, 0.10
BALANCE_WARN = 0.95
NA_WARN = 0.80
EVIDENCE_WARN = 0.50
KAPPA_BAD, KAPPA_WARN = 0.20, 0.40
MIN_SCORED = 10


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
    judge_judge_agreement: float | None = None
    judge_judge_kappa: float | None = None
    human_n: int = 0
    human_accuracy: float | None = None
    human_accuracy_ci: tuple[float, float] | None = None
    human_kappa: float | None = None
    human_kappa_ci: tuple[float, float] | None = None
    human_human_kappa: float | None = None
    human_label_shares: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


def _scored(j: Judgement | None) -> bool:
    return j is not None and j.status == "scored" and j.answer is not None


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
            "notes": [stats["note"]] if stats.get("note") else []}


def _verdict(r: dict[str, Any]) -> tuple[BehaviourVerdict, list[str]]:
    bad: list[str] = []
    warn: list[str] = []
    if r["scored"] < MIN_SCORED:
        return "inconclusive", [f"only {r['scored']} scored answer(s); at least {MIN_SCORED} are needed for a verdict"]
    flip = r.get("flip_rate")
    if flip is not None and flip > FLIP_WARN:
        (bad if flip > FLIP_BAD else warn).append(f"unstable: the answer changes with the wording in {flip:.0%} of "
                                                  "conversations")
    if r["majority_share"] is not None and r["majority_share"] >= BALANCE_WARN:
        top = max(r["answer_shares"], key=r["answer_shares"].get)
        warn.append(f"unbalanced: '{top}' in {r['majority_share']:.0%} of answers tells little")
    if r["na_rate"] is not None and r["na_rate"] > NA_WARN:
        warn.append(f"mostly N/A ({r['na_rate']:.0%}): check applies_when, or test on conversations where it applies")
    if r["evidence_rate"] is not None and r["evidence_rate"] < EVIDENCE_WARN:
        warn.append(f"only {r['evidence_rate']:.0%} of the answers that say it happened come with a verified quote")
    jj = r.get("judge_judge_kappa")
    if jj is not None and jj < KAPPA_WARN:
        warn.append(f"two judges disagree (κ {jj:.2f})")
    kappa, ci, hh = r.get("human_kappa"), r.get("human_kappa_ci"), r.get("human_human_kappa")
    if kappa is not None and not (hh is not None and kappa >= hh):
        if ci is not None and ci[1] < KAPPA_BAD:
            bad.append(f"agreement with humans κ {kappa:.2f} (95% CI up to {ci[1]:.2f})")
        elif kappa < KAPPA_WARN:
            warn.append(f"low agreement with humans (κ {kappa:.2f}" + (f", humans among themselves {hh:.2f})"
                                                                      if hh is not None else ")"))
    if bad:
        return "not_measurable", bad + warn
    return ("ambiguous", warn) if warn else ("measurable", [])


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
    }
    if run.judge2_id:
        a, b = _pair_agreement(done, slot.second[: run.completed])
        stats = agreement(a, b, w.criterion.answers)
        r["judge_judge_agreement"], r["judge_judge_kappa"] = stats["accuracy"], stats["kappa"]
    human = _human(w, run)
    r.update({k: v for k, v in human.items() if k != "notes"})
    r["notes"] = notes + human["notes"]
    r["verdict"], r["reasons"] = _verdict(r)
    r["static_verdict"] = check_criterion(w.criterion).verdict
    return BehaviourResult(**r)


def measure(run: LabRun) -> list[BehaviourResult]:
    """Every wording's result, in the order the wordings were given."""
    return [measure_wording(w, run) for w in run.wordings]
