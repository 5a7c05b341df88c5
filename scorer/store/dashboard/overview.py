"""The overview's numbers, each computed by the database (GROUP BY over indexed columns); Python only folds the
small grouped results (days into weeks, answers into pass rates by the rubric's scales)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from scorer.store.dashboard.filters import UNASSIGNED, Scope, day_of, is_excluded, occurred, week_of
from scorer.store.models import ConversationRow, JudgementRow, ReviewEventRow, ReviewQueueRow, ScoreCardRow
from scorer.types import Rubric

__all__ = [
    "Bucket",
    "CriterionStats",
    "Overview",
    "Totals",
    "agreement_by_week",
    "breakdown",
    "categories",
    "criterion_stats",
    "fold_answers",
    "overview",
    "review_counts",
    "totals",
    "trend",
]

_SCORED = and_(ScoreCardRow.status != "excluded", ScoreCardRow.score.is_not(None))


@dataclass
class Totals:
    """Counts of the period. ``unscored``: not excluded, yet without a score (nothing could be judged)."""

    conversations: int = 0
    excluded: int = 0
    unscored: int = 0
    scored: int = 0
    auto_failed: int = 0
    provisional: int = 0
    average: float | None = None
    distribution: list[int] = field(default_factory=lambda: [0] * 10)

    def share(self, part: int) -> float | None:
        return part / self.conversations if self.conversations else None

    @property
    def auto_fail_rate(self) -> float | None:
        return self.auto_failed / self.scored if self.scored else None


@dataclass
class Bucket:
    """One row of a breakdown or one point of a trend: the key, its label, conversations, average score."""

    key: str
    label: str
    conversations: int
    scored: int
    average: float | None
    auto_failed: int = 0
    excluded: int = 0


@dataclass
class CriterionStats:
    """Answers of one criterion over the period: pass/fail/na/unscored counts and the pass rate among scored."""

    criterion_id: str
    category: str
    question: str
    passed: int = 0
    failed: int = 0
    middle: int = 0
    na: int = 0
    unscored: int = 0
    points: float = 0.0

    @property
    def judged(self) -> int:
        return self.passed + self.failed + self.middle

    @property
    def pass_rate(self) -> float | None:
        return (self.judged - self.failed) / self.judged if self.judged else None

    @property
    def mean_points(self) -> float | None:
        return self.points / self.judged if self.judged else None


@dataclass
class Overview:
    totals: Totals
    weeks: list[Bucket]
    breakdowns: dict[str, list[Bucket]]
    criteria: list[CriterionStats]
    categories: list[tuple[str, float | None, int]]
    reviews: dict[str, int]
    agreement: dict[str, list[tuple[date, int, int]]]


def _agg_columns() -> list[Any]:
    """count, scored, sum of scores, auto-failed, excluded."""
    return [func.count(), func.sum(case((_SCORED, 1), else_=0)), func.sum(case((_SCORED, ScoreCardRow.score))),
            func.sum(case((and_(_SCORED, ScoreCardRow.auto_failed.is_(True)), 1), else_=0)),
            func.sum(is_excluded())]


def totals(session: Session, scope: Scope) -> Totals:
    """Conversations, excluded, unscored, auto-failed, provisional, average and the 10-point score distribution."""
    bins = [func.sum(case((and_(_SCORED, ScoreCardRow.score >= 10 * i,
                                ScoreCardRow.score < (10 * i + 10 if i < 9 else 101)), 1), else_=0))
            for i in range(10)]
    row = session.execute(scope.base(
        *_agg_columns(),
        func.sum(case((and_(ScoreCardRow.status != "excluded", ScoreCardRow.score.is_(None)), 1), else_=0)),
        func.sum(case((and_(_SCORED, ScoreCardRow.provisional.is_(True)), 1), else_=0)), *bins)).one()
    count, scored, total, auto_failed, excluded, unscored, provisional, *dist = row
    return Totals(count or 0, excluded or 0, unscored or 0, scored or 0, auto_failed or 0, provisional or 0,
                  float(total) / scored if scored else None, [int(d or 0) for d in dist])


class _Sums:
    """Running sums of one group: conversations, scored, score total, auto-failed, excluded."""

    def __init__(self) -> None:
        self.count = self.scored = self.auto_failed = self.excluded = 0
        self.total = 0.0
        self.label: str | None = None

    def add(self, count: int, scored: int | None, total: float | None, auto_failed: int | None,
            excluded: int | None) -> None:
        self.count += count
        self.scored += scored or 0
        self.total += float(total or 0)
        self.auto_failed += auto_failed or 0
        self.excluded += excluded or 0

    def bucket(self, key: str, label: str) -> Bucket:
        return Bucket(key, label, self.count, self.scored, self.total / self.scored if self.scored else None,
                      self.auto_failed, self.excluded)


def _weeks(rows: list[Any]) -> list[Bucket]:
    """(day, count, scored, total, auto-failed, excluded) rows folded into ISO weeks."""
    weeks: dict[date, _Sums] = defaultdict(_Sums)
    for d, *sums in rows:
        weeks[week_of(d)].add(*sums)
    return [w.bucket(k.isoformat(), f"{k:%d %b}") for k, w in sorted(weeks.items())]


def trend(session: Session, scope: Scope, **where: Any) -> list[Bucket]:
    """Weekly conversations and average score (days grouped in SQL, folded into ISO weeks here). ``where`` (agent=
    or team=) replaces the agent filter: an agent page compares the agent with the whole team."""
    day = day_of(scope.dialect, occurred()).label("day")
    query = scope.base(day, *_agg_columns(), agent=not where)
    for name, value in where.items():
        column = getattr(ConversationRow, "agent_id" if name == "agent" else name)
        query = query.where(column.is_(None) if value is None else column == value)
    return _weeks(list(session.execute(query.group_by(day))))


_DIMENSIONS = {"team": ConversationRow.team, "agent": ConversationRow.agent_id,
               "channel": ConversationRow.channel, "language": ConversationRow.language}


def _ranked(groups: dict[str, _Sums]) -> list[Bucket]:
    out = [g.bucket(key, g.label or key) for key, g in groups.items()]
    return sorted(out, key=lambda b: (-b.conversations, b.key))


def breakdown(session: Session, scope: Scope, dimension: str) -> list[Bucket]:
    """Conversations and average score per team, agent, channel or language (largest first)."""
    column = _DIMENSIONS[dimension]
    label = func.max(ConversationRow.agent_name) if dimension == "agent" else func.max(column)
    groups: dict[str, _Sums] = defaultdict(_Sums)
    for key, name, *sums in session.execute(scope.base(column, label, *_agg_columns()).group_by(column)):
        groups[key or UNASSIGNED].add(*sums)
        groups[key or UNASSIGNED].label = name or key or UNASSIGNED
    return _ranked(groups)


def trend_and_breakdowns(session: Session, scope: Scope) -> tuple[list[Bucket], dict[str, list[Bucket]]]:
    """The weekly trend and the four breakdowns from one GROUP BY (day, team, agent, channel, language): the
    database groups, Python folds the few thousand groups."""
    day = day_of(scope.dialect, occurred()).label("day")
    keys = [day, *_DIMENSIONS.values(), ConversationRow.agent_name]
    rows = session.execute(scope.base(*keys, *_agg_columns()).group_by(*keys)).all()
    days: dict[Any, _Sums] = defaultdict(_Sums)
    groups: dict[str, dict[str, _Sums]] = {d: defaultdict(_Sums) for d in _DIMENSIONS}
    for d, team, agent, channel, language, name, *sums in rows:
        days[d].add(*sums)
        for dim, key, label in (("team", team, team), ("agent", agent, name), ("channel", channel, channel),
                                ("language", language, language)):
            g = groups[dim][key or UNASSIGNED]
            g.add(*sums)
            g.label = g.label or label or key or UNASSIGNED
    day_rows = [(d, g.count, g.scored, g.total, g.auto_failed, g.excluded) for d, g in days.items()]
    return _weeks(day_rows), {dim: _ranked(g) for dim, g in groups.items()}


def criterion_stats(session: Session, scope: Scope) -> list[CriterionStats]:
    """Per criterion of the rubric: answer counts over the current cards (grouped in SQL by criterion and answer)."""
    if scope.rubric is None:
        return []
    query = scope.base(JudgementRow.criterion_id, JudgementRow.status, JudgementRow.answer, func.count()).join(
        JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id).group_by(
        JudgementRow.criterion_id, JudgementRow.status, JudgementRow.answer)
    return fold_answers(scope.rubric, session.execute(query).all())


def fold_answers(rubric: Rubric, rows: Iterable[Any]) -> list[CriterionStats]:
    """(criterion, status, answer, count) rows into per-criterion stats, in the rubric's order."""
    stats = {c.id: CriterionStats(c.id, c.category, c.question) for c in rubric.criteria}
    for criterion_id, status, answer, count in rows:
        s = stats.get(criterion_id)
        if s is None:
            continue
        criterion = rubric.criterion(criterion_id)
        if status != "scored" or answer is None or answer not in criterion.answers:
            s.unscored += count
            continue
        points = criterion.scale.points(answer)
        if points is None:
            s.na += count
        elif criterion.scale.is_failing(answer):
            s.failed += count
        elif points >= 1:
            s.passed += count
        else:
            s.middle += count
        s.points += (points or 0) * count
    return list(stats.values())


