"""The overview's and agent page's numbers read from the daily rollups (``scorer.store.rollup_models``): the same
results as the exact queries in ``overview``, summed over a few thousand (day, group) rows instead of every card
and judgement. Periods are whole UTC days, as the rollups are, so every answer is exact."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from scorer.store.dashboard.filters import UNASSIGNED, Scope, week_of
from scorer.store.dashboard.results import Bucket, CriterionStats, Sums, Totals, fold_answers, ranked, weeks
from scorer.store.rollup import CARD_COLUMNS
from scorer.store.rollup_models import AgreementDayRow, AnswerDayRow, CardDayRow, QueueDayRow

__all__ = ["agreement_by_week", "breakdown", "criterion_stats", "identity", "review_counts", "totals", "trend",
           "trend_and_breakdowns"]

_DIMENSIONS = ("team", "agent", "channel", "language")


def _base(scope: Scope, version: int, table: Any, *columns: Any, **parts: bool) -> Select[Any]:
    """``SELECT columns FROM table`` for the scope's rubric and version, filtered like ``Scope.base``."""
    query = select(*columns).where(table.rubric_id == scope.filters.rubric, table.version_id == version)
    return scope.where(query, table=table, **parts)


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
    """Weekly buckets; ``where`` (agent= or team=) replaces the agent filter."""
    query = _base(scope, version, CardDayRow, CardDayRow.day, *_sums(), agent=not where)
    for name, value in where.items():
        column = getattr(CardDayRow, "agent_id" if name == "agent" else name)
        query = query.where(column.is_(None) if value is None else column == value)
    return weeks(list(session.execute(query.group_by(CardDayRow.day))))


def _grouped(session: Session, scope: Scope, version: int) -> list[Any]:
    t = CardDayRow
    keys = [t.day, t.team, t.agent_id, t.channel, t.language, t.agent_name]
    return list(session.execute(_base(scope, version, t, *keys, *_sums()).group_by(*keys)))


def _fold(rows: list[Any]) -> tuple[dict[Any, Sums], dict[str, dict[str, Sums]]]:
    days: dict[Any, Sums] = defaultdict(Sums)
    groups: dict[str, dict[str, Sums]] = {d: defaultdict(Sums) for d in _DIMENSIONS}
    for d, team, agent, channel, language, name, *sums in rows:
        days[d].add(*sums)
        for dim, key, label in (("team", team, team), ("agent", agent, name), ("channel", channel, channel),
                                ("language", language, language)):
            g = groups[dim][key or UNASSIGNED]
            g.add(*sums)
            if label and (g.label is None or label > g.label):  # as the exact query's max(agent_name)
                g.label = label
    for by_key in groups.values():
        for key, g in by_key.items():
            g.label = g.label or key
    return days, groups


def trend_and_breakdowns(session: Session, scope: Scope,
                         version: int) -> tuple[list[Bucket], dict[str, list[Bucket]]]:
    days, groups = _fold(_grouped(session, scope, version))
    day_rows = [(d, g.count, g.scored, g.total, g.auto_failed, g.excluded) for d, g in days.items()]
    return weeks(day_rows), {dim: ranked(g) for dim, g in groups.items()}


def breakdown(session: Session, scope: Scope, version: int, dimension: str) -> list[Bucket]:
    return ranked(_fold(_grouped(session, scope, version))[1][dimension])


def criterion_stats(session: Session, scope: Scope, version: int) -> list[CriterionStats]:
    assert scope.rubric is not None
    t = AnswerDayRow
    query = _base(scope, version, t, t.criterion_id, t.status, t.answer, func.sum(t.count)).group_by(
        t.criterion_id, t.status, t.answer)
    return fold_answers(scope.rubric, session.execute(query).all())


def review_counts(session: Session, scope: Scope, version: int) -> dict[str, int]:
    t = QueueDayRow
    rows = session.execute(_base(scope, version, t, t.state, func.sum(t.count)).group_by(t.state))
    return {state: int(count) for state, count in rows if count}


def agreement_by_week(session: Session, scope: Scope, version: int,
                      criterion_id: str | None = None) -> dict[str, list[tuple[date, int, int]]]:
    t = AgreementDayRow
    query = _base(scope, version, t, t.criterion_id, t.review_day, t.kind, func.sum(t.count))
    if criterion_id:
        query = query.where(t.criterion_id == criterion_id)
    folded: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for cid, d, kind, count in session.execute(query.group_by(t.criterion_id, t.review_day, t.kind)):
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
