"""Tables of the QA programme's workflows: disputes, alert deliveries (and every attempt), calibration sessions
and their answers (migration 0004), and reviewers' conversation-level labels such as spam (migration 0006); they
share :class:`scorer.store.models.Base`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scorer.store.models import Base, utcnow

__all__ = ["AlertAttemptRow", "AlertDeliveryRow", "CalibrationAnswerRow", "CalibrationSessionRow",
           "ConversationLabelRow", "DisputeRow"]


class DisputeRow(Base):
    """An agent's dispute of one judgement. ``open_judgement_id`` is set only while open: unique, so a judgement
    has at most one open dispute."""

    __tablename__ = "disputes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    judgement_id: Mapped[int] = mapped_column(ForeignKey("judgements.id", ondelete="CASCADE"), index=True)
    open_judgement_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    criterion_id: Mapped[str] = mapped_column(String(255))
    rubric_id: Mapped[str] = mapped_column(String(255))
    rubric_version: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    comment: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    disputed_answer: Mapped[str | None] = mapped_column(String(255))
    decided_answer: Mapped[str | None] = mapped_column(String(255))
    reviewer: Mapped[str | None] = mapped_column(String(255))
    reviewer_comment: Mapped[str | None] = mapped_column(Text)
    score_before: Mapped[float | None] = mapped_column(Float)
    score_after: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertDeliveryRow(Base):
    """One alert to deliver to one URL; ``dedupe_key`` makes firing the same event twice a no-op."""

    __tablename__ = "alert_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    event: Mapped[str] = mapped_column(String(32), index=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AlertAttemptRow(Base):
    """Every delivery attempt, successful or not, with the HTTP status or the error."""

    __tablename__ = "alert_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("alert_deliveries.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CalibrationSessionRow(Base):
    """A calibration session: the same conversations for several reviewers, each in a project of their own."""

    __tablename__ = "calibration_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    rubric_id: Mapped[str] = mapped_column(String(255))
    rubric_version: Mapped[str] = mapped_column(String(64))
    judge: Mapped[str | None] = mapped_column(String(255))
    reviewers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    conversation_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    projects: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="reviewer → Label Studio project id")
    consensus: Mapped[dict[str, Any] | None] = mapped_column(JSON, doc="Recorded consensus answers, if any.")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CalibrationAnswerRow(Base):
    """One reviewer's answer to one criterion of one conversation in a session (kept apart from reviews)."""

    __tablename__ = "calibration_answers"
    __table_args__ = (UniqueConstraint("session_id", "reviewer", "conversation_id", "criterion_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id", ondelete="CASCADE"), index=True)
    reviewer: Mapped[str] = mapped_column(String(255))
    conversation_id: Mapped[str] = mapped_column(String(255))
    criterion_id: Mapped[str] = mapped_column(String(255))
    answer: Mapped[str] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ConversationLabelRow(Base):
    """A reviewer's label of a whole conversation (``spam``: true or false), append-only like review events: an
    updated annotation adds a row and marks the earlier one superseded; a deleted one adds a ``deleted`` row."""

    __tablename__ = "conversation_labels"
    __table_args__ = (UniqueConstraint("conversation_id", "label", "source", "external_id", "external_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    label: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(16), default="labelled", doc="labelled or deleted")
    reviewer: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64), default="", doc="E.g. the Label Studio annotation id.")
    external_version: Mapped[str] = mapped_column(String(64), default="", doc="E.g. the annotation's updated_at.")
    task_id: Mapped[int | None] = mapped_column(Integer, index=True, doc="The Label Studio task it came from.")
    rubric_version: Mapped[str | None] = mapped_column(String(64), doc="The review project's rubric version.")
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
