"""Storing incoming conversations in bulk (the API's ingest), and remembering responses by idempotency key.

Everything here works inside the caller's session, so conversations, their scoring job and the idempotency record
are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from scorer.store.models import ConversationRow, IdempotencyRow, RubricVersionRow, ScoreCardRow
from scorer.types import Conversation

__all__ = ["IngestOutcome", "Outcome", "Remembered", "recall_response", "remember_response", "store_conversations"]

Outcome = Literal["created", "updated", "unchanged", "already_scored"]


@dataclass
class IngestOutcome:
    """What happened to one conversation: stored new, updated (changed transcript), unchanged, or unchanged and
    already scored with this rubric version and judge (so nothing needs to be queued)."""

    conversation_id: str
    outcome: Outcome

    @property
    def needs_scoring(self) -> bool:
        return self.outcome != "already_scored"


def store_conversations(
    session: Session, conversations: Sequence[Conversation], *, rubric_id: str, rubric_version: str, judge: str
) -> list[IngestOutcome]:
    """Insert or update conversations keyed by external id (ids must be unique in ``conversations``)."""
    ids = [c.id for c in conversations]
    existing = {row.external_id: row for row in
                session.scalars(select(ConversationRow).where(ConversationRow.external_id.in_(ids)))}
    scored: set[str] = set()
    unchanged = [c for c in conversations
                 if c.id in existing and existing[c.id].content_hash == c.content_hash()]
    if unchanged:
        scored = set(session.scalars(
            select(ConversationRow.external_id)
            .join(ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id)
            .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
            .where(ConversationRow.external_id.in_([c.id for c in unchanged]),
                   RubricVersionRow.rubric_id == rubric_id, RubricVersionRow.version == rubric_version,
                   ScoreCardRow.judge == judge, ScoreCardRow.content_hash == ConversationRow.content_hash)))
    outcomes: list[IngestOutcome] = []
    for conversation in conversations:
        row = existing.get(conversation.id)
        payload = conversation.model_dump(mode="json")
        digest = conversation.content_hash()
        if row is None:
            new = ConversationRow(external_id=conversation.id, content_hash=digest, payload=payload)
            new.set_fields(conversation)
            session.add(new)
            outcomes.append(IngestOutcome(conversation.id, "created"))
            continue
        if row.content_hash != digest:
            outcome: Outcome = "updated"
        else:
            outcome = "already_scored" if conversation.id in scored else "unchanged"
        if row.payload != payload:  # metadata or language changed: keep the newest copy
            row.content_hash, row.payload = digest, payload
            row.set_fields(conversation)
        outcomes.append(IngestOutcome(conversation.id, outcome))
    session.flush()
    return outcomes


@dataclass
class Remembered:
    """A response stored under an idempotency key, with the hash of the request that produced it."""

    request_hash: str
    status_code: int
    response: dict[str, Any]


def recall_response(session: Session, key: str) -> Remembered | None:
    row = session.get(IdempotencyRow, key)
    return Remembered(row.request_hash, row.status_code, dict(row.response)) if row else None


def remember_response(session: Session, key: str, *, route: str, request_hash: str, status_code: int,
                      response: dict[str, Any]) -> None:
    """Store the response in the caller's transaction (a concurrent twin fails on the primary key and retries)."""
    session.add(IdempotencyRow(key=key, route=route, request_hash=request_hash, response=response,
                               status_code=status_code))
    session.flush()
