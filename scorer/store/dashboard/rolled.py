"""The overview's and agent page's numbers read from the daily rollups (``scorer.store.rollup_models``): the same
results as the exact queries in ``overview``, summed over a few thousand (day, group) rows instead of every card
and judgement. Periods are whole UTC days, as the rollups are, so every answer is exact."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from scorer.store.dashboard.filters import UNASSIGNED, Scope, week_of
from scorer.store.dashboard.results import Bucket, CriterionStats, Sums, Totals, fold_answers, ranked, weeks
from scorer.store.rollup import CARD_COLUMNS, month_end, month_start, week_start
from scorer.store.rollup_models import COARSE_TABLES, AgreementDayRow, AnswerDayRow, CardDayRow, QueueDayRow

__all__ = ["agreement_by_week", "breakdown", "criterion_stats", "identity", "review_counts", "totals", "trend",
           "trend_and_breakdowns"]

_DIMENSIONS = ("team", "agent", "channel", "language")


def _base(scope: Scope, version: int, table: Any, *columns: Any, **parts: bool) -> Select[Any]:
    """``SELECT columns FROM table`` for the scope's rubric and version, filtered like ``Scope.base``."""
    query = select(*columns).where(table.rubric_id == scope.filters.rubric, table.version_id == version)
    return scope.where(query, table=table, **parts)


Range = tuple[date | None, date | None]


def _whole(start: date | None, end: date | None, first_of: Callable[[date], date],
           last_of: Callable[[date], date]) -> tuple[Range | None, list[Range]]:
    """The inclusive period as (first, last start) of the whole months or weeks in it, or None, and the day
    ranges left over at either end."""
    first = start if start is None or start == first_of(start) else last_of(start) + timedelta(days=1)
    last = end if end is None or end == last_of(end) else first_of(end) - timedelta(days=1)
    if first is not None and last is not None and first > last:
        return None, [(start, end)]
    days: list[Range] = []
    if start is not None and first is not None and start < first:
        days.append((start, first - timedelta(days=1)))
    if end is not None and last is not None and last < end:
        days.append((last + timedelta(days=1), end))
    return (first, first_of(last) if last else None), days


def _week_end(day: date) -> date:
    return week_start(day) + timedelta(days=6)


def split(start: date | None, end: date | None) -> list[tuple[str, Range]]:
    """The period as pieces ("month", "week" or "day", (first, last start)): its whole calendar months, then the
    whole ISO weeks of what is left at either end, then the days left over."""
    months, rest = _whole(start, end, month_start, month_end)
    out: list[tuple[str, Range]] = [("month", months)] if months is not None else []
    for lo, hi in rest:
        weeks, days = _whole(lo, hi, week_start, _week_end)
        out += [("week", weeks)] if weeks is not None else []
        out += [("day", part) for part in days]
    return out


_DAILY = (AnswerDayRow, AgreementDayRow)


def _pieces(scope: Scope, version: int, which: int, keys: list[str]) -> list[Select[Any]]:
    """``SELECT keys, sum(count) … GROUP BY keys`` over the month, week and day rows of the period's pieces (see
    :func:`split`); the caller adds up their rows. ``which``: 0 answers, 1 agreement (whose coarse rows hold the
    review's week for its day)."""
    out = []
    for level, part in split(scope.start, scope.end):
        table = _DAILY[which] if level == "day" else COARSE_TABLES[level][which]
        columns = [getattr(table, "review_week" if k == "review_day" and level != "day" else k) for k in keys]
        query = _base(scope, version, table, *columns, func.sum(table.count), period=False)
        out.append(query.where(*_within(table, part)).group_by(*columns))
    return out


def _within(table: Any, part: Range) -> list[Any]:
    lo, hi = part
    return [*([table.day >= lo] if lo else []), *([table.day <= hi] if hi else [])]


def _sums() -> list[Any]:
    """conversations, scored, score sum, auto-failed, excluded: what a :class:`Sums` adds."""
    t = CardDayRow
    return [func.sum(t.conversations), func.sum(t.scored), func.sum(t.score_sum), func.sum(t.auto_failed),
            func.sum(t.excluded)]


def totals(session: Session, scope: Scope, version: int) -> Totals:
    row = session.execute(_base(scope, version, CardDayRow,
                                *(func.sum(getattr(CardDayRow, c)) for c in CARD_COLUMNS))).one()
    return Totals.from_sums(dict(zip(CARD_COLUMNS, row, strict=True)))


