"""The offline static check of criterion wordings: does the question name something a reviewer can see?

Rules (each finding carries a reason and a concrete rewrite suggestion):

* **trait** — the question names a trait or feeling ("empathetic", "professional", 态度好) instead of a behaviour;
* **double** — two behaviours joined by "and" (or 且/并且/和, și, и) must be split; "or" is allowed only between
  alternatives that both satisfy the criterion ("a solution or a follow-up timeline"), so it is flagged softly;
* **not_a_question** / **no_actor** — a statement ("Agent resolves issue") or a question with no one doing anything
  ("Was it handled well?");
* **frequency** — "always"/"never" without a scope (总是, întotdeauna, винаги);
* **needs_na** — a behaviour that only sometimes applies (escalation, refund, transfer, hold…) without
  ``applies_when`` and without an N/A answer;
* **scale_mismatch** — a yes/no question ("Did the agent…?") on an ordinal scale, or a "How well…" question on yes/no;
* **levels_undescribed** — ordinal levels without descriptions of what each one means.

Verdict: ``not_measurable`` for a trait, a statement, or no actor; ``ambiguous`` for the other findings;
``measurable`` when nothing is found.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from eval.lab._lexicon import ACTORS, FREQUENCY, QUESTION_STARTS, SOMETIMES, TRAITS
from scorer.types import Criterion, Rubric

__all__ = ["CriterionCheck", "Finding", "check_criterion", "check_rubric"]

Verdict = Literal["measurable", "ambiguous", "not_measurable"]
_SEVERE = {"trait", "not_a_question", "no_actor"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


class Finding(BaseModel):
    """One problem with a wording."""

    rule: str
    reason: str
    suggestion: str


class CriterionCheck(BaseModel):
    """The static check's result for one criterion (the shape of `rubric check --json`)."""

    criterion_id: str
    verdict: Verdict
    reasons: list[str]
    suggestion: str | None
    findings: list[Finding]


def _has(text: str, word: str) -> bool:
    if _CJK.search(word):
        return word in text
    return re.search(rf"(?<![\w-]){re.escape(word)}", text, re.I | re.U) is not None


def _findings(c: Criterion) -> list[Finding]:
    q = c.question.strip()
    low = q.lower()
    out: list[Finding] = []
    traits = [w for words in TRAITS.values() for w in words if _has(low, w)]
    if traits:
        out.append(Finding(rule="trait", reason=f"names a trait or feeling ({', '.join(traits[:3])}), not something "
                           "a reviewer can point to in the transcript",
                           suggestion="Ask for the behaviour that shows it, e.g. 'Did the agent say which of the "
                           "customer's concerns they understand?' or 'Did the agent thank the customer?'"))
    is_question = q.endswith(("?", "？", "吗")) or any(low.startswith(s + " ") for s in QUESTION_STARTS)
    if not is_question:
        out.append(Finding(rule="not_a_question", reason="a statement, not a question with a yes/no answer",
                           suggestion=f"Ask it as a question about one behaviour: 'Did the agent …?' (now: '{q}'); "
                           "e.g. 'Did the agent offer an actionable solution or a follow-up timeline?'"))
    if not any(_has(low, a) for a in ACTORS):
        out.append(Finding(rule="no_actor", reason="says nobody who does the behaviour (the agent? the customer?)",
                           suggestion="Name the actor and the action: 'Did the agent …?'"))
    if re.search(r"\band\b|且|并且|和|\bși\b|\bи\b", low):
        out.append(Finding(rule="double", reason="joins two behaviours with 'and': an answer cannot say which one "
                           "was missing", suggestion="Split it into two criteria, one behaviour each."))
    elif re.search(r"\bor\b|或|\bsau\b|\bили\b", low):
        out.append(Finding(rule="double_or", reason="joins two things with 'or': fine only if either one fully "
                           "satisfies the criterion", suggestion="Keep 'or' only between alternatives that both "
                           "pass (a solution or a follow-up timeline); otherwise split."))
    frequency = [w for words in FREQUENCY.values() for w in words if _has(low, w)]
    if frequency and not re.search(r"\b(in|during|throughout|before|after|when)\b", low):
        out.append(Finding(rule="frequency", reason=f"'{frequency[0]}' without a scope: one slip anywhere decides "
                           "it, and reviewers disagree on what counts",
                           suggestion="Give the scope and a threshold, e.g. 'In their replies after the greeting, "
                           "did the agent use the customer's name at least once?'"))
    if any(_has(low, w) for w in SOMETIMES) and not c.applies_when and not c.scale.allow_na:
        out.append(Finding(rule="needs_na", reason="the behaviour only applies in some conversations, but there "
                           "is no applies_when and no N/A answer", suggestion="Add applies_when (e.g. 'The "
                           "customer asked for a supervisor.') so other conversations are answered na."))
    yes_no_question = bool(re.match(r"^\s*(did|does|do|was|were|is|are|has|have|had)\b", low)) or q.endswith("吗？")
    if c.scale.kind == "ordinal" and yes_no_question:
        out.append(Finding(rule="scale_mismatch", reason="a yes/no question on an ordinal scale",
                           suggestion="Use scale: yes_no, or ask 'How clearly …?' with described levels."))
    if c.scale.kind != "ordinal" and re.match(r"^\s*(how|to what extent)\b", low):
        out.append(Finding(rule="scale_mismatch", reason="a 'how' question on a yes/no scale",
                           suggestion="Ask 'Did the agent …?' or use an ordinal scale with described levels."))
    if c.scale.kind == "ordinal" and not all(level in c.scale.descriptions for level in c.scale.levels):
        missing = [lv for lv in c.scale.levels if lv not in c.scale.descriptions]
        out.append(Finding(rule="levels_undescribed", reason=f"levels without a description: {', '.join(missing)}",
                           suggestion="Describe each level by what a reviewer sees, e.g. good: 'the steps are "
                           "stated so the customer can act on them'."))
    return out


def check_criterion(criterion: Criterion) -> CriterionCheck:
    findings = _findings(criterion)
    rules = {f.rule for f in findings}
    verdict: Verdict = "not_measurable" if rules & _SEVERE else ("ambiguous" if rules - {"double_or"} else
                                                                  "measurable")
    return CriterionCheck(criterion_id=criterion.id, verdict=verdict, reasons=[f.reason for f in findings],
                          suggestion=findings[0].suggestion if findings and verdict != "measurable" else None,
                          findings=findings)


def check_rubric(rubric: Rubric) -> list[CriterionCheck]:
    return [check_criterion(c) for c in rubric.criteria]
