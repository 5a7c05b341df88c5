"""The behavioural verdict of one wording from its numbers (see :mod:`eval.lab.measures`).

Thresholds are module constants so a team can see and change them:

* fewer than ``MIN_SCORED`` scored answers → **inconclusive** (no verdict is made up from a handful);
* the judge gives one answer to ``BALANCE_WARN`` or more of the conversations while the humans give it less often →
  **inconclusive**: the judge cannot tell the cases apart, so nothing follows about the wording (the AUC says whether
  its probabilities still rank conversations like the humans — then a calibrated threshold would help);
* paraphrase **flip rate** over ``FLIP_BAD`` → not measurable, over ``FLIP_WARN`` → ambiguous;
* one answer in ``BALANCE_WARN`` or more of the conversations (and the humans agree, or there are no labels) →
  ambiguous: a criterion that is almost always the same tells little;
* **N/A rate** over ``NA_WARN`` → ambiguous (it mostly does not apply: check ``applies_when`` or the sample);
* **evidence rate** under ``EVIDENCE_WARN`` → ambiguous;
* **judge–judge κ** under ``KAPPA_WARN`` → ambiguous;
* **κ with humans**: the interval's upper end under ``KAPPA_BAD`` → not measurable (with this judge), the point under
  ``KAPPA_WARN`` → ambiguous, unless humans agree no better among themselves.

A verdict is about the wording *with this judge*: a weak judge makes every wording look worse.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = ["BALANCE_WARN", "EVIDENCE_WARN", "FLIP_BAD", "FLIP_WARN", "KAPPA_BAD", "KAPPA_WARN", "MIN_SCORED",
           "NA_WARN", "BehaviourVerdict", "verdict_of"]

BehaviourVerdict = Literal["measurable", "ambiguous", "not_measurable", "inconclusive"]
FLIP_BAD, FLIP_WARN = 0.25, 0.10
BALANCE_WARN = 0.95
NA_WARN = 0.80
EVIDENCE_WARN = 0.50
KAPPA_BAD, KAPPA_WARN = 0.20, 0.40
MIN_SCORED = 10


def _auc_text(r: dict[str, Any]) -> str:
    value, ci = r.get("human_auc"), r.get("human_auc_ci")
    if value is None:
        return ""
    span = f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})" if ci else ""
    if ci and ci[0] > 0.5:
        return f"; its P(yes) still ranks conversations like the humans, AUC {value:.2f}{span}: calibrate its threshold"
    return f"; its P(yes) does not rank them like the humans either, AUC {value:.2f}{span}"


def _degenerate(r: dict[str, Any]) -> str | None:
    """A reason when the judge gives (almost) one answer although the humans give it much less often."""
    shares, human = r["answer_shares"], r.get("human_label_shares") or {}
    if r["majority_share"] is None or r["majority_share"] < BALANCE_WARN or not human:
        return None
    top = max(shares, key=shares.get)
    if human.get(top, 0.0) >= BALANCE_WARN:
        return None  # the humans give that answer as often: the criterion (or the sample) is unbalanced, not the judge
    return (f"the judge answers '{top}' in {shares[top]:.0%} of conversations, the humans in {human.get(top, 0):.0%}: "
            f"it does not tell the cases apart, so this says nothing about the wording{_auc_text(r)}")


def verdict_of(r: dict[str, Any]) -> tuple[BehaviourVerdict, list[str]]:
    """``(verdict, reasons)`` for the numbers ``r`` of one wording (a :class:`BehaviourResult` as a dict)."""
    if r["scored"] < MIN_SCORED:
        return "inconclusive", [f"only {r['scored']} scored answer(s); at least {MIN_SCORED} are needed for a verdict"]
    degenerate = _degenerate(r)
    if degenerate:
        return "inconclusive", [degenerate]
    bad: list[str] = []
    warn: list[str] = []
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
        among = f", humans among themselves {hh:.2f}" if hh is not None else ""
        if ci is not None and ci[1] < KAPPA_BAD:
            bad.append(f"agreement with humans κ {kappa:.2f} (95% CI up to {ci[1]:.2f}{among}){_auc_text(r)}")
        elif kappa < KAPPA_WARN:
            warn.append(f"low agreement with humans (κ {kappa:.2f}{among}){_auc_text(r)}")
    if bad:
        return "not_measurable", bad + warn
    return ("ambiguous", warn) if warn else ("measurable", [])