def trend(session: Session, scope: Scope, version: int, **where: Any) -> list[Bucket]:
    """Weekly buckets (days grouped by the database, in the index's order); ``where`` (agent= or team=) replaces
    the agent filter."""
    query = _base(scope, version, CardDayRow, CardDayRow.day, *_sums(), agent=not where)
    for name, value in where.items():
        column = getattr(CardDayRow, "agent_id" if name == "agent" else name)
        query = query.where(column.is_(None) if value is None else column == value)
    return weeks(list(session.execute(query.group_by(CardDayRow.day))))


_COLUMNS = {"team": CardDayRow.team, "agent": CardDayRow.agent_id, "channel": CardDayRow.channel,
            "language": CardDayRow.language}


def breakdown(session: Session, scope: Scope, version: int, dimension: str) -> list[Bucket]:
    """Buckets per team, agent, channel or language, grouped by the database (an agent's label: its name)."""
    column = _COLUMNS[dimension]
    label = func.max(CardDayRow.agent_name) if dimension == "agent" else func.max(column)
    groups: dict[str, Sums] = defaultdict(Sums)
    for key, name, *sums in session.execute(_base(scope, version, CardDayRow, column, label, *_sums())
                                            .group_by(column)):
        groups[key or UNASSIGNED].add(*sums)
        groups[key or UNASSIGNED].label = name or key or UNASSIGNED
    return ranked(groups)


def trend_and_breakdowns(session: Session, scope: Scope,
                         version: int) -> tuple[list[Bucket], dict[str, list[Bucket]]]:
    """The weekly trend, and the four breakdowns folded from one GROUP BY (team, agent, channel, language) whose
    result has one row per group of conversations (a few hundred, whatever the period)."""
    t = CardDayRow
    keys = [t.team, t.agent_id, t.channel, t.language]
    groups: dict[str, dict[str, Sums]] = {d: defaultdict(Sums) for d in _DIMENSIONS}
    for team, agent, channel, language, name, *sums in session.execute(
            _base(scope, version, t, *keys, func.max(t.agent_name), *_sums()).group_by(*keys)):
        for dim, key, label in (("team", team, team), ("agent", agent, name), ("channel", channel, channel),
                                ("language", language, language)):
            g = groups[dim][key or UNASSIGNED]
            g.add(*sums)
            if label and (g.label is None or label > g.label):  # as breakdown()'s max(agent_name)
                g.label = label
    for by_key in groups.values():
        for key, g in by_key.items():
            g.label = g.label or key
    return trend(session, scope, version), {d: ranked(g) for d, g in groups.items()}


def criterion_stats(session: Session, scope: Scope, version: int) -> list[CriterionStats]:
    assert scope.rubric is not None
    rows: list[Any] = []
    for query in _pieces(scope, version, 0, ["criterion_id", "status", "answer"]):
        rows += session.execute(query)
    return fold_answers(scope.rubric, rows)


def review_counts(session: Session, scope: Scope, version: int) -> dict[str, int]:
    t = QueueDayRow
    rows = session.execute(_base(scope, version, t, t.state, func.sum(t.count)).group_by(t.state))
    return {state: int(count) for state, count in rows if count}


def agreement_by_week(session: Session, scope: Scope, version: int,
                      criterion_id: str | None = None) -> dict[str, list[tuple[date, int, int]]]:
    folded: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for query in _pieces(scope, version, 1, ["criterion_id", "review_day", "kind"]):
        if criterion_id:
            query = query.where(query.selected_columns[0] == criterion_id)
        for cid, d, kind, count in session.execute(query):
            folded[cid][week_of(d)][0 if kind == "confirmed" else 1] += int(count)
    return {cid: [(w, c, x) for w, (c, x) in sorted(by_week.items())] for cid, by_week in folded.items()}


def identity(session: Session, scope: Scope, version: int, agent_id: str) -> list[tuple[str | None, str | None, int]]:
    """(agent name, team, conversations) of ``agent_id`` over all dates, as ``agents.agent_identity`` folds."""
    t = CardDayRow
    query = _base(scope, version, t, t.agent_name, t.team, func.sum(t.conversations), period=False, agent=False,
                  others=False).where(t.agent_id == agent_id).group_by(t.agent_name, t.team)
    counted: Counter[tuple[str | None, str | None]] = Counter()
    for name, team, count in session.execute(query):
        counted[(name, team)] += int(count or 0)
    return [(name, team, count) for (name, team), count in counted.items()]
