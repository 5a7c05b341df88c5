"""Review sampling the way QA leads do it: N conversations per agent per period, balanced across channels and
outcomes (or any conversation field), plus the lowest and highest CSAT, reproducible with a seed.

Pure selection over :class:`Candidate` rows; :mod:`scorer.store.sampling` reads the candidates and queues the picks.
Reasons on each pick: ``sample:per_agent`` (the balanced quota), ``sample:csat_low``, ``sample:csat_high``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = ["PERIODS", "Candidate", "Pick", "assign_reviewers", "period_key", "sample"]

Period = Literal["day", "week", "month", "all"]
PERIODS: tuple[Period, ...] = ("day", "week", "month", "all")


@dataclass(frozen=True)
class Candidate:
    """A scored conversation that may be sampled, with the fields sampling looks at."""

    conversation_id: str
    agent_id: str | None
    started_at: datetime | None
    csat: float | None
    fields: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Pick:
    """A conversation picked for review, its group and why."""

    conversation_id: str
    agent_id: str
    period: str
    reason: str


def period_key(when: datetime | None, period: Period) -> str:
    """``2026-W49`` (ISO week), ``2026-12-02``, ``2026-12``, ``all``; ``undated`` without a start time."""
    if period == "all":
        return "all"
    if when is None:
        return "undated"
    if period == "day":
        return when.strftime("%Y-%m-%d")
    if period == "month":
        return when.strftime("%Y-%m")
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def _balanced(members: list[Candidate], balance: Sequence[str], n: int, rng: random.Random) -> list[Candidate]:
    """Up to ``n`` members taken round-robin across the strata of the ``balance`` fields (shuffled by ``rng``)."""
    strata: dict[tuple[str, ...], list[Candidate]] = defaultdict(list)
    for c in members:
        strata[tuple(c.fields.get(name, "?") for name in balance)].append(c)
    keys = sorted(strata)
    rng.shuffle(keys)
    for key in keys:
        rng.shuffle(strata[key])
    picked: list[Candidate] = []
    while len(picked) < n and any(strata[k] for k in keys):
        for key in keys:
            if strata[key] and len(picked) < n:
                picked.append(strata[key].pop())
    return picked


def sample(candidates: Sequence[Candidate], *, per_agent: int, period: Period = "week",
           balance: Sequence[str] = (), csat_extremes: int = 0, seed: int = 0) -> list[Pick]:
    """Picks for every (agent, period) group, in a stable order; the same input and seed give the same picks."""
    groups: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for c in sorted(candidates, key=lambda c: c.conversation_id):
        groups[(c.agent_id or "(no agent)", period_key(c.started_at, period))].append(c)
    picks: list[Pick] = []
    for (agent, when), members in sorted(groups.items()):
        rng = random.Random(f"{seed}|{agent}|{when}")
        taken: set[str] = set()
        rated = sorted((c for c in members if c.csat is not None), key=lambda c: (c.csat, c.conversation_id))
        for reason, ordered in (("sample:csat_low", rated), ("sample:csat_high", rated[::-1])):
            for c in [c for c in ordered if c.conversation_id not in taken][:csat_extremes]:
                taken.add(c.conversation_id)
                picks.append(Pick(c.conversation_id, agent, when, reason))
        rest = [c for c in members if c.conversation_id not in taken]
        for c in _balanced(rest, balance, per_agent, rng):
            picks.append(Pick(c.conversation_id, agent, when, "sample:per_agent"))
    return picks


def assign_reviewers(picks: Sequence[Pick], reviewers: Sequence[str]) -> list[str | None]:
    """The reviewer of each pick: the picks dealt to ``reviewers`` in turn, in the picks' order (None for every pick
    without reviewers). Pure, so ``rubricate review sample --dry-run`` shows the assignment queueing would make."""
    return [reviewers[index % len(reviewers)] if reviewers else None for index in range(len(picks))]
