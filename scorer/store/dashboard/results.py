"""What the dashboard's aggregates return, and the folding of small grouped results shared by the exact queries
(``overview``) and the rollup reads (``rolled``): days into ISO weeks, groups into ranked buckets, answers into pass
rates by the rubric's scales."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from scorer.store.dashboard.filters import week_of
from scorer.types import Rubric

__all__ = ["Bucket", "CriterionStats", "Sums", "Totals", "categories", "fold_answers", "ranked", "weeks"]


@dataclass
class Totals:
    """Counts of the period. ``unscored``: not excluded, yet without a score (nothing could be judged). Model usage
    sums the cards that recorded one (``usage_cards``); ``cost_usd`` sums those whose price is known
    (``priced_cards``)."""

    conversations: int = 0
    excluded: int = 0
    unscored: int = 0
    scored: int = 0
    auto_failed: int = 0
    provisional: int = 0
    average: float | None = None
    distribution: list[int] = field(default_factory=lambda: [0] * 10)
    usage_cards: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    priced_cards: int = 0
    cost_usd: float = 0.0

    @classmethod
    def from_sums(cls, sums: dict[str, Any]) -> Totals:
        """From the card sums named as the rollup's columns (``conversations``, ``score_sum``, ``b0`` … ``b9``…)."""
        n = {k: (v or 0) for k, v in sums.items()}
        scored = int(n["scored"])
        return cls(int(n["conversations"]), int(n["excluded"]), int(n["unscored"]), scored, int(n["auto_failed"]),
                   int(n["provisional"]), float(n["score_sum"]) / scored if scored else None,
                   [int(n[f"b{i}"]) for i in range(10)], int(n["usage_cards"]), int(n["calls"]),
                   int(n["prompt_tokens"]), int(n["completion_tokens"]), int(n["cached_tokens"]),
                   int(n["priced_cards"]), float(n["cost_usd"]))

    def share(self, part: int) -> float | None:
        return part / self.conversations if self.conversations else None

    @property
    def auto_fail_rate(self) -> float | None:
        return self.auto_failed / self.scored if self.scored else None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost_per_conversation(self) -> float | None:
        """Average cost of a conversation whose cost is known."""
        return self.cost_usd / self.priced_cards if self.priced_cards else None

    @property
    def tokens_per_conversation(self) -> float | None:
        """Average tokens (input + output) of a conversation that made model calls."""
        return self.tokens / self.usage_cards if self.usage_cards else None


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

class Sums:
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

def weeks(rows: list[Any]) -> list[Bucket]:
    """(day, count, scored, total, auto-failed, excluded) rows folded into ISO weeks."""
    weeks: dict[date, Sums] = defaultdict(Sums)
    for d, *sums in rows:
        weeks[week_of(d)].add(*sums)
    return [w.bucket(k.isoformat(), f"{k:%d %b}") for k, w in sorted(weeks.items())]

def ranked(groups: dict[str, Sums]) -> list[Bucket]:
    out = [g.bucket(key, g.label or key) for key, g in groups.items()]
    return sorted(out, key=lambda b: (-b.conversations, b.key))

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
