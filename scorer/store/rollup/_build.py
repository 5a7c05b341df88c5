"""Fill the rollup tables from the source rows, all in SQL (``INSERT … SELECT … GROUP BY``): everything
(:func:`rebuild`) or the groups of some (day, agent) pairs (:func:`refresh`), which deletes their rows and
aggregates them again from the cards, judgements and reviews. Recomputing a small group rather than adding deltas
keeps the rollup equal to a computation from scratch whatever changed (a card saved, re-scored or deleted, a review,
a queue state, a conversation's agent or date)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Date, Integer, Select, and_, case, delete, func, insert, literal, select, type_coerce
from sqlalchemy.orm import Session, aliased

from scorer.store.dashboard.filters import day_of, in_period, occurred
from scorer.store.models import (
    ConversationRow,
    JudgementRow,
    ReviewEventRow,
    ReviewQueueRow,
    RubricVersionRow,
    ScoreCardRow,
)
from scorer.store.rollup_models import (
    ALL_VERSIONS,
    COARSE_TABLES,
    DAILY_TABLES,
    ROLLUP_TABLES,
    AgreementDayRow,
    AnswerDayRow,
    CardDayRow,
    DirtyRow,
    QueueDayRow,
)
from scorer.store.standing import effective_answer, effective_status

__all__ = ["CARD_COLUMNS", "Key", "card_measures", "key_of", "keys_of", "mark", "month_end", "month_start", "rebuild",
           "refresh", "settle", "week_start"]

Key = tuple[date, str | None]
"""The unit the rollups are recomputed by: a conversation's UTC day and its agent (None: unassigned)."""
Executor = Connection | Session
_KEY_COLUMNS = ["day", "rubric_id", "version_id", "team", "agent_id", "agent_name", "channel", "language"]
_SCORED = and_(ScoreCardRow.status != "excluded", ScoreCardRow.score.is_not(None))


def _dialect(executor: Executor) -> str:
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    return bind.dialect.name


