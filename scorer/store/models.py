"""SQLAlchemy tables. Schema changes go through Alembic revisions in ``migrations/versions``.

History is append-only: the AI's judgement and every human decision about it are separate rows of
``review_events`` with their provenance; an updated or deleted annotation adds a row and marks the old one
superseded, it never overwrites it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "ApiKeyRow",
    "Base",
    "CalibrationRow",
    "ConversationRow",
    "IdempotencyRow",
    "JobRow",
    "JudgementRow",
    "ReviewEventRow",
    "ReviewQueueRow",
    "RubricVersionRow",
    "ScoreCardRow",
    "SyncStateRow",
    "conversation_columns",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


CONVERSATION_COLUMNS = ("channel", "language", "agent_id", "agent_name", "team", "started_at", "csat", "tags")
"""Conversation fields kept in columns of their own (indexed where filtered on) beside the JSON payload."""


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_dashboard", "started_at", "agent_id", "team", "channel", "language",
                            "agent_name", "created_at"),
                      Index("ix_conversations_agent_started", "agent_id", "started_at"),
                      Index("ix_conversations_team_started", "team", "started_at"),
                      Index("ix_conversations_channel", "channel"), Index("ix_conversations_language", "language"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    agent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    agent_name: Mapped[str | None] = mapped_column(String(255))
    team: Mapped[str | None] = mapped_column(String(255), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    csat: Mapped[float | None] = mapped_column(Float)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    def set_fields(self, conversation: Any) -> None:
        """Copy the conversation's indexed fields (channel, language, agent, team, start, CSAT, tags) to columns."""
        for name, value in conversation_columns(conversation).items():
            setattr(self, name, value)


def conversation_columns(conversation: Any) -> dict[str, Any]:
    """The conversation's indexed fields (channel, language, agent, team, start, CSAT, tags) by column name, as
    stored (for ORM rows and Core INSERTs alike)."""
    values = {name: getattr(conversation, name) for name in CONVERSATION_COLUMNS}
    start = values["started_at"]
    if start is not None:  # stored in UTC: SQLite keeps no offset, and the dashboard groups UTC days
        values["started_at"] = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
    return values


class RubricVersionRow(Base):
    __tablename__ = "rubric_versions"
    __table_args__ = (UniqueConstraint("rubric_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rubric_id: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255), default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ScoreCardRow(Base):
    __tablename__ = "score_cards"
    __table_args__ = (UniqueConstraint("conversation_id", "rubric_version_id", "judge", "content_hash"),
                      Index("ix_score_cards_current", "conversation_id", "rubric_version_id", "id", "score", "status",
                            "auto_failed", "provisional"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"), index=True)
    judge: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="scored", server_default="scored", index=True)
    auto_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    judgements: Mapped[list[JudgementRow]] = relationship(
        back_populates="score_card", cascade="all, delete-orphan", order_by="JudgementRow.position"
    )


class JudgementRow(Base):
    __tablename__ = "judgements"
    __table_args__ = (UniqueConstraint("score_card_id", "criterion_id"),
                      Index("ix_judgements_card_criterion_answer", "score_card_id", "criterion_id", "status", "answer"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score_card_id: Mapped[int] = mapped_column(ForeignKey("score_cards.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    criterion_id: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(String(255))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    confidence: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, doc="The full Judgement as JSON.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    score_card: Mapped[ScoreCardRow] = relationship(back_populates="judgements")


class ReviewQueueRow(Base):
    """A judgement routed to human review, with why; one row per judgement (never routed twice)."""

    __tablename__ = "review_queue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    judgement_id: Mapped[int] = mapped_column(
        ForeignKey("judgements.id", ondelete="CASCADE"), unique=True, index=True
    )
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    audit: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    project_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer, index=True)
    assignee: Mapped[str | None] = mapped_column(String(255), doc="The reviewer a sampled item was assigned to.")
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewEventRow(Base):
    """One entry of a judgement's history: ai, confirmed, corrected, evidence_edited or deleted."""

    __tablename__ = "review_events"
    __table_args__ = (UniqueConstraint("judgement_id", "source", "external_id", "external_version"),
                      Index("ix_review_events_kind_judgement", "kind", "judgement_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    judgement_id: Mapped[int] = mapped_column(ForeignKey("judgements.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    criterion_id: Mapped[str] = mapped_column(String(255), index=True)
    rubric_version: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    answer: Mapped[str | None] = mapped_column(String(255))
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32), default="ai")
    external_id: Mapped[str] = mapped_column(String(64), default="")
    external_version: Mapped[str] = mapped_column(String(64), default="", doc="E.g. the annotation's updated_at.")
    audit: Mapped[bool] = mapped_column(Boolean, default=False)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CalibrationRow(Base):
    """A fitted confidence calibration and auto-accept threshold for one criterion of a rubric version."""

    __tablename__ = "calibrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rubric_id: Mapped[str] = mapped_column(String(255), index=True)
    rubric_version: Mapped[str] = mapped_column(String(64), index=True)
    criterion_id: Mapped[str] = mapped_column(String(255))
    judge: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(String(255), doc="For role agent: the one agent this key sees.")
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(255))
    stats: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, doc="A chunk's model usage ({'usage': Usage}) and its worker's hosted-call concurrency numbers.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRow(Base):
    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    route: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    status_code: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SyncStateRow(Base):
    """Watermarks of resumable syncs (e.g. the last Label Studio annotation update pulled)."""

    __tablename__ = "sync_state"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
