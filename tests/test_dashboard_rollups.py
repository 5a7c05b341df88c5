"""The dashboard's daily rollups stay equal to a computation from scratch after every kind of write (a card saved,
re-scored, moved to another agent or day, reviewed, disputed, deleted), on SQLite and PostgreSQL; the pages' numbers
read from them equal the exact queries over the cards; migration 0007 fills them; `rubricate db rebuild-rollups`
repairs them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, inspect, select
from typer.testing import CliRunner

from cli import build_app
from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.routing import RoutingPolicy
from scorer.rubric import load_rubric
from scorer.store import Store
from scorer.store.dashboard.filters import Filters, resolve
from scorer.store.dashboard.overview import overview
from scorer.store.dashboard.rolled import split
from scorer.store.disputes import open_dispute, resolve_disputes
from scorer.store.engine import alembic_config, upgrade
from scorer.store.models import ConversationRow, JudgementRow, ReviewQueueRow, RubricVersionRow, ScoreCardRow
from scorer.store.reviews import enqueue_routed, mark_pushed, record_review
from scorer.store.rollup import month_end, rebuild, settle
from scorer.store.rollup_models import ROLLUP_TABLES, CardDayRow
from scorer.types import Conversation, Review, Rubric, ScoreCard
from scorer.usage import Usage
from tests._dashboard_data import RUBRIC, conversation
from tests._pg import store_on
from tests._standing import counted_answers

POLICY = RoutingPolicy(threshold=0.8, audit_rate=0.0)
D = date
FILTERS = [Filters(all_dates=True), Filters(team="Tech", all_dates=True), Filters(agent="unassigned", all_dates=True),
           Filters(start=D(2026, 10, 6), end=D(2026, 10, 9), language="zh"), Filters(),
           Filters(start=D(2026, 10, 7), end=D(2026, 11, 10)), Filters(start=D(2026, 10, 1), end=D(2026, 11, 30)),
           Filters(end=D(2026, 11, 3)), Filters(start=D(2026, 10, 6), agent="A-1")]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from store_on(request.param, tmp_path)


def rollup_rows(connection: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row (ids left out, floats rounded), sorted, per table."""
    out = {}
    for table in ROLLUP_TABLES:
        columns = [c for c in table.__table__.columns if c.name != "id"]
        rows = connection.execute(select(*columns)).all()
        out[table.__tablename__] = sorted(tuple(round(v, 6) if isinstance(v, float) else str(v) for v in r)
                                          for r in rows)
    return out


def numbers(store: Store, filters: Filters, exact: bool) -> dict[str, Any]:
    with store.session() as s:
        o = overview(s, resolve(s, filters, exact=exact))
    t = o.totals
    return {"totals": (t.conversations, t.excluded, t.unscored, t.scored, t.auto_failed, t.provisional,
                       None if t.average is None else round(t.average, 6), t.distribution, t.usage_cards, t.calls,
                       t.prompt_tokens, t.completion_tokens, t.cached_tokens, t.priced_cards, round(t.cost_usd, 9)),
            "weeks": [(b.key, b.conversations, b.scored, b.auto_failed, b.excluded,
                       None if b.average is None else round(b.average, 6)) for b in o.weeks],
            "breakdowns": {d: [(b.key, b.conversations, b.scored, None if b.average is None else round(b.average, 6))
                               for b in bs] for d, bs in o.breakdowns.items()},
            "criteria": [(c.criterion_id, c.passed, c.failed, c.middle, c.na, c.unscored, round(c.points, 6))
                         for c in o.criteria],
            "reviews": o.reviews, "agreement": o.agreement}


def assert_consistent(store: Store) -> None:
    """The rollups equal a rebuild from scratch (computed in a transaction rolled back), and the overview read from
    them equals the exact queries, for several filters. Writes only mark their groups; a dashboard read settles
    them first, as this does."""
    with store.session() as s:
        settle(s)
    with store.engine.connect() as conn:
        transaction = conn.begin()
        kept = rollup_rows(conn)
        rebuild(conn)
        fresh = rollup_rows(conn)
        transaction.rollback()
    assert kept == fresh
    with store.session() as s:
        versions = list(s.scalars(select(RubricVersionRow.version)))
    for filters in [*FILTERS, *(Filters(all_dates=True, version=v) for v in versions)]:
        assert numbers(store, filters, exact=False) == numbers(store, filters, exact=True), filters
    assert [c[:6] for c in numbers(store, Filters(all_dates=True), exact=False)["criteria"]] == counted_answers(store)