def _as_date(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def key_of(started_at: datetime | None, created_at: datetime, agent_id: str | None) -> Key:
    """The (day, agent) of a conversation about to be written, computed in Python as :func:`keys_of` reads it
    (the UTC day of ``started_at``, else of ``created_at``; naive times are UTC, as stored)."""
    when = started_at if started_at is not None else created_at
    return (when.astimezone(UTC).date() if when.tzinfo else when.date()), agent_id


def keys_of(executor: Executor, conversation_ids: Iterable[int]) -> set[Key]:
    """The (day, agent) of each conversation as stored now."""
    ids, found = sorted(set(conversation_ids)), set()
    day = day_of(_dialect(executor), occurred())
    for lo in range(0, len(ids), 500):
        rows = executor.execute(select(day, ConversationRow.agent_id).where(ConversationRow.id.in_(ids[lo:lo + 500])))
        found |= {(_as_date(d), agent) for d, agent in rows}
    return found


def _source(dialect: str, all_versions: bool, *measures: Any) -> Select[Any]:
    """SELECT key columns + ``measures`` over each conversation's current card: the newest of its version
    (``all_versions`` False) or of all its rubric's versions (True, ``version_id`` = ALL_VERSIONS)."""
    newer, newer_version = aliased(ScoreCardRow), aliased(RubricVersionRow)
    if all_versions:
        newest = (select(func.max(newer.id)).join(newer_version, newer_version.id == newer.rubric_version_id)
                  .where(newer.conversation_id == ConversationRow.id,
                         newer_version.rubric_id == RubricVersionRow.rubric_id))
        version: Any = literal(ALL_VERSIONS, Integer)
    else:
        newest = select(func.max(newer.id)).where(newer.conversation_id == ConversationRow.id,
                                                  newer.rubric_version_id == ScoreCardRow.rubric_version_id)
        version = ScoreCardRow.rubric_version_id
    day = type_coerce(day_of(dialect, occurred()), Date).label("day")
    keys = [day, RubricVersionRow.rubric_id, ConversationRow.team, ConversationRow.agent_id,
            ConversationRow.agent_name, ConversationRow.channel, ConversationRow.language]
    if not all_versions:
        keys.append(version)
    columns = [day, RubricVersionRow.rubric_id, version, *keys[2:7]]
    return (select(*columns, *measures).select_from(ConversationRow)
            .join(ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id)
            .join(RubricVersionRow, RubricVersionRow.id == ScoreCardRow.rubric_version_id)
            .where(ScoreCardRow.id == newest.scalar_subquery()).group_by(*keys))


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def card_measures() -> list[Any]:
    usage = ScoreCardRow.payload[("usage", "calls")].as_integer()
    cost = ScoreCardRow.payload[("usage", "cost_usd")].as_float()
    used = usage.is_not(None)
    bins = [_count(and_(_SCORED, ScoreCardRow.score >= 10 * i, ScoreCardRow.score < (10 * i + 10 if i < 9 else 101)))
            for i in range(10)]
    return [func.count(), _count(_SCORED), func.coalesce(func.sum(case((_SCORED, ScoreCardRow.score))), 0.0),
            _count(ScoreCardRow.status == "excluded"),
            _count(and_(ScoreCardRow.status != "excluded", ScoreCardRow.score.is_(None))),
            _count(and_(_SCORED, ScoreCardRow.provisional.is_(True))),
            _count(and_(_SCORED, ScoreCardRow.auto_failed.is_(True))), *bins, _count(used),
            func.coalesce(func.sum(usage), 0),
            *(func.coalesce(func.sum(case((used, ScoreCardRow.payload[("usage", name)].as_integer()))), 0)
              for name in ("prompt_tokens", "completion_tokens", "cached_tokens")),
            _count(and_(used, cost.is_not(None))), func.coalesce(func.sum(case((used, cost))), 0.0)]


CARD_COLUMNS = ["conversations", "scored", "score_sum", "excluded", "unscored", "provisional", "auto_failed",
                 *(f"b{i}" for i in range(10)), "usage_cards", "calls", "prompt_tokens", "completion_tokens",
                 "cached_tokens", "priced_cards", "cost_usd"]


@cache
def _statements(dialect: str, all_versions: bool) -> list[tuple[Any, list[str], Select[Any]]]:
    """(table, its value columns, the SELECT filling it) for one kind of current card; built once per process
    (statements are immutable; a refresh adds its WHERE), as building them costs more than running them."""
    status, answer = effective_status(), effective_answer()  # a reviewer's standing answer counts over the AI's
    answers = _source(dialect, all_versions, JudgementRow.criterion_id, status, answer, func.count()).join(
        JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id).group_by(JudgementRow.criterion_id, status, answer)
    queue = (_source(dialect, all_versions, ReviewQueueRow.state, func.count())
             .join(JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id)
             .join(ReviewQueueRow, ReviewQueueRow.judgement_id == JudgementRow.id).group_by(ReviewQueueRow.state))
    review_day = type_coerce(day_of(dialect, ReviewEventRow.created_at), Date).label("review_day")
    agreement = (_source(dialect, all_versions, ReviewEventRow.criterion_id, review_day, ReviewEventRow.kind,
                         func.count())
                 .join(JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id)
                 .join(ReviewEventRow, ReviewEventRow.judgement_id == JudgementRow.id)
                 .where(ReviewEventRow.kind.in_(("confirmed", "corrected")), ReviewEventRow.superseded.is_(False))
                 .group_by(ReviewEventRow.criterion_id, review_day, ReviewEventRow.kind))
    return [(CardDayRow, CARD_COLUMNS, _source(dialect, all_versions, *card_measures())),
            (AnswerDayRow, ["criterion_id", "status", "answer", "count"], answers),
            (QueueDayRow, ["state", "count"], queue),
            (AgreementDayRow, ["criterion_id", "review_day", "kind", "count"], agreement)]


def _fill(executor: Executor, where: list[Any]) -> None:
    dialect = _dialect(executor)
    for all_versions in (False, True):
        for table, columns, query in _statements(dialect, all_versions):
            executor.execute(insert(table).from_select([*_KEY_COLUMNS, *columns], query.where(*where)))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _starts(level: str, day: date) -> tuple[date, date]:
    """The first and last day of the month or ISO week holding ``day``."""
    if level == "month":
        return month_start(day), month_end(day)
    return week_start(day), week_start(day) + timedelta(days=6)


def _month_of(dialect: str, column: Any) -> Any:
    if dialect == "postgresql":
        return type_coerce(func.date(func.date_trunc("month", column)), Date)
    return type_coerce(func.date(column, "start of month"), Date)


def _week_of(dialect: str, column: Any) -> Any:
    """The Monday of the ISO week of a date column."""
    if dialect == "postgresql":
        return type_coerce(func.date(func.date_trunc("week", column)), Date)
    return type_coerce(func.date(column, "weekday 0", "-6 days"), Date)


@cache
def _coarse_statements(dialect: str, level: str) -> list[tuple[Any, Any, list[str], Select[Any]]]:
    """(daily source, month or week target, target columns, the SELECT summing the source) per table pair."""
    answers, agreement = COARSE_TABLES[level]
    out = []
    for source, target, extra in ((AnswerDayRow, answers, ["criterion_id", "status", "answer"]),
                                  (AgreementDayRow, agreement, ["criterion_id", "review_day", "kind"])):
        start = (_month_of if level == "month" else _week_of)(dialect, source.day).label("start")
        keys = [start, *(getattr(source, c) for c in _KEY_COLUMNS[1:])]
        for name in extra:
            column = getattr(source, name)
            keys.append(_week_of(dialect, column).label("review_week") if name == "review_day" else column)
        columns = [*_KEY_COLUMNS, *(("review_week" if c == "review_day" else c) for c in extra), "count"]
        out.append((source, target, columns, select(*keys, func.sum(source.count)).group_by(*keys)))
    return out


def _fill_coarse(executor: Executor, level: str, only: Key | None = None) -> None:
    """The month or week rows summed from the daily ones (all, or ``only`` one (month or week start, agent))."""
    for source, target, columns, query in _coarse_statements(_dialect(executor), level):
        if only is not None:
            query = query.where(_is(source.agent_id, only[1]), source.day.between(*_starts(level, only[0])))
        executor.execute(insert(target).from_select(columns, query))


def rebuild(executor: Executor, *, marks: bool = True) -> None:
    """Empty the rollups and compute them again from every stored card (repair, and migration 0007, which runs
    before the marks' table exists: ``marks=False``); the groups marked out of date are then current."""
    for table in (*ROLLUP_TABLES, *((DirtyRow,) if marks else ())):
        executor.execute(delete(table))
    _fill(executor, [])
    for level in COARSE_TABLES:
        _fill_coarse(executor, level)


def refresh(executor: Executor, keys: Iterable[Key]) -> None:
    """Recompute the rollup rows of the conversations of each (day, agent) from the source rows, then the
    month and week rows of those (month or week, agent) from the daily ones."""
    dialect = _dialect(executor)
    coarse: set[tuple[str, date, str | None]] = set()
    for day, agent in sorted(set(keys), key=lambda k: (k[0], k[1] or "")):
        for table in DAILY_TABLES:
            executor.execute(delete(table).where(table.day == day, _is(table.agent_id, agent)))
        _fill(executor, [_is(ConversationRow.agent_id, agent), in_period(day, day),
                         type_coerce(day_of(dialect, occurred()), Date) == day])
        coarse |= {(level, _starts(level, day)[0], agent) for level in COARSE_TABLES}
    for level, start, agent in sorted(coarse, key=lambda k: (k[0], k[1], k[2] or "")):
        for coarse_table in COARSE_TABLES[level]:
            executor.execute(delete(coarse_table).where(coarse_table.day == start,
                                                        _is(coarse_table.agent_id, agent)))
        _fill_coarse(executor, level, (start, agent))


def _is(column: Any, value: str | None) -> Any:
    return column.is_(None) if value is None else column == value


_SETTLE_LOCK = 7_310_000_001
"""PostgreSQL advisory lock taken while settling, so two readers never recompute the same group at once (SQLite
serialises writers by itself)."""


def mark(executor: Executor, keys: Iterable[Key]) -> None:
    """Note that the groups ``keys`` changed (one INSERT, no lock on the rollups: writers never wait on each other
    here, however many conversations a group holds)."""
    rows = [{"day": day, "agent_id": agent} for day, agent in set(keys)]
    if rows:
        executor.execute(_insert_mark(), rows)


@cache
def _insert_mark() -> Any:
    return insert(DirtyRow)  # built once: every ingest request runs it


def settle(executor: Executor) -> int:
    """Recompute the groups marked since the last settle and clear their marks; returns how many groups.

    Only the marks read here are deleted, so a group marked by a transaction that commits meanwhile stays marked
    for the next settle (its mark and its data commit together)."""
    if _dialect(executor) == "postgresql":
        executor.execute(select(func.pg_advisory_xact_lock(_SETTLE_LOCK)))
    marks = executor.execute(select(DirtyRow.id, DirtyRow.day, DirtyRow.agent_id)).all()
    if not marks:
        return 0
    keys = {(_as_date(m.day), m.agent_id) for m in marks}
    refresh(executor, keys)
    ids = [m.id for m in marks]
    for lo in range(0, len(ids), 500):
        executor.execute(delete(DirtyRow).where(DirtyRow.id.in_(ids[lo:lo + 500])))
    return len(keys)
