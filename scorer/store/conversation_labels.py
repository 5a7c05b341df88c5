"""Reviewers' labels of whole conversations (today: ``spam``, ticked in the Label Studio task), with provenance.

Append-only like review events: a label is stored once per (conversation, label, source, annotation, annotation
version); a newer version of the same annotation adds a row and marks the earlier one superseded; an annotation that
disappeared from Label Studio adds a ``deleted`` row. A reviewer who answered a task without ticking ``spam`` said
"not spam": that is stored too (``value`` false), so the spam classifier has negatives to learn from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scorer.store.models import ConversationRow
from scorer.store.programme_models import ConversationLabelRow
from scorer.store.repository import Store
from scorer.types import Conversation

__all__ = ["SPAM", "ConversationLabel", "current_labels", "label_history", "labelled_conversations",
           "record_label", "supersede_missing_labels"]

SPAM = "spam"


@dataclass(frozen=True)
class ConversationLabel:
    """One stored label event: who said what about a conversation, when, and where it came from."""

    id: int
    conversation_id: str
    label: str
    value: bool
    kind: str
    reviewer: str | None
    source: str
    external_id: str
    external_version: str
    task_id: int | None
    rubric_version: str | None
    superseded: bool
    created_at: datetime


def _out(row: ConversationLabelRow) -> ConversationLabel:
    return ConversationLabel(row.id, row.conversation_id, row.label, row.value, row.kind, row.reviewer, row.source,
                             row.external_id, row.external_version, row.task_id, row.rubric_version, row.superseded,
                             row.created_at)


def record_label(store: Store, conversation_id: str, label: str, value: bool, *, reviewer: str | None, source: str,
                 external_id: str, external_version: str, task_id: int | None = None,
                 rubric_version: str | None = None, kind: str = "labelled") -> bool:
    """Store one label event; False when this exact annotation version was stored before (idempotent)."""
    try:
        with store.session() as s:
            if s.scalar(select(ConversationLabelRow.id).where(
                    ConversationLabelRow.conversation_id == conversation_id, ConversationLabelRow.label == label,
                    ConversationLabelRow.source == source, ConversationLabelRow.external_id == external_id,
                    ConversationLabelRow.external_version == external_version)) is not None:
                return False
            for older in s.scalars(select(ConversationLabelRow).where(
                    ConversationLabelRow.conversation_id == conversation_id, ConversationLabelRow.label == label,
                    ConversationLabelRow.source == source, ConversationLabelRow.external_id == external_id,
                    ConversationLabelRow.superseded.is_(False))):
                older.superseded = True
            s.add(ConversationLabelRow(
                conversation_id=conversation_id, label=label, value=value, kind=kind, reviewer=reviewer,
                source=source, external_id=external_id, external_version=external_version, task_id=task_id,
                rubric_version=rubric_version, superseded=kind == "deleted"))
        return True
    except IntegrityError:  # the webhook and the poller stored the same version at the same moment
        return False


def supersede_missing_labels(store: Store, source: str, present: dict[int, set[str]]) -> int:
    """Record a ``deleted`` event for each live label of a pulled task whose annotation is gone; returns how many."""
    if not present:
        return 0
    with store.session() as s:
        live = s.scalars(select(ConversationLabelRow).where(
            ConversationLabelRow.source == source, ConversationLabelRow.task_id.in_(list(present)),
            ConversationLabelRow.superseded.is_(False))).all()
        gone = [_out(r) for r in live if r.external_id not in present.get(int(r.task_id or 0), set())]
    return sum(record_label(store, g.conversation_id, g.label, g.value, reviewer=g.reviewer, source=source,
                            external_id=g.external_id, external_version=f"deleted:{g.id}", task_id=g.task_id,
                            rubric_version=g.rubric_version, kind="deleted") for g in gone)


def label_history(store: Store, conversation_id: str, label: str = SPAM) -> list[ConversationLabel]:
    """Every event of one conversation's label, oldest first (superseded and deleted ones included)."""
    with store.session() as s:
        return [_out(r) for r in s.scalars(select(ConversationLabelRow).where(
            ConversationLabelRow.conversation_id == conversation_id, ConversationLabelRow.label == label)
            .order_by(ConversationLabelRow.id))]


def current_labels(store: Store, label: str = SPAM, conversation_ids: Iterable[str] | None = None
                   ) -> dict[str, bool]:
    """Conversation id → the label's current value: the newest live event (several reviewers: the newest wins)."""
    query = select(ConversationLabelRow).where(ConversationLabelRow.label == label,
                                               ConversationLabelRow.superseded.is_(False),
                                               ConversationLabelRow.kind == "labelled")
    if conversation_ids is not None:
        query = query.where(ConversationLabelRow.conversation_id.in_(list(conversation_ids)))
    with store.session() as s:
        return {r.conversation_id: r.value for r in s.scalars(query.order_by(ConversationLabelRow.id))}


def labelled_conversations(store: Store, label: str = SPAM) -> list[tuple[Conversation, bool]]:
    """(conversation, current value) for every stored conversation with a live label, in id order."""
    values = current_labels(store, label)
    if not values:
        return []
    with store.session() as s:
        rows = s.execute(select(ConversationRow.external_id, ConversationRow.payload)
                         .where(ConversationRow.external_id.in_(list(values)))
                         .order_by(ConversationRow.external_id)).all()
    return [(Conversation.model_validate(payload), values[cid]) for cid, payload in rows]
