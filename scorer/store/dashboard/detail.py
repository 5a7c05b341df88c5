"""One conversation with its newest card, review history and evidence; one criterion over time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scorer.store.dashboard.filters import Scope, day_of, occurred, week_of
from scorer.store.dashboard.overview import CriterionStats, agreement_by_week, fold_answers
from scorer.store.disputes import current_answers
from scorer.store.models import (
    CalibrationRow,
    ConversationRow,
    JudgementRow,
    ReviewEventRow,
    ReviewQueueRow,
    RubricVersionRow,
    ScoreCardRow,
)
from scorer.store.standing import effective_answer, effective_status
from scorer.types import Conversation, Judgement, Review, Rubric, ScoreCard

__all__ = ["ConversationView", "CriterionView", "conversation_view", "criterion_view"]


@dataclass
class ConversationView:
    """A conversation, its newest score card (if any), the rubric it was scored with, the review state and the
    history of each judgement."""

    conversation: Conversation
    card: ScoreCard | None
    rubric: Rubric | None
    stale: bool
    review_states: dict[str, str] = field(default_factory=dict)
    queue_reasons: dict[str, list[str]] = field(default_factory=dict)
    history: dict[str, list[Review]] = field(default_factory=dict)
    decided: dict[str, str] = field(default_factory=dict)
    """The standing reviewer answer of each reviewed criterion (the newest decision not superseded or deleted):
    what counts since the review, beside the AI's answer in the card."""


def conversation_view(session: Session, external_id: str, *, bound_agent: str | None = None,
                      rubric_id: str | None = None) -> ConversationView | None:
    """The conversation ``external_id``; None when unknown or (for an agent-bound viewer) not the agent's."""
    row = session.scalar(select(ConversationRow).where(ConversationRow.external_id == external_id))
    if row is None or (bound_agent is not None and row.agent_id != bound_agent):
        return None
    conversation = Conversation.model_validate(row.payload)
    query = (select(ScoreCardRow, RubricVersionRow.definition)
             .join(RubricVersionRow, RubricVersionRow.id == ScoreCardRow.rubric_version_id)
             .where(ScoreCardRow.conversation_id == row.id))
    if rubric_id:
        query = query.where(RubricVersionRow.rubric_id == rubric_id)
    found = session.execute(query.order_by(ScoreCardRow.id.desc()).limit(1)).first()
    if found is None:
        return ConversationView(conversation, None, None, False)
    card_row, definition = found
    judgements = list(session.scalars(select(JudgementRow).where(JudgementRow.score_card_id == card_row.id)
                                      .order_by(JudgementRow.position)))
    data: dict[str, Any] = dict(card_row.payload)
    data["judgements"] = [Judgement.model_validate(j.payload) for j in judgements]
    card = ScoreCard.model_validate(data)
    queue = {jid: (state, reasons) for jid, state, reasons in session.execute(
        select(ReviewQueueRow.judgement_id, ReviewQueueRow.state, ReviewQueueRow.reasons)
        .where(ReviewQueueRow.judgement_id.in_([j.id for j in judgements])))}
    states, reasons = {}, {}
    for j in judgements:
        state, why = queue.get(j.id, (None, []))
        states[j.criterion_id] = state or ("routed" if j.needs_review else "not_routed")
        reasons[j.criterion_id] = list(why or [])
    history: dict[str, list[Review]] = defaultdict(list)
    events: dict[str, list[ReviewEventRow]] = defaultdict(list)
    for event in session.scalars(select(ReviewEventRow).where(
            ReviewEventRow.judgement_id.in_([j.id for j in judgements])).order_by(ReviewEventRow.id)):
        events[event.criterion_id].append(event)
        history[event.criterion_id].append(Review(
            conversation_id=event.conversation_id, criterion_id=event.criterion_id,
            rubric_version=event.rubric_version, kind=event.kind,  # type: ignore[arg-type]
            answer=event.answer, evidence=event.evidence, comment=event.comment, reviewer=event.reviewer,
            source=event.source, external_id=event.external_id or None, created_at=event.created_at))
    decided = {cid: answer for cid, rows in events.items() if (answer := current_answers(rows)) is not None}
    return ConversationView(conversation, card, Rubric.model_validate(definition),
                            card_row.content_hash != row.content_hash, states, reasons, dict(history), decided)


@dataclass
class CriterionView:
    """A criterion over the period: answers now, weekly pass rate, weekly agreement with reviewers, and its
    newest calibration (threshold) for the rubric version."""

    stats: CriterionStats
    weeks: list[tuple[date, CriterionStats]]
    agreement: list[tuple[date, int, int]]
    calibration: CalibrationRow | None


def criterion_view(session: Session, scope: Scope, criterion_id: str) -> CriterionView | None:
    """Everything the criterion page shows; None when the selected rubric has no such criterion."""
    rubric = scope.rubric
    if rubric is None or criterion_id not in {c.id for c in rubric.criteria}:
        return None
    day = day_of(scope.dialect, occurred()).label("day")
    status, answer = effective_status(), effective_answer()  # a reviewer's standing answer counts over the AI's
    query = scope.base(day, JudgementRow.criterion_id, status, answer, func.count()).join(
        JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id).where(
        JudgementRow.criterion_id == criterion_id).group_by(day, JudgementRow.criterion_id, status, answer)
    by_week: dict[date, list[Any]] = defaultdict(list)
    rows = session.execute(query).all()
    for d, cid, status, answer, count in rows:
        by_week[week_of(d)].append((cid, status, answer, count))
    only = Rubric(id=rubric.id, name=rubric.name, criteria=[rubric.criterion(criterion_id)])
    weeks = [(w, fold_answers(only, r)[0]) for w, r in sorted(by_week.items())]
    overall = fold_answers(only, [(cid, status, answer, count) for _, cid, status, answer, count in rows])[0]
    calibration = session.scalar(select(CalibrationRow).where(
        CalibrationRow.rubric_id == rubric.id, CalibrationRow.rubric_version.in_(scope.versions or [""]),
        CalibrationRow.criterion_id == criterion_id).order_by(CalibrationRow.id.desc()).limit(1))
    agreement = agreement_by_week(session, scope, criterion_id).get(criterion_id, [])
    return CriterionView(overall, weeks, agreement, calibration)