def newest_judgements(store: Store, external_id: str) -> list[JudgementRow]:
    with store.session() as s:
        card = s.scalar(select(ScoreCardRow.id).join(ConversationRow).where(ConversationRow.external_id == external_id)
                        .order_by(ScoreCardRow.id.desc()).limit(1))
        return list(s.scalars(select(JudgementRow).where(JudgementRow.score_card_id == card)))


def review(store: Store, judgement: JudgementRow, conv: str, kind: str, answer: str | None, external: str,
           rubric: Rubric) -> None:
    record_review(store, judgement.id, Review(
        conversation_id=conv, criterion_id=judgement.criterion_id, rubric_version=rubric.version,
        kind=kind, answer=answer, reviewer="rev", source="label_studio", external_id=external),  # type: ignore[arg-type]
        external_version=f"v-{kind}")


def other_answer(rubric: Rubric, judgement: JudgementRow) -> str:
    return next(a for a in rubric.criterion(judgement.criterion_id).answers if a != judgement.answer)


def moved(c: Conversation, **fields: Any) -> Conversation:
    return Conversation.model_validate(c.model_dump(mode="json") | fields)


def test_every_write_path_keeps_the_rollups_equal_to_a_rebuild(store: Store) -> None:
    rubric = load_rubric(RUBRIC)
    for i in (*range(7), 40, 47):  # saved (October and November)
        score_conversation(conversation(i), rubric, FakeJudge(), store=store, policy=POLICY)
    with store.session() as s:
        settle(s)  # what a dashboard read does first
        assert s.scalar(select(CardDayRow.id).limit(1)) is not None, "saving cards fills the rollups"
    assert_consistent(store)
    score_conversation(conversation(1), rubric, FakeJudge("yes"), store=store, policy=POLICY)  # re-scored
    changed = conversation(2)
    changed.turns[0].text += " And again."
    score_conversation(changed, rubric, FakeJudge(), store=store, policy=POLICY)  # new transcript, new card
    store.save_conversation(moved(conversation(3), agent_id="A-9", team="Tech",  # another agent and day
                                  started_at=(datetime(2026, 11, 20, 23, 30, tzinfo=UTC)).isoformat()))
    store.save_conversation(moved(conversation(12), agent_id=None, agent_name=None, team=None))
    assert_consistent(store)
    enqueue_routed(store, rubric.id, rubric.version)
    with store.session() as s:
        queue = list(s.scalars(select(ReviewQueueRow).order_by(ReviewQueueRow.id)))
    assert queue
    mark_pushed(store, [q.id for q in queue[:2]], project_id=1, task_id=7)
    assert_consistent(store)
    j0, j4 = newest_judgements(store, "conv-000"), newest_judgements(store, "conv-004")
    review(store, j0[0], "conv-000", "confirmed", j0[0].answer, "a", rubric)
    review(store, j0[1], "conv-000", "corrected", other_answer(rubric, j0[1]), "b", rubric)
    review(store, j4[2], "conv-004", "corrected", other_answer(rubric, j4[2]), "c", rubric)
    assert_consistent(store)
    review(store, j4[2], "conv-004", "deleted", None, "c", rubric)  # the annotation was deleted
    assert_consistent(store)
    agent = conversation(5).agent_id
    target = newest_judgements(store, "conv-005")[0]
    open_dispute(store, "conv-005", target.criterion_id, "I did greet", agent_id=agent)
    assert_consistent(store)
    review(store, target, "conv-005", "corrected", other_answer(rubric, target), "d", rubric)
    assert resolve_disputes(store, rubric), "the dispute is decided"
    assert_consistent(store)
    excluded = conversation(6)
    store.save_score_card(excluded, rubric, ScoreCard(
        conversation_id=excluded.id, rubric_id=rubric.id, rubric_version=rubric.version, judge="eligibility",
        score=None, status="excluded", excluded_reason="too_short", judgements=[]))
    assert_consistent(store)
    assert store.delete_score_card(excluded, rubric, "eligibility")  # deleted
    assert_consistent(store)
    newer = rubric.model_copy(update={"version": "2.0"})  # another version: ALL_VERSIONS differs from 1.0's rows
    score_conversation(conversation(0), newer, FakeJudge("yes"), store=store, policy=POLICY)
    assert_consistent(store)


