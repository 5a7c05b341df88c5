"""Disputes: an agent contests one judgement; it goes to human review with reason ``dispute`` and the agent's
comment; the reviewer's decision (pulled like any review) resolves it ``upheld`` (the disputed answer stands) or
``overturned`` (the reviewer changed it), the score is recomputed and the change kept in the card's history.

One open dispute per judgement (a unique column set only while open); disputes after the window (default 14 days
from scoring, ``RUBRICATE_DISPUTE_WINDOW_DAYS``) are refused with a clear message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from scorer._errors import RubricateError
from scorer.store.models import (
    ConversationRow,
    JudgementRow,
    ReviewEventRow,
    ReviewQueueRow,
    RubricVersionRow,
    ScoreCardRow,
)
from scorer.store.programme_models import DisputeRow
from scorer.store.repository import Store
from scorer.store.standing import rescore_card, stands
from scorer.types import Rubric

__all__ = ["Dispute", "DisputeError", "count_disputes", "current_answers", "dispute_comments", "list_disputes",
           "open_dispute", "resolve_disputes"]


class DisputeError(RubricateError):
    """A dispute was refused; ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Dispute(BaseModel):
    """A dispute as agents and reviewers see it."""

    id: int
    conversation_id: str
    criterion_id: str
    rubric_id: str
    rubric_version: str
    agent_id: str | None
    comment: str
    status: str
    disputed_answer: str | None
    decided_answer: str | None
    reviewer: str | None
    reviewer_comment: str | None
    score_before: float | None
    score_after: float | None
    created_at: datetime
    resolved_at: datetime | None


def _out(row: DisputeRow) -> Dispute:
    dispute = Dispute.model_validate(row, from_attributes=True)
    return dispute.model_copy(update={"created_at": _aware(dispute.created_at),
                                      "resolved_at": dispute.resolved_at and _aware(dispute.resolved_at)})


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def current_answers(events: list[ReviewEventRow]) -> str | None:
    """The answer of the newest standing human decision among ``events`` (oldest first), None when none."""
    for event in reversed(events):
        if stands(event):
            return event.answer
    return None


def open_dispute(store: Store, conversation_id: str, criterion_id: str, comment: str, *, agent_id: str | None,
                 window_days: int = 14, now: datetime | None = None) -> Dispute:
    """Open a dispute of the newest card's judgement of ``criterion_id``; ``agent_id`` (from an agent key) must be
    the conversation's agent. Queues the judgement for review with reason ``dispute``."""
    now = now or datetime.now(UTC)
    with store.session() as s:
        found = s.execute(
            select(ScoreCardRow, ConversationRow.agent_id, RubricVersionRow.rubric_id, RubricVersionRow.version)
            .join(ConversationRow, ScoreCardRow.conversation_id == ConversationRow.id)
            .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
            .where(ConversationRow.external_id == conversation_id)
            .order_by(ScoreCardRow.id.desc()).limit(1)).first()
        if found is None or (agent_id is not None and found[1] != agent_id):
            raise DisputeError(f"no scored conversation {conversation_id!r}"
                               + (" handled by your agent id" if agent_id else ""), 404)
        card, _, rubric_id, version = found
        if card.status == "excluded":
            raise DisputeError(f"conversation {conversation_id!r} was excluded from scoring "
                               f"({card.payload.get('excluded_reason')}): there is no judgement to dispute", 422)
        judgement = next((j for j in card.judgements if j.criterion_id == criterion_id), None)
        if judgement is None:
            known = ", ".join(j.criterion_id for j in card.judgements)
            raise DisputeError(f"no judgement of criterion {criterion_id!r} in this scorecard (known: {known})", 404)
        deadline = _aware(card.created_at) + timedelta(days=window_days)
        if now > deadline:
            raise DisputeError(f"disputes are accepted for {window_days} days after scoring; this scorecard was made "
                               f"on {_aware(card.created_at):%Y-%m-%d} and the window closed on {deadline:%Y-%m-%d}"
                               " (RUBRICATE_DISPUTE_WINDOW_DAYS). Ask your QA lead for a manual review.", 422)
        if s.scalar(select(DisputeRow.id).where(DisputeRow.open_judgement_id == judgement.id)) is not None:
            raise DisputeError(f"this judgement ({conversation_id} / {criterion_id}) already has an open dispute; "
                               "wait for its outcome (GET /v1/disputes)", 409)
        events = list(s.scalars(select(ReviewEventRow).where(ReviewEventRow.judgement_id == judgement.id)
                                .order_by(ReviewEventRow.id)))
        row = DisputeRow(
            judgement_id=judgement.id, open_judgement_id=judgement.id, conversation_id=conversation_id,
            criterion_id=criterion_id, rubric_id=rubric_id, rubric_version=version, agent_id=found[1],
            comment=comment, status="open", disputed_answer=current_answers(events) or judgement.answer,
            score_before=card.score, created_at=now)
        s.add(row)
        queue = s.scalar(select(ReviewQueueRow).where(ReviewQueueRow.judgement_id == judgement.id))
        if queue is None:
            s.add(ReviewQueueRow(judgement_id=judgement.id, reasons=["dispute"], audit=False))
        else:
            queue.state, queue.reasons = "queued", list(dict.fromkeys([*queue.reasons, "dispute"]))
        try:
            s.flush()
        except IntegrityError as exc:  # a second request for the same judgement at the same moment
            raise DisputeError("this judgement already has an open dispute", 409) from exc
        return _out(row)


