"""The dashboard's filters and the query every aggregate starts from: one current score card per conversation.

A conversation may have several cards (re-scored transcripts, other judges, other rubric versions); the dashboard
counts the newest card of each conversation among the selected rubric's versions, so a conversation is counted
once. Its date is ``started_at`` (RFC 3339 from the input), or when the input gave none, when it was stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from scorer._errors import RubricateError
from scorer.store.models import ConversationRow, RubricVersionRow, ScoreCardRow
from scorer.store.rollup_models import ALL_VERSIONS
from scorer.types import Rubric

__all__ = ["DEFAULT_DAYS", "UNASSIGNED", "FilterError", "Filters", "Scope", "day_of", "in_period", "is_excluded",
           "occurred", "resolve", "week_of"]

UNASSIGNED = "unassigned"
"""Shown (and accepted as a filter value) for conversations without an agent or team."""
DEFAULT_DAYS = 28
"""Without a date range the dashboard shows the 28 days up to the newest conversation."""
_TEXT_FILTERS = ("team", "agent", "channel", "language", "rubric", "version")


class FilterError(RubricateError):
    """A filter value could not be read (e.g. a malformed date)."""


@dataclass(frozen=True)
class Filters:
    """What the user asked for. ``start``/``end`` are inclusive days; ``all_dates`` drops the default period."""

    start: date | None = None
    end: date | None = None
    all_dates: bool = False
    team: str | None = None
    agent: str | None = None
    channel: str | None = None
    language: str | None = None
    rubric: str | None = None
    version: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filters:
        """Read filters from query parameters; empty values mean "any". ``start=all`` means every date."""
        values: dict[str, Any] = {k: (params.get(k) or "").strip() or None for k in _TEXT_FILTERS}
        raw_start = (params.get("start") or "").strip()
        values["all_dates"] = raw_start == "all"
        values["start"] = None if raw_start in ("", "all") else _day(raw_start, "start")
        values["end"] = _day(params["end"], "end") if (params.get("end") or "").strip() else None
        if values["start"] and values["end"] and values["start"] > values["end"]:
            raise FilterError(f"start={values['start']} is after end={values['end']}: the period would be empty; "
                              "swap the two dates")
        return cls(**values)

    def params(self, **overrides: Any) -> dict[str, str]:
        """The filters as query parameters (for links), with ``overrides``; empty ones left out."""
        data = {k: getattr(self, k) for k in _TEXT_FILTERS}
        data["start"] = "all" if self.all_dates and not self.start else self.start
        data["end"] = self.end
        data.update(overrides)
        return {k: str(v) for k, v in data.items() if v not in (None, "")}


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError as exc:
        raise FilterError(f"{name}={text!r} is not a date; use YYYY-MM-DD") from exc


def occurred() -> ColumnElement[datetime]:
    """When a conversation happened: its ``started_at``, else when it was stored."""
    return func.coalesce(ConversationRow.started_at, ConversationRow.created_at)


def in_period(start: date | None, end: date | None) -> ColumnElement[bool]:
    """``occurred()`` within the inclusive days, written so both branches can use the index on started_at."""
    def within(column: Any) -> ColumnElement[bool]:
        parts = []
        if start:
            parts.append(column >= _utc(start))
        if end:
            parts.append(column < _utc(end + timedelta(days=1)))
        return and_(*parts)

    return or_(within(ConversationRow.started_at),
               and_(ConversationRow.started_at.is_(None), within(ConversationRow.created_at)))


def day_of(dialect: str, column: Any) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in SQL (grouped on by the database, not in Python)."""
    if dialect == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def week_of(day: date | str) -> date:
    """The Monday starting the ISO week of ``day`` (SQLite returns days as text, PostgreSQL as dates)."""
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return value - timedelta(days=value.weekday())


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