def test_model_usage_is_summed_on_the_overview(store: Store) -> None:
    rubric = load_rubric(RUBRIC)
    spent = [Usage(calls=2, prompt_tokens=900, completion_tokens=60, cached_tokens=500, cost_usd=0.0125),
             Usage(calls=1, prompt_tokens=400, completion_tokens=20, cost_usd=None), None]
    for i, usage in enumerate(spent):
        c = conversation(i)
        card = score_conversation(c, rubric, FakeJudge(), policy=POLICY)[0].model_copy(update={"usage": usage})
        store.save_score_card(c, rubric, card)
    for exact in (False, True):
        with store.session() as s:
            t = overview(s, resolve(s, Filters(all_dates=True), exact=exact)).totals
        assert (t.conversations, t.usage_cards, t.calls, t.prompt_tokens, t.completion_tokens, t.cached_tokens,
                t.priced_cards) == (3, 2, 3, 1300, 80, 500, 1)
        assert t.cost_usd == pytest.approx(0.0125) and t.cost_per_conversation == pytest.approx(0.0125)
        assert t.tokens_per_conversation == pytest.approx(690)
    assert_consistent(store)


OPS = st.lists(st.tuples(st.sampled_from(["score", "rescore", "move", "route", "review", "exclude"]),
                         st.integers(min_value=0, max_value=5)), min_size=1, max_size=8)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_random_writes_keep_the_rollups_equal_to_a_rebuild(tmp_path_factory: pytest.TempPathFactory,
                                                          ops: list[tuple[str, int]]) -> None:
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'p.db'}")
    rubric = load_rubric(RUBRIC)

    def score(i: int) -> None:
        score_conversation(conversation(i), rubric, FakeJudge(), store=store, policy=POLICY)

    def reviewed(i: int) -> None:
        score(i)
        j = newest_judgements(store, conversation(i).id)[i % 3]
        review(store, j, conversation(i).id, "corrected" if i % 2 else "confirmed", other_answer(rubric, j)
               if i % 2 else j.answer, f"k{i}", rubric)

    def exclude(i: int) -> None:
        c = conversation(i + 20)
        store.save_score_card(c, rubric, ScoreCard(
            conversation_id=c.id, rubric_id=rubric.id, rubric_version=rubric.version, judge="eligibility",
            score=None, status="excluded", excluded_reason="too_short", judgements=[]))
        if i % 2:
            store.delete_score_card(c, rubric, "eligibility")

    actions: dict[str, Callable[[int], Any]] = {
        "score": score,
        "rescore": lambda i: score_conversation(conversation(i), rubric, FakeJudge("no"), store=store, policy=POLICY),
        "move": lambda i: store.save_conversation(moved(conversation(i), agent_id=f"A-{i % 2}", started_at=(
            datetime(2026, 10, 5, tzinfo=UTC) + timedelta(days=9 * i)).isoformat())),
        "route": lambda i: enqueue_routed(store, rubric.id, rubric.version),
        "review": reviewed, "exclude": exclude}
    try:
        for name, i in ops:
            actions[name](i)
        assert_consistent(store)
    finally:
        store.close()


