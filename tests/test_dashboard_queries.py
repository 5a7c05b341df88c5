"""The dashboard's SQL aggregates against the same numbers computed here, independently, from the stored rows
(plain SELECTs of the tables, the newest card per conversation picked in Python), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scorer.store import Store
from scorer.store.dashboard.agents import agent_card
from scorer.store.dashboard.filters import Filters, resolve, week_of
from scorer.store.dashboard.listing import ListQuery, iter_rows, list_page
from scorer.store.dashboard.overview import (
    breakdown,
    criterion_stats,
    review_counts,
    totals,
    trend,
    trend_and_breakdowns,
)
from scorer.store.models import ConversationRow, JudgementRow, ReviewEventRow, ReviewQueueRow, ScoreCardRow
from scorer.types import Rubric
from tests._dashboard_data import seed
from tests._pg import fresh_postgres_url
from tests._standing import counted


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Rubric]]:
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path_factory.mktemp('dash') / 'd.db'}")
        yield store, seed(store)
        store.close()
        return
    urls = fresh_postgres_url()
    url = next(urls)
    store = Store(url)
    try:
        yield store, seed(store)
    finally:
        store.close()
        next(urls, None)


@dataclass
class Raw:
    """One conversation's current card as read back plainly: the fields the dashboard aggregates."""

    external_id: str
    when: datetime
    agent: str | None
    team: str | None
    channel: str
    language: str | None
    score: float | None
    status: str
    auto_failed: bool
    card_id: int


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def current(store: Store) -> list[Raw]:
    """The newest card of each conversation, chosen in Python from every stored row."""
    with store.session() as s:
        conversations = {c.id: c for c in s.scalars(select(ConversationRow))}
        newest: dict[int, ScoreCardRow] = {}
        for card in s.scalars(select(ScoreCardRow)):
            if card.conversation_id not in newest or card.id > newest[card.conversation_id].id:
                newest[card.conversation_id] = card
        out = []
        for cid, card in newest.items():
            c = conversations[cid]
            out.append(Raw(c.external_id, _utc(c.started_at or c.created_at), c.agent_id, c.team, c.channel,
                           c.language, card.score, card.status, card.auto_failed, card.id))
    return out


def in_period(rows: list[Raw], start: date, end: date) -> list[Raw]:
    return [r for r in rows if start <= r.when.date() <= end]


def scope_of(store: Store, **filters: Any) -> Any:
    with store.session() as s:
        return resolve(s, Filters(**filters))


def test_default_period_is_the_28_days_up_to_the_newest_conversation(seeded: tuple[Store, Rubric]) -> None:
    store, _ = seeded
    rows = current(store)
    scope = scope_of(store)
    newest = max(r.when for r in rows).date()
    assert (scope.start, scope.end) == (newest - timedelta(days=27), newest)


@pytest.mark.parametrize("filters", [{}, {"team": "Tech"}, {"agent": "A-1"}, {"language": "zh"},
                                     {"channel": "call", "team": "Billing"}, {"team": "unassigned"}])
