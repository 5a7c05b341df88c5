"""Storing incoming conversations in bulk (the API's ingest), and remembering responses by idempotency key.

Everything here works inside the caller's transaction (a Session or a Core Connection), so conversations, their
scoring job and the idempotency record are committed together or not at all. The writes are Core statements (one
executemany INSERT for the new conversations, one UPDATE per changed one), not ORM flushes: the unit of work was
about a third of the ingest route's CPU (docs/performance.md). Core writes bypass the rollup hooks of
:mod:`scorer.store.rollup`, so :func:`store_conversations` marks the (day, agent) groups it touched itself, in the
same transaction, as an ORM flush would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import Connection, Insert, Select, bindparam, insert, select, update
from sqlalchemy.orm import Session

from scorer.store.models import (
    ConversationRow,
    IdempotencyRow,
    RubricVersionRow,
    ScoreCardRow,
    conversation_columns,
    utcnow,
)
from scorer.store.rollup import Key, key_of, keys_of, mark
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


@cache
def _existing() -> Select[Any]:
    """The stored rows of some external ids (built once: building a statement costs more CPU than running it)."""
    return select(ConversationRow.id, ConversationRow.external_id, ConversationRow.content_hash,
                  ConversationRow.payload).where(ConversationRow.external_id.in_(bindparam("ids", expanding=True)))


@cache
def _insert() -> Insert:
    return insert(ConversationRow)


def store_conversations(
    executor: Session | Connection, conversations: Sequence[Conversation], *, rubric_id: str, rubric_version: str,
    judge: str,
) -> list[IngestOutcome]:
    """Insert or update conversations keyed by external id (ids must be unique in ``conversations``), and mark
    their rollup groups out of date."""
    conn = executor.connection() if isinstance(executor, Session) else executor
    ids = [c.id for c in conversations]
    existing = {row.external_id: row for row in conn.execute(_existing(), {"ids": ids})}
    scored: set[str] = set()
    unchanged = [c for c in conversations
                 if c.id in existing and existing[c.id].content_hash == c.content_hash()]
    if unchanged:
        scored = set(conn.scalars(
            select(ConversationRow.external_id)
            .join(ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id)
            .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
            .where(ConversationRow.external_id.in_([c.id for c in unchanged]),
                   RubricVersionRow.rubric_id == rubric_id, RubricVersionRow.version == rubric_version,
                   ScoreCardRow.judge == judge, ScoreCardRow.content_hash == ConversationRow.content_hash)))
    outcomes: list[IngestOutcome] = []
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    keys: set[Key] = set()
    for conversation in conversations:
        row = existing.get(conversation.id)
        payload = conversation.model_dump(mode="json")
        digest = conversation.content_hash()
        if row is None:
            values = {"external_id": conversation.id, "content_hash": digest, "payload": payload,
                      "created_at": utcnow(), **conversation_columns(conversation)}
            new.append(values)
            keys.add(key_of(values["started_at"], values["created_at"], values["agent_id"]))
            outcomes.append(IngestOutcome(conversation.id, "created"))
            continue
        if row.content_hash != digest:
            outcome: Outcome = "updated"
        else:
            outcome = "already_scored" if conversation.id in scored else "unchanged"
        if row.payload != payload:  # metadata or language changed: keep the newest copy
            changed.append({"row_id": row.id, "content_hash": digest, "payload": payload,
                            **conversation_columns(conversation)})
        outcomes.append(IngestOutcome(conversation.id, outcome))
    if new:
        conn.execute(_insert(), new)
    if changed:
        moved = [c["row_id"] for c in changed]
        keys |= keys_of(conn, moved)  # the groups they leave (if their agent or day changes)
        conn.execute(update(ConversationRow).where(ConversationRow.id == bindparam("row_id")), changed)
        keys |= keys_of(conn, moved)
    mark(conn, keys)
    return outcomes


@dataclass
class Remembered:
    """A response stored under an idempotency key, with the hash of the request that produced it."""

    request_hash: str
    status_code: int
    response: dict[str, Any]


def recall_response(executor: Session | Connection, key: str) -> Remembered | None:
    row = executor.execute(select(IdempotencyRow.request_hash, IdempotencyRow.status_code, IdempotencyRow.response)
                           .where(IdempotencyRow.key == key)).first()
    return Remembered(row.request_hash, row.status_code, dict(row.response)) if row else None


def remember_response(executor: Session | Connection, key: str, *, route: str, request_hash: str,
                      status_code: int, response: dict[str, Any]) -> None:
    """Store the response in the caller's transaction (a concurrent twin fails on the primary key and retries)."""
    conn = executor.connection() if isinstance(executor, Session) else executor
    conn.execute(insert(IdempotencyRow).values(key=key, route=route, request_hash=request_hash, response=response,
                                               status_code=status_code))
