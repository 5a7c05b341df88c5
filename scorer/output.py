"""The JSON record written per conversation by ``rubricate score --out`` (and read back by ``rubricate show``)."""

from __future__ import annotations

from typing import Any

from scorer.types import Rubric, ScoreCard

__all__ = ["card_to_record"]


def card_to_record(card: ScoreCard, rubric: Rubric) -> dict[str, Any]:
    """One output line: the card's totals and, per criterion, answer, confidence, rationale and located evidence."""
    questions = {c.id: c.question for c in rubric.criteria}
    if card.status == "excluded":  # stored and counted with its reason, never silently dropped
        return {"conversation_id": card.conversation_id, "status": "excluded", "reason": card.excluded_reason,
                **({"confidence": card.excluded_confidence} if card.excluded_confidence is not None else {}),
                "rubric_id": card.rubric_id, "rubric_version": card.rubric_version, "judge": card.judge,
                "score": None, "auto_failed": False, "auto_failed_by": [], "categories": {}, "judgements": []}
    return {
        "conversation_id": card.conversation_id,
        "status": card.status,
        "rubric_id": card.rubric_id,
        "rubric_version": card.rubric_version,
        "judge": card.judge,
        "score": card.score,
        "auto_failed": card.auto_failed,
        "auto_failed_by": card.auto_failed_by,
        "provisional": card.provisional,
        "pending_auto_fail": card.pending_auto_fail,
        "categories": {name: c.score for name, c in card.categories.items()},
        "pii_redacted": next((j.pii_redacted for j in card.judgements if j.pii_redacted), {}),
        "usage": card.usage.model_dump() if card.usage is not None else None,
        "judgements": [
            {
                "criterion_id": j.criterion_id,
                "question": questions.get(j.criterion_id, ""),
                "status": j.status,
                "answer": j.answer,
                "reason": j.reason,
                "confidence": j.confidence,
                "confidence_kind": j.confidence_kind,
                "rationale": j.rationale,
                "evidence": [e.model_dump() for e in j.evidence],
                "dropped_quotes": j.dropped_quotes,
                "needs_review": j.needs_review,
                "review_reasons": j.review_reasons,
                "judge_id": j.judge_id,
                "model_id": j.model_id,
                "prompt_version": j.prompt_version,
            }
            for j in card.judgements
        ],
    }
