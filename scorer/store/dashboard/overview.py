"""The overview's numbers, each computed by the database (GROUP BY over indexed columns); Python only folds the
small grouped results (days into weeks, answers into pass rates by the rubric's scales).

Each function answers from the daily rollups (``rolled``) when the scope allows (``Scope.rollup_version``), else
from the cards and judgements themselves; both give the same numbers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from scorer.store.dashboard import rolled
from scorer.store.dashboard.filters import UNASSIGNED, Scope, day_of, is_excluded, occurred, week_of
from scorer.store.dashboard.results import (
    Bucket,
    CriterionStats,
    Sums,
    Totals,
    categories,
    fold_answers,
    ranked,
    weeks,
)
from scorer.store.models import ConversationRow, JudgementRow, ReviewEventRow, ReviewQueueRow, ScoreCardRow
from scorer.store.rollup import CARD_COLUMNS, card_measures
from scorer.store.standing import effective_answer, effective_status

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
    "trend_and_breakdowns",
]

_SCORED = and_(ScoreCardRow.status != "excluded", ScoreCardRow.score.is_not(None))


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
    """Conversations, excluded, unscored, auto-failed, provisional, average, the 10-point score distribution and
    the model usage of the current cards."""
    if (version := scope.rollup_version) is not None:
        return rolled.totals(session, scope, version)
    row = session.execute(scope.base(*card_measures())).one()
    return Totals.from_sums(dict(zip(CARD_COLUMNS, row, strict=True)))


def trend(session: Session, scope: Scope, **where: Any) -> list[Bucket]:
    """Weekly conversations and average score (days grouped in SQL, folded into ISO weeks here). ``where`` (agent=
    or team=) replaces the agent filter: an agent page compares the agent with the whole team."""
    if (version := scope.rollup_version) is not None:
        return rolled.trend(session, scope, version, **where)
    day = day_of(scope.dialect, occurred()).label("day")
    query = scope.base(day, *_agg_columns(), agent=not where)
    for name, value in where.items():
        column = getattr(ConversationRow, "agent_id" if name == "agent" else name)
        query = query.where(column.is_(None) if value is None else column == value)
    return weeks(list(session.execute(query.group_by(day))))


_DIMENSIONS = {"team": ConversationRow.team, "agent": ConversationRow.agent_id,
               "channel": ConversationRow.channel, "language": ConversationRow.language}


def breakdown(session: Session, scope: Scope, dimension: str) -> list[Bucket]:
    """Conversations and average score per team, agent, channel or language (largest first)."""
    if (version := scope.rollup_version) is not None:
        return rolled.breakdown(session, scope, version, dimension)
    column = _DIMENSIONS[dimension]
    label = func.max(ConversationRow.agent_name) if dimension == "agent" else func.max(column)
    groups: dict[str, Sums] = defaultdict(Sums)
    for key, name, *sums in session.execute(scope.base(column, label, *_agg_columns()).group_by(column)):
        groups[key or UNASSIGNED].add(*sums)
        groups[key or UNASSIGNED].label = name or key or UNASSIGNED
    return ranked(groups)


def trend_and_breakdowns(session: Session, scope: Scope) -> tuple[list[Bucket], dict[str, list[Bucket]]]:
    """The weekly trend and the four breakdowns from one GROUP BY (day, team, agent, channel, language): the
    database groups, Python folds the few thousand groups."""
    if (version := scope.rollup_version) is not None:
        return rolled.trend_and_breakdowns(session, scope, version)
    day = day_of(scope.dialect, occurred()).label("day")
    keys = [day, *_DIMENSIONS.values(), ConversationRow.agent_name]
    rows = session.execute(scope.base(*keys, *_agg_columns()).group_by(*keys)).all()
    days: dict[Any, Sums] = defaultdict(Sums)
    groups: dict[str, dict[str, Sums]] = {d: defaultdict(Sums) for d in _DIMENSIONS}
    for d, team, agent, channel, language, name, *sums in rows:
        days[d].add(*sums)
        for dim, key, label in (("team", team, team), ("agent", agent, name), ("channel", channel, channel),
                                ("language", language, language)):
            g = groups[dim][key or UNASSIGNED]
            g.add(*sums)
            g.label = g.label or label or key or UNASSIGNED
    day_rows = [(d, g.count, g.scored, g.total, g.auto_failed, g.excluded) for d, g in days.items()]
    return weeks(day_rows), {dim: ranked(g) for dim, g in groups.items()}


def criterion_stats(session: Session, scope: Scope) -> list[CriterionStats]:
    """Per criterion of the rubric: answer counts over the current cards (grouped in SQL by criterion and answer;
    a reviewer's standing answer counts over the AI's)."""
    if scope.rubric is None:
        return []
    if (version := scope.rollup_version) is not None:
        return rolled.criterion_stats(session, scope, version)
    status, answer = effective_status(), effective_answer()  # a reviewer's standing answer counts over the AI's
    query = scope.base(JudgementRow.criterion_id, status, answer, func.count()).join(
        JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id).group_by(JudgementRow.criterion_id, status, answer)
    return fold_answers(scope.rubric, session.execute(query).all())


def review_counts(session: Session, scope: Scope) -> dict[str, int]:
    """Routed judgements by review state (queued, pushed, reviewed) over the current cards."""
    if (version := scope.rollup_version) is not None:
        return rolled.review_counts(session, scope, version)
    cards = scope.base(ScoreCardRow.id)  # driven from the (small) queue, probing the current cards
    query = (select(ReviewQueueRow.state, func.count())
             .join(JudgementRow, JudgementRow.id == ReviewQueueRow.judgement_id)
             .where(JudgementRow.score_card_id.in_(cards)).group_by(ReviewQueueRow.state))
    return {state: count for state, count in session.execute(query)}


def agreement_by_week(session: Session, scope: Scope,
                      criterion_id: str | None = None) -> dict[str, list[tuple[date, int, int]]]:
    """Per criterion, per week of the review: (week, confirmed, corrected) from the stored human reviews."""
    if (version := scope.rollup_version) is not None:
        return rolled.agreement_by_week(session, scope, version, criterion_id)
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