def test_totals_and_breakdowns_match_the_rows(seeded: tuple[Store, Rubric], filters: dict[str, str]) -> None:
    store, _ = seeded
    start, end = date(2026, 10, 8), date(2026, 10, 30)
    scope = scope_of(store, start=start, end=end, **filters)
    names = {"agent": "agent", "team": "team", "language": "language", "channel": "channel"}
    rows = [r for r in in_period(current(store), start, end)
            if all((getattr(r, names[k]) or "unassigned") == v for k, v in filters.items())]
    assert rows or filters, "the seed must put conversations in the period"
    scored = [r for r in rows if r.status != "excluded" and r.score is not None]
    with store.session() as s:
        t = totals(s, scope)
        assert t.conversations == len(rows)
        assert t.excluded == sum(r.status == "excluded" for r in rows)
        assert t.scored == len(scored)
        assert t.auto_failed == sum(r.auto_failed for r in scored)
        assert t.average == pytest.approx(sum(r.score for r in scored) / len(scored) if scored else None)  # type: ignore[misc]
        expected_bins = Counter(min(int(r.score // 10), 9) for r in scored)  # type: ignore[operator]
        assert t.distribution == [expected_bins.get(i, 0) for i in range(10)]
        weeks, breakdowns = trend_and_breakdowns(s, scope)
        assert sum(w.conversations for w in weeks) == len(rows)
        for dim in ("team", "agent", "channel", "language"):
            single = breakdown(s, scope, dim)  # the one-dimension query agrees with the combined one
            assert [(b.key, b.conversations, b.scored) for b in single] == \
                [(b.key, b.conversations, b.scored) for b in breakdowns[dim]]
            assert [b.average for b in single] == pytest.approx([b.average for b in breakdowns[dim]])
            got = {b.key: (b.conversations, b.scored, b.average) for b in breakdowns[dim]}
            groups: dict[str, list[Raw]] = defaultdict(list)
            for r in rows:
                groups[getattr(r, dim) or "unassigned"].append(r)
            assert set(got) == set(groups), dim
            for key, members in groups.items():
                ok = [m.score for m in members if m.status != "excluded" and m.score is not None]
                assert got[key][:2] == (len(members), len(ok)), (dim, key)
                assert got[key][2] == pytest.approx(sum(ok) / len(ok) if ok else None), (dim, key)  # type: ignore[arg-type]


def test_weekly_trend_matches_the_rows(seeded: tuple[Store, Rubric]) -> None:
    store, _ = seeded
    scope = scope_of(store, all_dates=True)
    rows = current(store)
    weeks: dict[date, list[Raw]] = defaultdict(list)
    for r in rows:
        weeks[week_of(r.when.date())].append(r)
    with store.session() as s:
        got = trend(s, scope)
    assert [b.key for b in got] == [w.isoformat() for w in sorted(weeks)]
    assert len(got) >= 4, "the seed spans several weeks"
    for bucket in got:
        members = weeks[date.fromisoformat(bucket.key)]
        ok = [m.score for m in members if m.status != "excluded" and m.score is not None]
        assert bucket.conversations == len(members)
        assert bucket.average == pytest.approx(sum(ok) / len(ok) if ok else None)  # type: ignore[arg-type]


def test_criterion_answers_and_reviews_match_the_rows(seeded: tuple[Store, Rubric]) -> None:
    store, rubric = seeded
    scope = scope_of(store, all_dates=True, team="Tech")
    cards = {r.card_id for r in current(store) if r.team == "Tech"}
    with store.session() as s:
        judgements = [j for j in s.scalars(select(JudgementRow)) if j.score_card_id in cards]
        queue = [q for q in s.scalars(select(ReviewQueueRow)) if q.judgement_id in {j.id for j in judgements}]
        stats = {c.criterion_id: c for c in criterion_stats(s, scope)}
        reviews = review_counts(s, scope)
        events = list(s.scalars(select(ReviewEventRow).where(ReviewEventRow.kind.in_(("confirmed", "corrected")))))
    assert judgements and queue and events
    answers = counted(store)
    assert any(answers[j.id] != (j.status, j.answer) for j in judgements), "the seed corrects some answers"
    for criterion in rubric.criteria:
        mine = [answers[j.id] for j in judgements if j.criterion_id == criterion.id]
        scored = [a for status, a in mine if status == "scored"]
        failed = [a for a in scored if criterion.scale.is_failing(a or "")]
        na = [a for a in scored if a == "na"]
        got = stats[criterion.id]
        assert (got.failed, got.na, got.unscored) == (len(failed), len(na), len(mine) - len(scored))
        assert got.judged == len(scored) - len(na)
    assert reviews == dict(Counter(q.state for q in queue))


def test_agent_card_compares_with_the_previous_period(seeded: tuple[Store, Rubric]) -> None:
    store, rubric = seeded
    start, end = date(2026, 10, 19), date(2026, 11, 1)
    scope = scope_of(store, start=start, end=end)
    rows = current(store)
    with store.session() as s:
        card = agent_card(s, scope, "A-3")
        judgements = list(s.scalars(select(JudgementRow)))
    assert card is not None and card.team == "Tech" and card.name == "Chen Wei"
    counts = counted(store)

    def pass_rate(period: list[Raw], criterion_id: str) -> float | None:
        ids = {r.card_id for r in period if r.agent == "A-3"}
        scale = rubric.criterion(criterion_id).scale
        answers = [counts[j.id][1] for j in judgements if j.score_card_id in ids and j.criterion_id == criterion_id
                   and counts[j.id][0] == "scored" and counts[j.id][1] != "na"]
        return sum(not scale.is_failing(a or "") for a in answers) / len(answers) if answers else None

    previous = in_period(rows, start - timedelta(days=14), start - timedelta(days=1))
    for now, before in card.criteria:
        assert now.pass_rate == pytest.approx(pass_rate(in_period(rows, start, end), now.criterion_id))
        assert (before.pass_rate if before else None) == pytest.approx(pass_rate(previous, now.criterion_id))
    assert card.totals.conversations == sum(r.agent == "A-3" for r in in_period(rows, start, end))
    missed = [c for c in card.coaching]
    assert missed and all(item.missed for item in missed)
    for item in missed:
        for example in item.missed:
            assert example.answer is not None and rubric.criterion(item.stats.criterion_id).scale.is_failing(
                example.answer)


def test_list_pages_sorts_and_filters_like_the_rows(seeded: tuple[Store, Rubric]) -> None:
    store, _ = seeded
    scope = scope_of(store, all_dates=True, language="en")
    rows = [r for r in current(store) if r.language == "en"]
    with store.session() as s:
        page1, total = list_page(s, scope, ListQuery(sort="score", desc=False, page=1, page_size=5))
        everything = list(iter_rows(s, scope, ListQuery(sort="score", desc=False)))
        failed, n_failed = list_page(s, scope, ListQuery(status="auto_failed"))
        excluded, _ = list_page(s, scope_of(store, all_dates=True), ListQuery(status="excluded"))
    assert total == len(rows) == len(everything)
    scores = [r.score for r in everything if r.score is not None]
    assert scores == sorted(scores)
    assert [r.conversation_id for r in page1] == [r.conversation_id for r in everything[:5]]
    assert n_failed == sum(r.auto_failed and r.status != "excluded" for r in rows)
    assert {r.conversation_id for r in failed} <= {r.external_id for r in rows if r.auto_failed}
    assert [r.conversation_id for r in excluded] == [r.external_id for r in current(store) if r.status == "excluded"]
    assert [r.excluded_reason for r in excluded] == ["too_short"]  # read from the card's payload in SQL
    assert all((r.excluded_reason is None) == (r.status != "excluded") for r in everything)  # only excluded carry one


def test_agent_binding_limits_every_number(seeded: tuple[Store, Rubric]) -> None:
    store, _ = seeded
    with store.session() as s:
        scope = resolve(s, Filters(all_dates=True, agent="A-2"), bound_agent="A-1")
        assert totals(s, scope).conversations == 0  # asking for another agent gives nothing, not their numbers
        own = resolve(s, Filters(all_dates=True), bound_agent="A-1")
        assert totals(s, own).conversations == sum(r.agent == "A-1" for r in current(store))
        assert {b.key for b in breakdown(s, own, "agent")} == {"A-1"}


def test_unknown_rubric_gives_empty_numbers(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    with store.session() as s:
        scope = resolve(s, Filters())
        assert scope.rubric is None and totals(s, scope).conversations == 0


def test_filter_choices_are_the_distinct_values_of_the_rows(seeded: tuple[Store, Rubric]) -> None:
    from scorer.store.dashboard.choices import choices, distinct_values
    from scorer.store.dashboard.filters import UNASSIGNED

    store, _ = seeded
    with store.session() as s:
        rows = s.execute(select(ConversationRow.team, ConversationRow.agent_id, ConversationRow.channel,
                                ConversationRow.language)).all()
        for i, field in enumerate(("team", "agent", "channel", "language")):
            present = {r[i] for r in rows}
            expected = sorted(v for v in present if v is not None) + ([None] if None in present else [])
            assert distinct_values(s, field) == expected
            capped = distinct_values(s, field, limit=2)  # the cap counts values; a missing one is still said
            assert capped == [v for v in expected if v is not None][:2] + ([None] if None in present else [])
        offered = choices(s, resolve(s, Filters()))
        assert (UNASSIGNED in offered["agent"]) == any(r[1] is None for r in rows)
        agent = next(r[1] for r in rows if r[1] is not None)
        mine = choices(s, resolve(s, Filters(), bound_agent=agent))
        assert mine["agent"] == [agent]
        assert set(mine["team"]) == {r[0] or UNASSIGNED for r in rows if r[1] == agent}