def _filtered(query: Select[Any], status: str | None, agent_id: str | None, dispute_id: int | None,
              conversation_id: str | None) -> Select[Any]:
    if status:
        query = query.where(DisputeRow.status == status)
    if agent_id is not None:
        query = query.where(DisputeRow.agent_id == agent_id)
    if dispute_id is not None:
        query = query.where(DisputeRow.id == dispute_id)
    if conversation_id is not None:
        query = query.where(DisputeRow.conversation_id == conversation_id)
    return query


def list_disputes(store: Store, *, status: str | None = None, agent_id: str | None = None,
                  dispute_id: int | None = None, conversation_id: str | None = None, limit: int | None = None,
                  offset: int = 0) -> list[Dispute]:
    """Disputes, newest first, filtered by status, agent, id or conversation; ``limit``/``offset`` page them in SQL
    (no limit: every matching dispute)."""
    query = _filtered(select(DisputeRow), status, agent_id, dispute_id, conversation_id)
    query = query.order_by(DisputeRow.id.desc()).offset(offset).limit(limit)
    with store.session() as s:
        return [_out(r) for r in s.scalars(query)]


def count_disputes(store: Store, *, status: str | None = None, agent_id: str | None = None) -> int:
    """How many disputes :func:`list_disputes` would list with these filters and no limit (counted in SQL)."""
    with store.session() as s:
        return s.scalar(_filtered(select(func.count(DisputeRow.id)), status, agent_id, None, None)) or 0


def dispute_comments(store: Store, judgement_ids: list[int]) -> dict[int, str]:
    """The open disputes' comments by judgement id (shown to the reviewer with the task)."""
    with store.session() as s:
        rows = s.execute(select(DisputeRow.judgement_id, DisputeRow.comment).where(
            DisputeRow.open_judgement_id.in_(judgement_ids))).all()
    return {judgement_id: comment for judgement_id, comment in rows}


def resolve_disputes(store: Store, rubric: Rubric) -> list[Dispute]:
    """Resolve every open dispute of the rubric version that a reviewer decided since it was opened; recompute the
    card's score with the reviewers' standing answers and keep the old score in the card's ``score_history``."""
    resolved: list[Dispute] = []
    with store.session() as s:
        for dispute in s.scalars(select(DisputeRow).where(DisputeRow.status == "open",
                                                           DisputeRow.rubric_version == rubric.version)):
            events = list(s.scalars(select(ReviewEventRow).where(ReviewEventRow.judgement_id == dispute.judgement_id)
                                    .order_by(ReviewEventRow.id)))
            decided = [e for e in events if stands(e) and _aware(e.created_at) >= _aware(dispute.created_at)]
            if not decided:
                continue
            decision = decided[-1]
            card_row = s.get_one(JudgementRow, dispute.judgement_id).score_card
            rescore_card(s, card_row, {"dispute_id": dispute.id})
            now = datetime.now(UTC)
            dispute.status = "overturned" if decision.answer != dispute.disputed_answer else "upheld"
            dispute.decided_answer, dispute.reviewer = decision.answer, decision.reviewer
            dispute.reviewer_comment, dispute.score_after = decision.comment, card_row.score
            dispute.resolved_at, dispute.open_judgement_id = now, None
            resolved.append(_out(dispute))
    return resolved
