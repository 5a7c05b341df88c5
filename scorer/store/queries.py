"""Read-side queries the API needs: a conversation's score card with review state, paginated judgements, the
conversations a re-scoring job selects, and the stored rubric versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from scorer.store.models import ConversationRow, JudgementRow, ReviewQueueRow, RubricVersionRow, ScoreCardRow
from scorer.store.repository import Store
from scorer.types import Judgement, ScoreCard

__all__ = [
    "JudgementItem",
    "StoredCard",
    "find_card",
    "list_judgements",
    "newest_rubric_version",
    "review_state",
    "rubric_versions",
    "scored_cards",
    "select_conversations",
]


def review_state(needs_review: bool, queue_state: str | None) -> str:
    """``not_routed`` (accepted as is), ``routed`` (flagged, not queued yet), ``queued``, ``pushed``, ``reviewed``."""
    if queue_state:
        return queue_state
    return "routed" if needs_review else "not_routed"


@dataclass
class StoredCard:
    """A stored score card, whether it is for the conversation's current transcript, and each judgement's review
    state by criterion."""

    card: ScoreCard
    stale: bool
    review_states: dict[str, str]


def find_card(store: Store, conversation_id: str, *, rubric_id: str | None = None, rubric_version: str | None = None,
              judge: str | None = None, agent_id: str | None = None) -> StoredCard | None:
    """The newest card of the conversation (optionally for one rubric, version or judge; with ``agent_id``, only
    if the conversation is that agent's)."""
    query = (select(ScoreCardRow, ConversationRow.content_hash)
             .join(ConversationRow, ScoreCardRow.conversation_id == ConversationRow.id)
             .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
             .where(ConversationRow.external_id == conversation_id))
    if rubric_id:
        query = query.where(RubricVersionRow.rubric_id == rubric_id)
    if rubric_version:
        query = query.where(RubricVersionRow.version == rubric_version)
    if judge:
        query = query.where(ScoreCardRow.judge == judge)
    if agent_id is not None:
        query = query.where(ConversationRow.agent_id == agent_id)
    with store.session() as s:
        found = s.execute(query.order_by(ScoreCardRow.id.desc()).limit(1)).first()
        if found is None:
            return None
        row, current_hash = found
        states = dict(s.execute(
            select(JudgementRow.criterion_id, ReviewQueueRow.state)
            .join(ReviewQueueRow, ReviewQueueRow.judgement_id == JudgementRow.id)
            .where(JudgementRow.score_card_id == row.id)).tuples().all())
        data: dict[str, Any] = dict(row.payload)
        data["judgements"] = [Judgement.model_validate(j.payload) for j in row.judgements]
        card = ScoreCard.model_validate(data)
    return StoredCard(card, row.content_hash != current_hash,
                      {j.criterion_id: review_state(j.needs_review, states.get(j.criterion_id))
                       for j in card.judgements})


@dataclass
class JudgementItem:
    """One judgement with where it belongs: conversation, rubric version, judge and review state."""

    conversation_id: str
    rubric_id: str
    rubric_version: str
    judge: str
    judgement: Judgement
    review_state: str


def _judgement_query(needs_review: bool | None, criterion: str | None, rubric_id: str | None,
                     rubric_version: str | None, state: str | None, agent_id: str | None = None) -> Select[Any]:
    query = (select(JudgementRow.payload, JudgementRow.needs_review, ScoreCardRow.judge, ConversationRow.external_id,
                    RubricVersionRow.rubric_id, RubricVersionRow.version, ReviewQueueRow.state)
             .join(ScoreCardRow, JudgementRow.score_card_id == ScoreCardRow.id)
             .join(ConversationRow, ScoreCardRow.conversation_id == ConversationRow.id)
             .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
             .outerjoin(ReviewQueueRow, ReviewQueueRow.judgement_id == JudgementRow.id))
    if agent_id is not None:
        query = query.where(ConversationRow.agent_id == agent_id)
    if needs_review is not None:
        query = query.where(JudgementRow.needs_review.is_(needs_review))
    if criterion:
        query = query.where(JudgementRow.criterion_id == criterion)
    if rubric_id:
        query = query.where(RubricVersionRow.rubric_id == rubric_id)
    if rubric_version:
        query = query.where(RubricVersionRow.version == rubric_version)
    if state in ("queued", "pushed", "reviewed"):
        query = query.where(ReviewQueueRow.state == state)
    elif state == "routed":
        query = query.where(ReviewQueueRow.id.is_(None), JudgementRow.needs_review.is_(True))
    elif state == "not_routed":
        query = query.where(ReviewQueueRow.id.is_(None), JudgementRow.needs_review.is_(False))
    return query


def list_judgements(
    store: Store, *, needs_review: bool | None = None, criterion: str | None = None, rubric_id: str | None = None,
    rubric_version: str | None = None, state: str | None = None, page: int = 1, page_size: int = 50,
    agent_id: str | None = None,
) -> tuple[list[JudgementItem], int]:
    """One page of judgements (oldest first) and the total matching (with ``agent_id``: that agent's only)."""
    query = _judgement_query(needs_review, criterion, rubric_id, rubric_version, state, agent_id)
    with store.session() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = s.execute(query.order_by(JudgementRow.id).offset((page - 1) * page_size).limit(page_size)).all()
    items = [JudgementItem(external_id, rid, version, judge, Judgement.model_validate(payload),
                           review_state(flag, queue_state))
             for payload, flag, judge, external_id, rid, version, queue_state in rows]
    return items, total


def select_conversations(
    store: Store, *, conversation_ids: Sequence[str] | None = None, channel: str | None = None,
    language: str | None = None, created_after: datetime | None = None, created_before: datetime | None = None,
    limit: int = 100_000,
) -> list[str]:
    """External ids of the stored conversations matching every given filter, oldest first."""
    query = select(ConversationRow.external_id)
    if conversation_ids is not None:
        query = query.where(ConversationRow.external_id.in_(list(conversation_ids)))
    if channel:
        query = query.where(ConversationRow.channel == channel)
    if language:
        query = query.where(ConversationRow.language == language)
    if created_after:
        query = query.where(ConversationRow.created_at >= created_after)
    if created_before:
        query = query.where(ConversationRow.created_at < created_before)
    with store.session() as s:
        return list(s.scalars(query.order_by(ConversationRow.id).limit(limit)))


def rubric_versions(store: Store, rubric_id: str | None = None) -> list[tuple[str, str, str, datetime]]:
    """(rubric id, version, name, stored at) of every stored rubric version, oldest first."""
    query = select(RubricVersionRow.rubric_id, RubricVersionRow.version, RubricVersionRow.name,
                   RubricVersionRow.created_at)
    if rubric_id:
        query = query.where(RubricVersionRow.rubric_id == rubric_id)
    with store.session() as s:
        return [tuple(r) for r in s.execute(query.order_by(RubricVersionRow.id)).all()]  # type: ignore[misc]


def newest_rubric_version(executor: Session | Connection, rubric_id: str) -> str | None:
    """The newest stored version of a rubric, read inside the caller's transaction (None when none is stored)."""
    version: str | None = executor.scalar(_newest_version(), {"rubric_id": rubric_id})
    return version


@cache
def _newest_version() -> Select[Any]:
    """Built once: on the ingest path, building the statement cost more CPU than running it."""
    return (select(RubricVersionRow.version).where(RubricVersionRow.rubric_id == bindparam("rubric_id"))
            .order_by(RubricVersionRow.id.desc()).limit(1))


def scored_cards(rubric_id: str, version: str, judge: str | None, *columns: Any) -> Select[Any]:
    """``columns`` of the scored (not excluded) cards of one rubric version, oldest first (so a dict built from the
    rows keeps each conversation's newest card); ``judge`` narrows to one judge."""
    query = (select(*columns)
             .join(ConversationRow, ScoreCardRow.conversation_id == ConversationRow.id)
             .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
             .where(RubricVersionRow.rubric_id == rubric_id, RubricVersionRow.version == version,
                    ScoreCardRow.status == "scored"))
    if judge:
        query = query.where(ScoreCardRow.judge == judge)
    return query.order_by(ScoreCardRow.id)

