"""Pure mapping between rubricate and Label Studio: routed judgements → a task with pre-annotations, and a
reviewer's annotation → review events. No I/O here, so every rule is tested without a server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labeling.config import ANSWER, COMMENT, EVIDENCE, FLAG_VALUES, FLAGS, TRANSCRIPT, key, render_for_review
from scorer.types import Conversation, Evidence, Judgement, Review, Rubric

__all__ = ["RejectedResult", "annotation_flags", "annotation_to_reviews", "build_task", "evidence_from_span",
           "evidence_to_span"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RejectedResult:
    """A part of an annotation that could not be used, and why (logged; the rest is kept)."""

    criterion_id: str | None
    reason: str


def evidence_to_span(offsets: Sequence[int], evidence: Evidence) -> tuple[int, int]:
    """Turn-relative evidence → offsets in the rendered transcript."""
    return offsets[evidence.turn] + evidence.start, offsets[evidence.turn] + evidence.end


def evidence_from_span(conversation: Conversation, offsets: Sequence[int], start: int, end: int) -> Evidence | None:
    """Offsets in the rendered transcript → turn-relative evidence; None when the span is not inside one turn."""
    for turn, begin in enumerate(offsets):
        text = conversation.turns[turn].text
        if begin <= start < end <= begin + len(text):
            return Evidence(turn=turn, start=start - begin, end=end - begin, quote=text[start - begin : end - begin])
    return None


def _auto_fail_note(reasons: Sequence[str]) -> str:
    if "auto_fail_pending" in reasons:
        return (" · PENDING AUTO-FAIL: the card's score is provisional and does not apply this auto-fail yet; "
                "confirming the failing answer sets the score to 0, correcting it lifts the auto-fail")
    if "auto_fail" in reasons:
        return " · AUTO-FAIL applied: this answer set the score to 0; correct it if it is wrong"
    return ""


def build_task(conversation: Conversation, rubric: Rubric, routed: Sequence[tuple[Judgement, list[str]]],
               *, model_version: str) -> dict[str, Any]:
    """One task for a conversation: data for every criterion (routed ones filled in) and the AI's predictions."""
    text, offsets = render_for_review(conversation)
    data: dict[str, Any] = {"conversation_id": conversation.id, "channel": conversation.channel,
                            "language": conversation.language or "?", TRANSCRIPT: text}
    by_id = {j.criterion_id: (j, reasons) for j, reasons in routed}
    results: list[dict[str, Any]] = []
    scores = []
    for criterion in rubric.criteria:
        k = key(criterion.id)
        if criterion.id not in by_id:
            data[f"q__{k}"] = f"{criterion.question} — not routed, no review needed"
            data[f"ai__{k}"] = ""
            continue
        judgement, reasons = by_id[criterion.id]
        data[f"q__{k}"] = f"▶ {criterion.question}"
        answer = judgement.answer if judgement.status == "scored" else f"unscored ({judgement.reason})"
        confidence = f"{judgement.confidence:.2f}" if judgement.confidence is not None else "n/a"
        data[f"ai__{k}"] = (f"AI answer: {answer} · confidence {confidence} ({judgement.confidence_kind}) · "
                            f"routed because: {', '.join(reasons)} · {judgement.rationale}{_auto_fail_note(reasons)}")
        if judgement.status == "scored" and judgement.answer:
            results.append({"from_name": f"{ANSWER}{k}", "to_name": TRANSCRIPT, "type": "choices",
                            "value": {"choices": [judgement.answer]}})
            scores.append(judgement.confidence or 0.0)
        for e in judgement.evidence:
            start, end = evidence_to_span(offsets, e)
            results.append({"from_name": EVIDENCE, "to_name": TRANSCRIPT, "type": "labels",
                            "value": {"start": start, "end": end, "text": e.quote, "labels": [criterion.id]}})
    task: dict[str, Any] = {"data": data, "meta": {"conversation_id": conversation.id}}
    if results:
        task["predictions"] = [{"model_version": model_version, "result": results,
                                "score": min(scores) if scores else 0.0}]
    return task


