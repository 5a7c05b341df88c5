"""Background scoring: a server killed mid-job resumes without scoring anything twice, judge calls stay within
their bounds, and on PostgreSQL: the whole path, concurrent duplicate ingests, and a database restart (503, then
recovery)."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from api.jobs.runtime import Pacer
from scorer.store import Store
from scorer.store.keys import create_key
from scorer.store.models import ConversationRow, JobRow, ScoreCardRow
from tests._api_fixtures import (
    RUBRIC_YAML,
    conversation,
    free_port,
    make_settings,
    open_api,
    spawn,
    stop,
    wait_for,
    wait_http,
)
from tests._pg import fresh_postgres_url
from tests._slow_judge import ProbeJudge, register
from tests._tcp_proxy import TcpProxy


@pytest.fixture(autouse=True)
def _probe_judge() -> None:
    register()


def _scored(store: Store) -> set[str]:
    with store.session() as s:
        return set(s.scalars(select(ConversationRow.external_id).join(
            ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id)))


def _cards_per_conversation(store: Store) -> Counter[str]:
    with store.session() as s:
        return Counter(s.scalars(select(ConversationRow.external_id).join(
            ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id)))


def test_server_killed_mid_job_resumes_and_scores_nothing_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    judge_log = tmp_path / "calls.log"
    store = Store(url)
    _, admin = create_key(store, "admin")
    env = {"RUBRICATE_DATABASE_URL": url, "RUBRICATE_DATA_DIR": str(tmp_path / "data"),
           "RUBRICATE_JUDGE": "probe:0.15", "RUBRICATE_JOB_CHUNK_SIZE": "100", "RUBRICATE_WORKER_CONCURRENCY": "1",
           "RUBRICATE_JOB_HEARTBEAT_SECONDS": "0.2", "RUBRICATE_JOB_STALE_SECONDS": "1.5",
           "RUBRICATE_WORKER_POLL_SECONDS": "0.1", "RUBRICATE_BROKER_URL": "", "RUBRICATE_AUDIT_RATE": "0",
           "RUBRICATE_TEST_JUDGE_LOG": str(judge_log)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {admin}"}
    first = spawn(["serve", "--port", str(port), "--log-level", "warning"], env, tmp_path / "serve1.log")
    try:
        wait_http(f"{base}/healthz", first, tmp_path / "serve1.log")
        httpx.post(f"{base}/v1/rubrics", content=RUBRIC_YAML, headers={**headers, "content-type": "application/yaml"})
        ids = [f"k{i:02d}" for i in range(12)]
        r = httpx.post(f"{base}/v1/conversations", headers=headers,
                       json={"rubric_id": "svc", "conversations": [conversation(i) for i in ids]})
        job_id = r.json()["job_id"]
        wait_for(lambda: httpx.get(f"{base}/v1/scoring-jobs/{job_id}", headers=headers).json()["done"] >= 4, 20,
                 "four conversations scored")
    finally:
        stop(first, signal.SIGKILL)
    before = _scored(store)
    assert 4 <= len(before) < len(ids), "the server should die with the job half done"
    with store.session() as s:
        [chunk] = s.scalars(select(JobRow).where(JobRow.kind == "score_chunk"))
        assert chunk.status == "running"  # its worker is gone; the heartbeat will go stale
    second = spawn(["serve", "--port", str(port), "--log-level", "warning"], env, tmp_path / "serve2.log")
    try:
        wait_http(f"{base}/healthz", second, tmp_path / "serve2.log")
        job = wait_for(lambda: (j := httpx.get(f"{base}/v1/scoring-jobs/{job_id}", headers=headers).json())
                       ["status"] == "done" and j, 30, "the job to finish after the restart")
    finally:
        stop(second)
    assert (job["total"], job["done"], job["failed"]) == (12, 12, 0)
    assert set(_cards_per_conversation(store).values()) == {1} and _scored(store) == set(ids)
    calls = Counter(line.split()[1] for line in judge_log.read_text().splitlines())
    assert set(calls) == set(ids)
    assert all(calls[i] == 1 for i in before), "a conversation stored before the kill was judged again"
    assert sum(calls.values()) - len(ids) <= 1  # at most the conversation in flight when the server died
    [worker] = job["workers"]  # the chunk now belongs to the second server's worker
    assert f":{second.pid}/" in worker and f":{first.pid}/" not in worker


def test_judge_calls_are_bounded_and_each_conversation_judged_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, judge="probe:0.05", worker_concurrency=4, judge_concurrency=2,
                             job_chunk_size=1)
    with open_api(settings) as api:
        api.add_rubric()
        job = api.wait_job(api.ingest(*[conversation(f"b{i}") for i in range(12)]).json()["job_id"])
        assert (job["done"], job["chunks"]) == (12, {"done": 12})
        rubric = api.store.get_rubric("svc")
        assert rubric is not None
        probe = api.client.app.state.service.runtime.judge("probe:0.05", rubric).inner  # type: ignore[attr-defined]
        assert isinstance(probe, ProbeJudge)
        assert probe.max_in_flight == 2 and sorted(probe.calls) == sorted(f"b{i}" for i in range(12))


def test_pacer_spaces_calls() -> None:
    pacer = Pacer(per_minute=1200)  # one call per 50 ms
    start = time.monotonic()
    threads = [threading.Thread(target=pacer.wait) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - start >= 0.2


# PostgreSQL ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    yield from fresh_postgres_url()


@pytest.mark.postgres
def test_postgres_path_two_worker_threads_score_each_conversation_once(pg_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=pg_url, judge="probe", worker_concurrency=2, job_chunk_size=3)
    with open_api(settings) as api:
        api.add_rubric()
        ids = [f"pg{i:02d}" for i in range(30)]
        job = api.wait_job(api.ingest(*[conversation(i) for i in ids]).json()["job_id"])
        assert (job["status"], job["done"], job["chunks"]) == ("done", 30, {"done": 10})
        rubric = api.store.get_rubric("svc")
        assert rubric is not None
        probe = api.client.app.state.service.runtime.judge("probe", rubric).inner  # type: ignore[attr-defined]
        assert sorted(probe.calls) == ids  # two threads shared the job; nothing was judged twice
        card = api.client.get("/v1/conversations/pg07/scorecard", headers=api.auth("reviewer")).json()
        assert len(card["judgements"]) == 2 and card["judgements"][0]["history"][0]["kind"] == "ai"
        page = api.client.get("/v1/judgements?criterion=solve&page_size=10&page=3", headers=api.auth()).json()
        assert (page["total"], len(page["items"]), page["next_page"]) == (30, 10, None)


@pytest.mark.postgres
def test_postgres_concurrent_duplicate_ingests_store_one_row(pg_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database_url=pg_url, judge="probe", worker_enabled=False)
    with open_api(settings) as api:
        api.add_rubric()
        batch = [conversation(f"dup{i}") for i in range(20)]
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(api.ingest(*batch).status_code))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [202] * 4
        with api.store.session() as s:
            rows = s.scalar(select(func.count()).select_from(ConversationRow)
                            .where(ConversationRow.external_id.like("dup%")))
        assert rows == 20


@pytest.mark.postgres
def test_database_restart_gives_503_then_recovers(pg_url: str, tmp_path: Path) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    proxy.start()
    via_proxy = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    settings = make_settings(tmp_path, database_url=via_proxy, judge="probe", worker_poll_seconds=0.2)
    try:
        with open_api(settings) as api:
            api.add_rubric()
            assert api.client.get("/v1/rubrics/svc", headers=api.auth()).status_code == 200
            proxy.stop()  # the database goes away
            r = api.client.get("/v1/rubrics/svc", headers=api.auth())
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            assert "database is unavailable" in r.json()["detail"] and "Nothing from this request" in r.json()["detail"]
            r = api.ingest(conversation("during-outage"))
            assert r.status_code == 503
            ready = api.client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
            time.sleep(0.5)  # the worker keeps polling and failing meanwhile, without dying
            proxy.start()  # the database is back
            r = api.ingest(conversation("after-restart"))
            assert r.status_code == 202, r.text
            assert api.wait_job(r.json()["job_id"])["done"] == 1
            assert api.client.get("/readyz").status_code == 200
            assert api.store.get_conversation("during-outage") is None
    finally:
        proxy.stop()
