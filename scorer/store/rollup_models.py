"""The dashboard's daily rollups: per day and group of conversations, what the overview and agent pages add up.

Each row is keyed by the conversations' UTC day, the rubric, ``version_id`` and the filterable fields (team, agent,
agent name, channel, language). ``version_id`` is a rubric version's row id (the newest card of each conversation
among that version's cards) or :data:`ALL_VERSIONS` (the newest card among all the rubric's versions: what the
dashboard counts without a version filter). The rows are derived data: ``scorer.store.rollup`` rebuilds them from
the cards, judgements and reviews, and keeps them current in the transaction that changes those. Migration 0007
creates and fills them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from scorer.store.models import Base

__all__ = ["ALL_VERSIONS", "COARSE_TABLES", "DAILY_TABLES", "ROLLUP_TABLES", "AgreementDayRow", "AgreementMonthRow",
           "AgreementWeekRow", "AnswerDayRow", "AnswerMonthRow", "AnswerWeekRow", "CardDayRow", "DirtyRow",
           "QueueDayRow"]

ALL_VERSIONS = 0
"""``version_id`` of the rows counting each conversation's newest card among all of a rubric's versions."""


_COVER = ("team", "agent_id", "channel", "language")
"""The filter columns: the biggest rollups' scope indexes include them and the values, so a page's query reads
only the index (SQLite reads no table row)."""


class _Key:
    """The grouping every rollup shares (a mixin: each table gets its own columns)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    rubric_id: Mapped[str] = mapped_column(String(255))
    version_id: Mapped[int] = mapped_column(Integer)
    team: Mapped[str | None] = mapped_column(String(255))
    agent_id: Mapped[str | None] = mapped_column(String(255))
    agent_name: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(32))


class CardDayRow(_Key, Base):
    """Current cards of the group's conversations: counts by state, score sum, 10-point histogram, model usage."""

    __tablename__ = "rollup_cards"
    __table_args__ = (Index("ix_rollup_cards_scope_day", "rubric_id", "version_id", "day", *_COVER, "agent_name",
                            "conversations", "scored", "score_sum", "auto_failed", "excluded"),
                      Index("ix_rollup_cards_agent_day", "agent_id", "day"))
    conversations: Mapped[int] = mapped_column(Integer)
    scored: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[float] = mapped_column(Float)
    excluded: Mapped[int] = mapped_column(Integer)
    unscored: Mapped[int] = mapped_column(Integer)
    provisional: Mapped[int] = mapped_column(Integer)
    auto_failed: Mapped[int] = mapped_column(Integer)
    b0: Mapped[int] = mapped_column(Integer)
    b1: Mapped[int] = mapped_column(Integer)
    b2: Mapped[int] = mapped_column(Integer)
    b3: Mapped[int] = mapped_column(Integer)
    b4: Mapped[int] = mapped_column(Integer)
    b5: Mapped[int] = mapped_column(Integer)
    b6: Mapped[int] = mapped_column(Integer)
    b7: Mapped[int] = mapped_column(Integer)
    b8: Mapped[int] = mapped_column(Integer)
    b9: Mapped[int] = mapped_column(Integer)
    usage_cards: Mapped[int] = mapped_column(Integer)
    calls: Mapped[int] = mapped_column(Integer)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    cached_tokens: Mapped[int] = mapped_column(Integer)
    priced_cards: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)


class AnswerDayRow(_Key, Base):
    """Judgements of the current cards by criterion, status and answer."""

    __tablename__ = "rollup_answers"
    __table_args__ = (Index("ix_rollup_answers_scope_day", "rubric_id", "version_id", "day", *_COVER,
                            "criterion_id", "status", "answer", "count"),
                      Index("ix_rollup_answers_agent_day", "agent_id", "day"))
    criterion_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(String(255))
    count: Mapped[int] = mapped_column(Integer)


class QueueDayRow(_Key, Base):
    """Routed judgements of the current cards by review-queue state."""

    __tablename__ = "rollup_queue"
    __table_args__ = (Index("ix_rollup_queue_scope_day", "rubric_id", "version_id", "day"),
                      Index("ix_rollup_queue_agent_day", "agent_id", "day"))
    state: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)


class AgreementDayRow(_Key, Base):
    """Reviewers' standing decisions (confirmed or corrected) on the current cards, by criterion and review day."""

    __tablename__ = "rollup_agreement"
    __table_args__ = (Index("ix_rollup_agreement_scope_day", "rubric_id", "version_id", "day", *_COVER,
                            "criterion_id", "review_day", "kind", "count"),
                      Index("ix_rollup_agreement_agent_day", "agent_id", "day"))
    criterion_id: Mapped[str] = mapped_column(String(255))
    review_day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)


class AnswerMonthRow(_Key, Base):
    """:class:`AnswerDayRow` summed by calendar month (``day`` = the month's first day): a long period reads its
    whole months here and only its partial months' days from the daily rows."""

    __tablename__ = "rollup_answers_month"
    __table_args__ = (Index("ix_rollup_answers_month_scope_day", "rubric_id", "version_id", "day"),
                      Index("ix_rollup_answers_month_agent_day", "agent_id", "day"))
    criterion_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(String(255))
    count: Mapped[int] = mapped_column(Integer)


class AgreementMonthRow(_Key, Base):
    """:class:`AgreementDayRow` summed by month of the conversations (``day`` = its first day) and ISO week of the
    review (``review_week`` = its Monday)."""

    __tablename__ = "rollup_agreement_month"
    __table_args__ = (Index("ix_rollup_agreement_month_scope_day", "rubric_id", "version_id", "day"),
                      Index("ix_rollup_agreement_month_agent_day", "agent_id", "day"))
    criterion_id: Mapped[str] = mapped_column(String(255))
    review_week: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)


class AnswerWeekRow(_Key, Base):
    """:class:`AnswerDayRow` summed by ISO week (``day`` = its Monday), for the whole weeks of a period that are
    not in a whole month."""

    __tablename__ = "rollup_answers_week"
    __table_args__ = (Index("ix_rollup_answers_week_scope_day", "rubric_id", "version_id", "day"),
                      Index("ix_rollup_answers_week_agent_day", "agent_id", "day"))
    criterion_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str | None] = mapped_column(String(255))
    count: Mapped[int] = mapped_column(Integer)


class AgreementWeekRow(_Key, Base):
    """:class:`AgreementDayRow` summed by ISO week of the conversations (``day`` = its Monday) and of the review."""

    __tablename__ = "rollup_agreement_week"
    __table_args__ = (Index("ix_rollup_agreement_week_scope_day", "rubric_id", "version_id", "day"),
                      Index("ix_rollup_agreement_week_agent_day", "agent_id", "day"))
    criterion_id: Mapped[str] = mapped_column(String(255))
    review_week: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)


class DirtyRow(Base):
    """A (day, agent) group whose rollups are out of date: written in the transaction that changed what they count
    (one cheap INSERT), recomputed and deleted by the next dashboard read (``scorer.store.rollup.settle``)."""

    __tablename__ = "rollup_dirty"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    agent_id: Mapped[str | None] = mapped_column(String(255))


DAILY_TABLES = (CardDayRow, AnswerDayRow, QueueDayRow, AgreementDayRow)
COARSE_TABLES: dict[str, tuple[Any, Any]] = {"month": (AnswerMonthRow, AgreementMonthRow),
                                             "week": (AnswerWeekRow, AgreementWeekRow)}
"""The answer and agreement rollups summed by calendar month and by ISO week: (answers, agreement) of each."""
ROLLUP_TABLES = (*DAILY_TABLES, *(t for pair in COARSE_TABLES.values() for t in pair))