@dataclass
class Scope:
    """Resolved filters: the rubric (definition of its newest selected version), its version row ids, the period,
    and the agent a restricted viewer is bound to."""

    filters: Filters
    rubric: Rubric | None
    version_ids: list[int]
    versions: list[str]
    dialect: str
    bound_agent: str | None = None
    exact: bool = False
    """Aggregate the cards and judgements themselves rather than the daily rollups (tests, benchmarks)."""

    @property
    def start(self) -> date | None:
        return self.filters.start

    @property
    def end(self) -> date | None:
        return self.filters.end

    @property
    def period_label(self) -> str:
        """The period in words: ``2026-10-01 – 2026-10-28``, ``from …``, ``until …`` or ``all dates``."""
        if self.start and self.end:
            return f"{self.start} – {self.end}"
        if self.start or self.end:
            return f"from {self.start}" if self.start else f"until {self.end}"
        return "all dates"

    @property
    def rollup_version(self) -> int | None:
        """The rollups' ``version_id`` answering this scope (the version filtered on, or ALL_VERSIONS), or None
        when the numbers must be computed from the cards (no rubric, or ``exact``)."""
        if self.exact or self.rubric is None or not self.version_ids:
            return None
        if not self.filters.version:
            return ALL_VERSIONS
        return self.version_ids[0] if len(self.version_ids) == 1 else None

    def current_card(self) -> Any:
        """Correlated subquery: the newest card id of the outer query's conversation among the selected versions
        (answered from the index on score_cards(conversation_id, rubric_version_id, id, ...))."""
        newer = aliased(ScoreCardRow)
        return (select(func.max(newer.id))
                .where(newer.conversation_id == ConversationRow.id, newer.rubric_version_id.in_(self._ids()))
                .scalar_subquery())

    def _ids(self) -> list[int]:
        return self.version_ids or [-1]

    def where(self, query: Select[Any], *, period: bool = True, agent: bool = True,
              others: bool = True, table: Any = None) -> Select[Any]:
        """Apply the filters to a query that already joins ``ConversationRow`` (and the current cards), or reads
        the rollup ``table``; ``period``, ``agent`` (with the viewer's binding) and ``others`` (team, channel,
        language) can be left out."""
        f = self.filters
        conditions: list[ColumnElement[bool]] = []
        source = table if table is not None else ConversationRow
        for name, column in (("team", source.team), ("channel", source.channel),
                             ("language", source.language), ("agent", source.agent_id)):
            value = getattr(f, name)
            if (name == "agent" and not agent) or (name != "agent" and not others):
                continue
            if value:
                conditions.append(column.is_(None) if value == UNASSIGNED else column == value)
        if self.bound_agent is not None and agent:
            conditions.append(source.agent_id == self.bound_agent)
        if period and table is not None:
            conditions += [table.day >= f.start] if f.start else []
            conditions += [table.day <= f.end] if f.end else []
        elif period and (f.start or f.end):
            conditions.append(in_period(f.start, f.end))
        return query.where(*conditions) if conditions else query

    def base(self, *columns: Any, period: bool = True, agent: bool = True, others: bool = True) -> Select[Any]:
        """``SELECT columns`` over the filtered conversations joined to their current card: the newest card of
        each conversation among the selected rubric's versions, so a conversation counts once."""
        query = (select(*columns).select_from(ConversationRow)
                 .join(ScoreCardRow, and_(ScoreCardRow.conversation_id == ConversationRow.id,
                                          ScoreCardRow.rubric_version_id.in_(self._ids())))
                 .where(ScoreCardRow.id == self.current_card()))
        return self.where(query, period=period, agent=agent, others=others)

    def with_period(self, start: date | None, end: date | None) -> Scope:
        return replace(self, filters=replace(self.filters, start=start, end=end))

    def with_agent(self, agent_id: str) -> Scope:
        return replace(self, filters=replace(self.filters, agent=agent_id))

    def previous(self) -> Scope | None:
        """The period of the same length just before this one (None without a bounded period)."""
        if not (self.start and self.end):
            return None
        length = (self.end - self.start).days + 1
        return self.with_period(self.start - timedelta(days=length), self.start - timedelta(days=1))


def is_excluded() -> ColumnElement[int]:
    return case((ScoreCardRow.status == "excluded", 1), else_=0)


def resolve(session: Session, filters: Filters, *, bound_agent: str | None = None, exact: bool = False) -> Scope:
    """Pick the rubric (default: the one stored most recently), its versions, and the default period. Reading the
    rollups, first bring up to date the groups written since the last read (committed on their own)."""
    if not exact:
        from scorer.store.rollup import settle  # the rollup builder imports this module

        if settle(session):
            session.commit()
    rubric_id = filters.rubric or session.scalar(
        select(RubricVersionRow.rubric_id).order_by(RubricVersionRow.id.desc()).limit(1))
    query = select(RubricVersionRow.id, RubricVersionRow.version, RubricVersionRow.definition).where(
        RubricVersionRow.rubric_id == (rubric_id or ""))
    if filters.version:
        query = query.where(RubricVersionRow.version == filters.version)
    rows = session.execute(query.order_by(RubricVersionRow.id)).all()
    if not rows and rubric_id:
        _unknown(session, rubric_id, filters)
    rubric = Rubric.model_validate(rows[-1].definition) if rows else None
    if rubric is not None and rubric_id != filters.rubric:
        filters = replace(filters, rubric=rubric_id)
    dialect = session.get_bind().dialect.name
    scope = Scope(filters, rubric, [r.id for r in rows], [r.version for r in rows], dialect, bound_agent, exact)
    if not (filters.start or filters.end or filters.all_dates):
        # the newest start of any conversation (an index lookup), or when none has one, the newest stored
        newest = session.scalar(select(func.max(ConversationRow.started_at))) or session.scalar(
            select(func.max(ConversationRow.created_at)))
        if isinstance(newest, str):
            newest = datetime.fromisoformat(newest)
        if newest is not None:
            last = newest.date()
            scope = scope.with_period(last - timedelta(days=DEFAULT_DAYS - 1), last)
    return scope


def _unknown(session: Session, rubric_id: str, filters: Filters) -> None:
    """Say which rubric or version the filters name that is not stored, and what is (rather than an empty page)."""
    versions = list(session.scalars(select(RubricVersionRow.version).where(RubricVersionRow.rubric_id == rubric_id)
                                    .order_by(RubricVersionRow.id.desc()).limit(20)))
    if not versions:
        stored = sorted(set(session.scalars(select(RubricVersionRow.rubric_id).distinct().limit(50))))
        raise FilterError(f"rubric={rubric_id!r} is not stored; stored rubrics: {', '.join(stored) or 'none'}")
    raise FilterError(f"version={filters.version!r} is not a stored version of rubric {rubric_id!r}; its versions, "
                      f"newest first: {', '.join(versions)}")
