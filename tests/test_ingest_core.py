"""The ingest path's Core writes (no ORM unit of work), on SQLite and PostgreSQL: conversations stored as the ORM
stores them, their rollup groups marked in the same transaction (the groups a moved conversation leaves too), a
job's chunks in order; API keys remembered a few seconds and revocation reaching every process; server
connections pinged only after an idle second, a restarted server costing no saved data either way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, select, text

import scorer.store.engine as engine_module
import scorer.store.keys as keys_module
from scorer._errors import StorageError
from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.rubric import load_rubric
from scorer.store import Store
from scorer.store.ingest import store_conversations
from scorer.store.jobs import create_job
from scorer.store.keys import KEY_CACHE_SECONDS, ApiKey, create_key, revoke_key, verify_key
from scorer.store.models import ConversationRow, JobRow
from scorer.store.rollup import key_of, keys_of
from scorer.store.rollup_models import DirtyRow
from scorer.types import Conversation
from tests._dashboard_data import RUBRIC, conversation
from tests._pg import ADMIN_URL, fresh_postgres_url
from tests.test_dashboard_rollups import POLICY, assert_consistent, moved
from tests.test_dashboard_rollups import store as store  # the SQLite + PostgreSQL fixture, shared


def ingest(store: Store, *conversations: Conversation) -> list[str]:
    rubric = load_rubric(RUBRIC)
    with store.transaction() as conn:
        outcomes = store_conversations(conn, list(conversations), rubric_id=rubric.id, rubric_version=rubric.version,
                                       judge=FakeJudge().id)
    return [o.outcome for o in outcomes]


def marks(store: Store) -> set[tuple[str, str | None]]:
    with store.engine.connect() as conn:
        return {(str(d), a) for d, a in conn.execute(select(DirtyRow.day, DirtyRow.agent_id))}


def groups(store: Store, external_ids: list[str]) -> set[tuple[str, str | None]]:
    with store.engine.connect() as conn:
        ids = conn.scalars(select(ConversationRow.id).where(ConversationRow.external_id.in_(external_ids)))
        return {(str(d), a) for d, a in keys_of(conn, ids)}


def clear_marks(store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(delete(DirtyRow))


def test_core_ingest_stores_rows_as_the_orm_does_and_marks_their_groups(store: Store) -> None:
    near_midnight = moved(conversation(3), started_at="2026-10-07T01:30:00+05:00")  # 6 October in UTC
    no_start = moved(conversation(4), started_at=None)
    convs = [conversation(i) for i in range(3)] + [near_midnight, no_start]
    assert ingest(store, *convs) == ["created"] * 5
    ids = [c.id for c in convs]
    assert marks(store) == groups(store, ids) and len(marks(store)) == 5  # one mark per (day, agent) written
    assert ("2026-10-06", near_midnight.agent_id) in marks(store)
    for c in convs:
        assert store.get_conversation(c.id) == c
    store.save_conversation(orm := moved(conversation(5), tags=["vip"]))  # the ORM's row, for comparison
    columns = [c for c in ConversationRow.__table__.columns if c.name not in ("id", "created_at", "updated_at")]
    with store.engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(*columns, ConversationRow.updated_at))}
    core = rows[convs[1].id]
    assert core.updated_at is not None and core.tags == convs[1].tags and rows[orm.id].tags == ["vip"]
    assert core.started_at.replace(tzinfo=UTC) == convs[1].started_at  # stored in UTC, as set_fields stores it
    clear_marks(store)
    assert ingest(store, *convs) == ["unchanged"] * 5 and not marks(store)  # nothing written, nothing marked


def test_a_moved_conversation_marks_the_group_it_leaves_and_the_rollups_stay_exact(store: Store) -> None:
    rubric = load_rubric(RUBRIC)
    convs = [conversation(i) for i in range(6)]
    ingest(store, *convs)
    for c in convs:
        score_conversation(c, rubric, FakeJudge(), store=store, policy=POLICY)
    assert_consistent(store)
    before = groups(store, [convs[2].id])
    other = moved(convs[2], agent_id="A-9", team="Tech", started_at="2026-11-20T23:30:00+00:00")
    clear_marks(store)
    assert ingest(store, other) == ["already_scored"]  # same transcript, new agent and day: row updated
    assert marks(store) == before | groups(store, [other.id]) and len(marks(store)) == 2
    assert_consistent(store)  # fails if the group left behind was not recomputed


def test_key_of_is_the_day_and_agent_keys_of_reads() -> None:
    created = datetime(2026, 10, 7, 23, 59, tzinfo=UTC)
    assert key_of(None, created, "A-1") == (created.date(), "A-1")
    assert key_of(datetime(2026, 10, 8, 1, 0).astimezone(UTC), created, None)[0] == datetime(2026, 10, 8).date()


def test_a_job_and_its_chunks_are_written_in_order(store: Store) -> None:
    ids = [f"c{i}" for i in range(7)]
    with store.transaction() as conn:
        job_id, chunk_ids = create_job(conn, kind="ingest", rubric_id="r", rubric_version="1", judge="fake",
                                       conversation_ids=ids, chunk_size=3, status="pending")
    with store.session() as s:
        job = s.get_one(JobRow, job_id)
        chunks = [s.get_one(JobRow, i) for i in chunk_ids]
    assert job.params["chunks"] == chunk_ids and (job.total, job.status) == (7, "pending")
    assert [c.params["conversation_ids"] for c in chunks] == [ids[:3], ids[3:6], ids[6:]]
    assert {c.params["parent"] for c in chunks} == {job_id} and {c.status for c in chunks} == {"pending"}


def _id(key: ApiKey | None) -> int | None:
    return key.id if key is not None else None


def test_a_revoked_key_is_refused_at_once_here_and_within_the_cache_time_elsewhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(keys_module, "_clock", lambda: now[0])
    url = f"sqlite:///{tmp_path / 'k.db'}"
    server, shell = Store(url), Store(url)  # an API process and `rubricate keys revoke` in another one
    record, key = create_key(server, "ingest")
    assert _id(verify_key(server, key)) == record.id
    revoke_key(shell, record.id)
    assert verify_key(shell, key) is None
    now[0] += KEY_CACHE_SECONDS / 2
    assert _id(verify_key(server, key)) == record.id  # remembered for at most KEY_CACHE_SECONDS
    now[0] += KEY_CACHE_SECONDS / 2 + 0.01
    assert verify_key(server, key) is None  # read again: revoked
    second, key2 = create_key(server, "ingest")
    assert _id(verify_key(server, key2)) == second.id
    revoke_key(server, second.id)
    assert verify_key(server, key2) is None  # revoked in this process: at once
    server.close()
    shell.close()


def _drop_connections(url: str) -> None:
    """What a server restart does to the pool's connections: closes them."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d "
                          "AND pid <> pg_backend_pid()"), {"d": url.rsplit("/", 1)[1]})
    admin.dispose()


@pytest.mark.postgres
def test_an_idle_connection_is_pinged_and_a_dead_one_replaced_without_a_failed_request(
        monkeypatch: pytest.MonkeyPatch) -> None:
    urls = fresh_postgres_url()
    url = next(urls)
    store = Store(url)
    try:
        store.save_conversation(conversation(0))
        _drop_connections(url)
        monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", 0.0)  # every connection counts as idle
        assert store.get_conversation(conversation(0).id) is not None  # pinged, found dead, replaced
        _drop_connections(url)
        monkeypatch.setattr(engine_module, "PING_IDLE_SECONDS", 3600.0)  # used just now: trusted, not pinged
        with pytest.raises(StorageError, match="nothing from this operation was saved"):
            store.save_conversation(conversation(1))
        store.save_conversation(conversation(1))  # the pool was renewed; the retry is saved
        assert store.get_conversation(conversation(1).id) is not None
    finally:
        store.close()
        next(urls, None)