def categories(rubric: Rubric | None, stats: list[CriterionStats]) -> list[tuple[str, float | None, int]]:
    """(category, score 0-100 pooled over the period by the criteria's weights, judged answers) per category."""
    if rubric is None:
        return []
    pooled: dict[str, list[float]] = {}
    for s in stats:
        weight = rubric.criterion(s.criterion_id).weight
        p = pooled.setdefault(s.category, [0.0, 0.0, 0])
        p[0] += weight * s.points
        p[1] += weight * s.judged
        p[2] += s.judged
    return [(name, 100 * e / w if w else None, int(n)) for name, (e, w, n) in pooled.items()]


def review_counts(session: Session, scope: Scope) -> dict[str, int]:
    """Routed judgements by review state (queued, pushed, reviewed) over the current cards."""
    cards = scope.base(ScoreCardRow.id)  # driven from the (small) queue, probing the current cards
    query = (select(ReviewQueueRow.state, func.count())
             .join(JudgementRow, JudgementRow.id == ReviewQueueRow.judgement_id)
             .where(JudgementRow.score_card_id.in_(cards)).group_by(ReviewQueueRow.state))
    return {state: count for state, count in session.execute(query)}


def agreement_by_week(session: Session, scope: Scope,
                      criterion_id: str | None = None) -> dict[str, list[tuple[date, int, int]]]:
    """Per criterion, per week of the review: (week, confirmed, corrected) from the stored human reviews."""
    day = day_of(scope.dialect, ReviewEventRow.created_at).label("day")
    cards = scope.base(ScoreCardRow.id)  # driven from the human events (index on kind), probing the current cards
    query = (select(ReviewEventRow.criterion_id, day, ReviewEventRow.kind, func.count())
             .join(JudgementRow, JudgementRow.id == ReviewEventRow.judgement_id)
             .where(ReviewEventRow.kind.in_(("confirmed", "corrected")), ReviewEventRow.superseded.is_(False),
                    JudgementRow.score_card_id.in_(cards)))
    if criterion_id:
        query = query.where(ReviewEventRow.criterion_id == criterion_id)
    folded: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for cid, d, kind, count in session.execute(query.group_by(ReviewEventRow.criterion_id, day,
                                                              ReviewEventRow.kind)):
        folded[cid][week_of(d)][0 if kind == "confirmed" else 1] += count
    return {cid: [(w, c, x) for w, (c, x) in sorted(weeks.items())] for cid, weeks in folded.items()}


def overview(session: Session, scope: Scope) -> Overview:
    """Everything the overview page shows for ``scope``."""
    stats = criterion_stats(session, scope)
    weeks, breakdowns = trend_and_breakdowns(session, scope)
    return Overview(
        totals=totals(session, scope), weeks=weeks, breakdowns=breakdowns,
        criteria=stats, categories=categories(scope.rubric, stats), reviews=review_counts(session, scope),
        agreement=agreement_by_week(session, scope))