def annotation_to_reviews(
    annotation: dict[str, Any], conversation: Conversation, rubric: Rubric, ai: dict[str, Judgement],
    *, reviewer: str | None,
) -> tuple[list[Review], list[RejectedResult]]:
    """One review per routed criterion the reviewer answered: confirmed, corrected or evidence_edited."""
    _, offsets = render_for_review(conversation)
    by_key = {key(c.id): c for c in rubric.criteria}
    answers: dict[str, str] = {}
    comments: dict[str, str] = {}
    spans: dict[str, list[Evidence]] = {}
    rejected: list[RejectedResult] = []
    for item in annotation.get("result", []):
        name, value = str(item.get("from_name", "")), item.get("value", {}) or {}
        if name.startswith(ANSWER) and name[len(ANSWER):] in by_key:
            criterion = by_key[name[len(ANSWER):]]
            chosen = (value.get("choices") or [None])[0]
            if chosen in criterion.answers:
                answers[criterion.id] = chosen
            else:
                rejected.append(RejectedResult(criterion.id, f"answer {chosen!r} is not one of {criterion.answers}"))
        elif name.startswith(COMMENT) and name[len(COMMENT):] in by_key:
            comments[by_key[name[len(COMMENT):]].id] = " ".join(value.get("text") or [])
        elif name == EVIDENCE:
            labels = value.get("labels") or []
            span = evidence_from_span(conversation, offsets, int(value.get("start", -1)), int(value.get("end", -1)))
            if span is None or len(labels) != 1 or labels[0] not in {c.id for c in rubric.criteria}:
                rejected.append(RejectedResult(labels[0] if labels else None,
                                               f"evidence span {value.get('start')}–{value.get('end')} with labels "
                                               f"{labels} is not inside one turn or names no single criterion"))
            else:
                spans.setdefault(labels[0], []).append(span)
        elif name != FLAGS:  # conversation-level flags are read by annotation_flags
            rejected.append(RejectedResult(None, f"result for unknown control {name!r}"))
    reviews = []
    for criterion_id, answer in answers.items():
        judgement = ai.get(criterion_id)
        if judgement is None:
            rejected.append(RejectedResult(criterion_id, "answered, but this criterion was not routed for review"))
            continue
        evidence = sorted(spans.get(criterion_id, []), key=lambda e: (e.turn, e.start))
        same_evidence = {(e.turn, e.start, e.end) for e in evidence} == {(e.turn, e.start, e.end)
                                                                          for e in judgement.evidence}
        kind = "corrected" if answer != judgement.answer else ("confirmed" if same_evidence else "evidence_edited")
        reviews.append(Review(
            conversation_id=conversation.id, criterion_id=criterion_id, rubric_version=rubric.version, kind=kind,
            answer=answer, evidence=evidence, comment=comments.get(criterion_id) or None, reviewer=reviewer,
            source="label_studio", external_id=str(annotation.get("id", "")),
        ))
    for r in rejected:
        log.warning("annotation %s: %s", annotation.get("id"), r.reason)
    return reviews, rejected


def annotation_flags(annotation: dict[str, Any]) -> tuple[dict[str, bool], list[RejectedResult]]:
    """The conversation-level labels of an annotation: each of ``FLAG_VALUES`` ticked (True) or not (False) — a
    reviewer who submitted the task without ticking ``spam`` said it is not spam. Unknown values are rejected."""
    ticked: set[str] = set()
    rejected: list[RejectedResult] = []
    for item in annotation.get("result", []):
        if str(item.get("from_name", "")) != FLAGS:
            continue
        for value in (item.get("value") or {}).get("choices") or []:
            if value in FLAG_VALUES:
                ticked.add(str(value))
            else:
                rejected.append(RejectedResult(None, f"conversation flag {value!r} is not one of {list(FLAG_VALUES)}"))
    return {flag: flag in ticked for flag in FLAG_VALUES}, rejected