def test_migration_0007_fills_the_rollups_and_the_cli_rebuilds_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = Store(url)
    rubric = load_rubric(RUBRIC)
    for i in range(4):
        score_conversation(conversation(i), rubric, FakeJudge(), store=store, policy=POLICY)
    with store.session() as s:
        settle(s)
    with store.engine.connect() as conn:
        before = rollup_rows(conn)
    assert before["rollup_cards"]
    config = alembic_config(str(store.engine.url))
    with store.engine.begin() as conn:  # down to before the rollups' migration: it drops them
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    with store.engine.connect() as conn:
        assert not {t.__tablename__ for t in ROLLUP_TABLES} & set(inspect(conn).get_table_names())
    upgrade(store.engine)  # creates and fills them from the stored cards
    with store.engine.connect() as conn:
        assert rollup_rows(conn) == before
    with store.session() as s:  # damage them (as a bulk load behind the Store's back would)
        s.execute(delete(CardDayRow))
    result = CliRunner().invoke(build_app(), ["db", "rebuild-rollups", "--db", url])
    assert result.exit_code == 0, result.output
    with store.engine.connect() as conn:
        assert rollup_rows(conn) == before
    store.close()


def test_a_period_splits_into_whole_months_then_whole_weeks_then_days() -> None:
    # 2026-10-07 is a Wednesday, 2026-10-31 a Saturday, 2026-12-01 a Tuesday
    assert split(D(2026, 10, 7), D(2026, 12, 10)) == [
        ("month", (D(2026, 11, 1), D(2026, 11, 1))), ("week", (D(2026, 10, 12), D(2026, 10, 19))),
        ("day", (D(2026, 10, 7), D(2026, 10, 11))), ("day", (D(2026, 10, 26), D(2026, 10, 31))),
        ("day", (D(2026, 12, 1), D(2026, 12, 10)))]
    assert split(D(2026, 10, 1), D(2026, 11, 30)) == [("month", (D(2026, 10, 1), D(2026, 11, 1)))]
    assert split(D(2026, 10, 5), D(2026, 10, 18)) == [("week", (D(2026, 10, 5), D(2026, 10, 12)))]
    assert split(D(2026, 10, 3), D(2026, 10, 4)) == [("day", (D(2026, 10, 3), D(2026, 10, 4)))]
    assert split(None, D(2024, 2, 29)) == [("month", (None, D(2024, 2, 1)))]
    assert split(D(2026, 12, 31), None) == [("month", (D(2027, 1, 1), None)), ("day", (D(2026, 12, 31),
                                                                                        D(2026, 12, 31)))]
    assert split(None, None) == [("month", (None, None))]
    for start in (D(2026, 9, 28) + timedelta(days=k) for k in range(40)):  # every day exactly once
        for length in (1, 6, 7, 15, 33, 70):
            end = start + timedelta(days=length - 1)
            covered = [d for level, (lo, hi) in split(start, end) for d in days_of(level, lo, hi)]
            assert sorted(covered) == [start + timedelta(days=k) for k in range(length)], (start, end)


def days_of(level: str, lo: date | None, hi: date | None) -> list[date]:
    """The days a piece of :func:`split` covers (a month or week piece names the starts of whole ones)."""
    assert lo is not None and hi is not None
    out, day = [], lo
    last = hi if level == "day" else hi + timedelta(days=6) if level == "week" else month_end(hi)
    while day <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


def test_a_write_only_marks_its_group_and_the_next_read_recomputes_it(tmp_path: Path) -> None:
    from scorer.store.rollup_models import DirtyRow

    store = Store(f"sqlite:///{tmp_path / 'd.db'}")
    rubric = load_rubric(RUBRIC)
    for i in range(3):
        score_conversation(conversation(i), rubric, FakeJudge(), store=store, policy=POLICY)
    with store.engine.connect() as conn:
        assert not rollup_rows(conn)["rollup_cards"]  # nothing recomputed by the writes themselves
        assert conn.execute(select(DirtyRow)).all()  # but their groups are marked, with the writes
    with store.session() as s:  # what every dashboard page does first
        resolve(s, Filters(all_dates=True))
    with store.engine.connect() as conn:
        assert rollup_rows(conn)["rollup_cards"] and not conn.execute(select(DirtyRow)).all()
    score_conversation(conversation(7), rubric, FakeJudge(), store=store, policy=POLICY)
    assert numbers(store, Filters(all_dates=True), exact=False) == numbers(store, Filters(all_dates=True), exact=True)
    assert_consistent(store)
    store.close()
