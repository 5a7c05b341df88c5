"""An agent's scorecard: trend against the team, category sub-scores, each criterion's pass rate and its change
since the previous period, and the coaching view (the behaviours most often missed, with quoted examples)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from scorer.store.dashboard import rolled
from scorer.store.dashboard.filters import Scope, occurred
from scorer.store.dashboard.overview import (
    Bucket,
    CriterionStats,
    Totals,
    categories,
    criterion_stats,
    totals,
    trend,
)
from scorer.store.models import ConversationRow, JudgementRow, ScoreCardRow
from scorer.store.standing import effective_answer, effective_status, standing_events
from scorer.types import Evidence, Judgement, Rubric

__all__ = ["AgentCard", "CoachingItem", "Example", "agent_card", "agent_identity"]

EXAMPLES = 3
"""Quoted examples per behaviour to coach."""
COACHED = 3
"""Behaviours shown in the coaching view."""
_WINDOWS = (7, 28, 112)


@dataclass
class Example:
    """A judgement quoted as an example: the conversation, when, the answer, its evidence and rationale."""

    conversation_id: str
    when: datetime | None
    answer: str | None
    evidence: list[Evidence]
    rationale: str


@dataclass
class CoachingItem:
    """A behaviour the agent most often missed, with examples of the miss and one where it was done well."""

    stats: CriterionStats
    missed: list[Example]
    done_well: Example | None


@dataclass
class AgentCard:
    agent_id: str
    name: str | None
    team: str | None
    totals: Totals
    weeks: list[Bucket]
    team_weeks: list[Bucket]
    criteria: list[tuple[CriterionStats, CriterionStats | None]]
    categories: list[tuple[str, float | None, int]]
    coaching: list[CoachingItem] = field(default_factory=list)


def agent_identity(session: Session, scope: Scope, agent_id: str) -> tuple[str | None, str | None] | None:
    """(name, most frequent team) of an agent among the selected rubric's conversations; None if never seen."""
    if (version := scope.rollup_version) is not None:
        return _most_common(rolled.identity(session, scope, version, agent_id))
    rows = session.execute(scope.base(ConversationRow.agent_name, ConversationRow.team, func.count(),
                                      period=False, agent=False, others=False)
                           .where(ConversationRow.agent_id == agent_id)
                           .group_by(ConversationRow.agent_name, ConversationRow.team)).all()
    return _most_common(rows)


def _most_common(rows: Any) -> tuple[str | None, str | None] | None:
    if not rows:
        return None
    names, teams = Counter[str](), Counter[str]()
    for name, team, count in rows:
        if name:
            names[name] += count
        if team:
            teams[team] += count
    return (names.most_common(1)[0][0] if names else None, teams.most_common(1)[0][0] if teams else None)


def _examples(session: Session, scope: Scope, criterion_id: str, answers: list[str], limit: int) -> list[Example]:
    """The newest judgements of the criterion with one of ``answers`` (a reviewer's standing answer counting over
    the AI's, and then quoted with the reviewer's evidence and comment), those quoting evidence first."""
    found: list[Example] = []
    rows = _newest(session, scope, lambda part: part.base(
        JudgementRow.id, JudgementRow.payload, ConversationRow.external_id, occurred()).join(
        JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id).where(
        JudgementRow.criterion_id == criterion_id, effective_status() == "scored",
        effective_answer().in_(answers)).order_by(occurred().desc(), ScoreCardRow.id.desc()), limit * 4)
    reviewed = standing_events(session, [r[0] for r in rows])
    for judgement_id, payload, external_id, when in rows:
        judgement = Judgement.model_validate(payload)
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        example = Example(external_id, when, judgement.answer, judgement.evidence, judgement.rationale)
        if (event := reviewed.get(judgement_id)) is not None:
            ai_stands = event.answer == judgement.answer
            example.answer = event.answer
            example.evidence = [Evidence.model_validate(e) for e in event.evidence] or (
                judgement.evidence if ai_stands else [])
            example.rationale = event.comment or (judgement.rationale if ai_stands else "")
        found.append(example)
    found.sort(key=lambda e: not e.evidence)  # stable: newest with evidence first
    return found[:limit]


def _newest(session: Session, scope: Scope, query: Callable[[Scope], Select[Any]], want: int) -> list[Any]:
    """The first ``want`` rows of ``query`` (ordered newest first), looked for in the last 7, 28 and 112 days of
    the period before the whole of it: a window holding ``want`` rows holds the newest ``want`` of the period, so
    the answer is the same, without reading a long period's every judgement."""
    end = scope.end
    if end is None and scope.filters.agent:
        newest = session.scalar(select(func.max(ConversationRow.started_at)).where(
            ConversationRow.agent_id == scope.filters.agent))
        end = (datetime.fromisoformat(newest) if isinstance(newest, str) else newest).date() if newest else None
    for days in (*_WINDOWS, None):
        start = end - timedelta(days=days - 1) if days and end else None
        if start is None or (scope.start is not None and start <= scope.start):
            return list(session.execute(query(scope).limit(want)))
        rows = list(session.execute(query(scope.with_period(start, scope.end)).limit(want)))
        if len(rows) >= want:
            return rows
    return []  # not reached: the last window is the whole period


def _coaching(session: Session, scope: Scope, rubric: Rubric, stats: list[CriterionStats]) -> list[CoachingItem]:
    missed = sorted((s for s in stats if s.failed), key=lambda s: (-s.failed, s.pass_rate or 0))[:COACHED]
    items = []
    for s in missed:
        scale = rubric.criterion(s.criterion_id).scale
        failing = [a for a in scale.levels if scale.is_failing(a)]
        best = [a for a in scale.levels if scale.points(a) == 1]
        well = _examples(session, scope, s.criterion_id, best, 1)
        items.append(CoachingItem(s, _examples(session, scope, s.criterion_id, failing, EXAMPLES),
                                  well[0] if well else None))
    return items


def agent_card(session: Session, scope: Scope, agent_id: str) -> AgentCard | None:
    """The scorecard of ``agent_id`` over the scope's period (None when the agent has no conversations)."""
    identity = agent_identity(session, scope, agent_id)
    if identity is None or scope.rubric is None:
        return None
    name, team = identity
    mine = scope.with_agent(agent_id)
    now = criterion_stats(session, mine)
    previous = mine.previous()
    before = {s.criterion_id: s for s in criterion_stats(session, previous)} if previous else {}
    team_weeks = trend(session, scope, team=team) if team else []
    return AgentCard(
        agent_id=agent_id, name=name, team=team, totals=totals(session, mine), weeks=trend(session, mine),
        team_weeks=team_weeks, criteria=[(s, before.get(s.criterion_id)) for s in now],
        categories=categories(scope.rubric, now), coaching=_coaching(session, mine, scope.rubric, now))
