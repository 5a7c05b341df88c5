"""The review queue and the review history: what was routed to humans, what they decided, agreement so far.

Review events are append-only. A reviewer's decision is stored once per (judgement, annotation, annotation
version); an updated annotation adds a row and marks the earlier one superseded; a deleted annotation adds a
``deleted`` row. Nothing a reviewer did is overwritten.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scorer.store.models import (
    ConversationRow,
    JudgementRow,
    ReviewEventRow,
    ReviewQueueRow,
    RubricVersionRow,
    ScoreCardRow,
)
from scorer.store.repository import Store
from scorer.store.standing import rescore_card
from scorer.types import Conversation, Judgement, Review

__all__ = ["QueuedItem", "agreement", "enqueue_routed", "mark_pushed", "queued_items", "record_review",
           "review_counts", "supersede_missing"]


@dataclass
class QueuedItem:
    """A routed judgement with what a push needs: its conversation, judge and why it was routed."""

    queue_id: int
    judgement_id: int
    conversation: Conversation
    judgement: Judgement
    judge: str
    reasons: list[str]
    audit: bool
    state: str
    task_id: int | None
    assignee: str | None = None


def enqueue_routed(store: Store, rubric_id: str, rubric_version: str) -> int:
    """Queue every judgement flagged for review that is not queued yet; returns how many were added."""
    added = 0
    with store.session() as s:
        rows = s.execute(
            select(JudgementRow)
            .join(ScoreCardRow, JudgementRow.score_card_id == ScoreCardRow.id)
            .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
            .outerjoin(ReviewQueueRow, ReviewQueueRow.judgement_id == JudgementRow.id)
            .where(RubricVersionRow.rubric_id == rubric_id, RubricVersionRow.version == rubric_version,
                   JudgementRow.needs_review.is_(True), ReviewQueueRow.id.is_(None))
        ).scalars()
        for row in rows:
            reasons = list(row.payload.get("review_reasons", []))
            s.add(ReviewQueueRow(judgement_id=row.id, reasons=reasons, audit=reasons == ["audit"]))
            added += 1
    return added


def queued_items(store: Store, rubric_id: str, rubric_version: str, states: tuple[str, ...] = ("queued",)
                 ) -> list[QueuedItem]:
    """Queue entries in the given states, with their conversations and judgements."""
    with store.session() as s:
        rows = s.execute(
            select(ReviewQueueRow, JudgementRow, ScoreCardRow.judge, ConversationRow.payload)
            .join(JudgementRow, ReviewQueueRow.judgement_id == JudgementRow.id)
            .join(ScoreCardRow, JudgementRow.score_card_id == ScoreCardRow.id)
            .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
            .join(ConversationRow, ScoreCardRow.conversation_id == ConversationRow.id)
            .where(RubricVersionRow.rubric_id == rubric_id, RubricVersionRow.version == rubric_version,
                   ReviewQueueRow.state.in_(states))
            .order_by(ConversationRow.id, JudgementRow.position)
        ).all()
        return [QueuedItem(q.id, j.id, Conversation.model_validate(payload), Judgement.model_validate(j.payload),
                           judge, list(q.reasons), q.audit, q.state, q.task_id, q.assignee)
                for q, j, judge, payload in rows]


def mark_pushed(store: Store, queue_ids: list[int], *, project_id: int, task_id: int) -> None:
    with store.session() as s:
        for row in s.scalars(select(ReviewQueueRow).where(ReviewQueueRow.id.in_(queue_ids))):
            row.state, row.project_id, row.task_id, row.pushed_at = "pushed", project_id, task_id, datetime.now(UTC)


def record_review(store: Store, judgement_id: int, review: Review, *, external_version: str) -> bool:
    """Store one reviewer decision; False when this exact version was stored before (idempotent)."""
    try:
        with store.session() as s:
            if s.scalar(select(ReviewEventRow.id).where(
                    ReviewEventRow.judgement_id == judgement_id, ReviewEventRow.source == review.source,
                    ReviewEventRow.external_id == (review.external_id or ""),
                    ReviewEventRow.external_version == external_version)) is not None:
                return False
            # reviews of one card are recorded one at a time (PostgreSQL; SQLite serialises writers): each re-scores
            # the card with every decision committed before it
            card = s.scalars(select(ScoreCardRow).join(JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id)
                             .where(JudgementRow.id == judgement_id).with_for_update(of=ScoreCardRow)).one()
            queue = s.scalar(select(ReviewQueueRow).where(ReviewQueueRow.judgement_id == judgement_id))
            for older in s.scalars(select(ReviewEventRow).where(
                    ReviewEventRow.judgement_id == judgement_id, ReviewEventRow.source == review.source,
                    ReviewEventRow.external_id == (review.external_id or ""), ReviewEventRow.superseded.is_(False))):
                older.superseded = True
            s.add(ReviewEventRow(
                judgement_id=judgement_id, conversation_id=review.conversation_id, criterion_id=review.criterion_id,
                rubric_version=review.rubric_version, kind=review.kind, answer=review.answer,
                evidence=[e.model_dump() for e in review.evidence], comment=review.comment, reviewer=review.reviewer,
                source=review.source, external_id=review.external_id or "", external_version=external_version,
                audit=bool(queue and queue.audit), superseded=review.kind == "deleted",
            ))
            if queue is not None:
                queue.state = "queued" if review.kind == "deleted" else "reviewed"
            s.flush()
            # the reviewer's standing answer counts in the score (a deletion brings back the one before)
            rescore_card(s, card, {"review": True})
            return True
    except IntegrityError:  # the webhook and the poller stored the same version at the same moment
        return False


def supersede_missing(store: Store, source: str, task_judgements: dict[int, list[int]],
                      present: dict[int, set[str]]) -> int:
    """Mark decisions whose annotation no longer exists as deleted; returns how many were."""
    deleted = 0
    for task_id, judgement_ids in task_judgements.items():
        with store.session() as s:
            live = s.scalars(select(ReviewEventRow).where(
                ReviewEventRow.judgement_id.in_(judgement_ids), ReviewEventRow.source == source,
                ReviewEventRow.superseded.is_(False))).all()
            pushed = dict(s.execute(select(ReviewQueueRow.judgement_id, ReviewQueueRow.pushed_at).where(
                ReviewQueueRow.judgement_id.in_(judgement_ids))).tuples().all())
            # decisions made on an earlier task of a re-pushed judgement (e.g. a dispute) are not in this task
            gone = [e for e in live if e.external_id not in present.get(task_id, set())
                    and not _before(e.created_at, pushed.get(e.judgement_id))]
        for event in gone:
            review = Review(conversation_id=event.conversation_id, criterion_id=event.criterion_id,
                            rubric_version=event.rubric_version, kind="deleted", source=source,
                            external_id=event.external_id, reviewer=event.reviewer)
            deleted += record_review(store, event.judgement_id, review, external_version=f"deleted:{event.id}")
    return deleted


def _before(when: datetime, pushed_at: datetime | None) -> bool:
    """``when`` is earlier than ``pushed_at`` (both read back from the database, naive or aware)."""
    def naive(value: datetime) -> datetime:
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return pushed_at is not None and naive(when) < naive(pushed_at)


def review_counts(store: Store, rubric_version: str) -> dict[str, dict[str, int]]:
    """Per criterion: queued, pushed and reviewed counts."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"queued": 0, "pushed": 0, "reviewed": 0})
    with store.session() as s:
        rows = s.execute(
            select(JudgementRow.criterion_id, ReviewQueueRow.state)
            .join(ReviewQueueRow, ReviewQueueRow.judgement_id == JudgementRow.id)
            .join(ScoreCardRow, JudgementRow.score_card_id == ScoreCardRow.id)
            .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
            .where(RubricVersionRow.version == rubric_version)).all()
    for criterion, state in rows:
        out[criterion][state] = out[criterion].get(state, 0) + 1
    return dict(out)


def agreement(store: Store, rubric_version: str) -> dict[str, dict[str, Any]]:
    """Per criterion: how often reviewers confirmed the AI's answer, overall and on the audit sample."""
    with store.session() as s:
        events = s.scalars(select(ReviewEventRow).where(
            ReviewEventRow.rubric_version == rubric_version, ReviewEventRow.source != "ai",
            ReviewEventRow.superseded.is_(False), ReviewEventRow.kind != "deleted")).all()
    tallies: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        agreed = e.kind in ("confirmed", "evidence_edited")
        for scope in ("all", "audit") if e.audit else ("all",):
            tallies[e.criterion_id][f"{scope}_n"] += 1
            tallies[e.criterion_id][f"{scope}_agreed"] += agreed
    result: dict[str, dict[str, Any]] = {}
    for criterion, t in tallies.items():
        result[criterion] = {
            "reviewed": t["all_n"], "agreement": t["all_agreed"] / t["all_n"] if t["all_n"] else None,
            "audit_reviewed": t["audit_n"],
            "audit_agreement": t["audit_agreed"] / t["audit_n"] if t["audit_n"] else None,
        }
    return result
