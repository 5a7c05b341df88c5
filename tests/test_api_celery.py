"""The Celery path on the machine's Redis: two `rubricate worker` processes share one job's chunks; work a failed
publish left pending is dispatched later; a worker killed mid-chunk is taken over by the other one with nothing
judged twice. And with the broker down, job creation is a clear 503 with nothing stored."""

from __future__ import annotations

import secrets
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.jobs.broker import Publisher
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.jobs import create_job
from scorer.store.models import ConversationRow, JobRow, ScoreCardRow
from scorer.types import Conversation
from tests._api_fixtures import conversation, free_port, make_settings, open_api, spawn, stop, wait_for

REDIS = "redis://127.0.0.1:6379/{db}"


@dataclass
class Cluster:
    """Two Celery workers and the settings an API app must share with them."""

    settings: Settings
    workers: dict[str, subprocess.Popen[bytes]]
    judge_log: Path
    store: Store

    def calls(self) -> Counter[str]:
        text = self.judge_log.read_text() if self.judge_log.exists() else ""
        return Counter(line.split()[1] for line in text.splitlines())


def _redis_or_skip(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379 ({type(exc).__name__}: {exc})")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    url = REDIS.format(db=11)
    _redis_or_skip(url)
    tmp = tmp_path_factory.mktemp("celery")
    queue = f"rubricate-test-{secrets.token_hex(4)}"  # no other run's messages reach these workers
    settings = make_settings(tmp, broker_url=url, broker_queue=queue, judge="probe:0.2", job_chunk_size=2)
    store = Store(settings.resolved_database_url())
    log = tmp / "calls.log"
    env = {"RUBRICATE_DATABASE_URL": settings.resolved_database_url(), "RUBRICATE_DATA_DIR": str(tmp / "data"),
           "RUBRICATE_BROKER_URL": url, "RUBRICATE_BROKER_QUEUE": queue, "RUBRICATE_JUDGE": "probe:0.2",
           "RUBRICATE_JOB_HEARTBEAT_SECONDS": "0.2", "RUBRICATE_JOB_STALE_SECONDS": "1.5",
           "RUBRICATE_AUDIT_RATE": "0", "RUBRICATE_TEST_JUDGE_LOG": str(log)}
    workers = {name: spawn(["worker", "--name", f"{name}@%h", "--concurrency", "1", "--log-level", "WARNING"], env,
                           tmp / f"{name}.log") for name in ("w1", "w2")}
    publisher = Publisher(settings.model_copy(update={"broker_timeout_seconds": 2.0}))
    try:
        wait_for(lambda: all(p.poll() is None for p in workers.values()) and publisher.workers(0) >= 2, 60,
                 "two Celery workers to answer", interval=0.5)
        yield Cluster(settings, workers, log, store)
    finally:
        for process in workers.values():
            stop(process)
        publisher.close()
        import redis

        redis.Redis.from_url(url).delete(queue)
        store.close()


def _cards(store: Store) -> Counter[str]:
    with store.session() as s:
        return Counter(s.scalars(select(ConversationRow.external_id).join(
            ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id)))


@pytest.mark.redis
def test_two_workers_share_one_jobs_conversations(cluster: Cluster) -> None:
    with open_api(cluster.settings) as api:
        api.add_rubric()
        ids = [f"two{i:02d}" for i in range(16)]
        job = api.wait_job(api.ingest(*[conversation(i) for i in ids]).json()["job_id"], timeout=60)
        assert (job["status"], job["done"], job["chunks"]) == ("done", 16, {"done": 8})
        assert sorted(w.split("@")[0] for w in job["workers"]) == ["w1", "w2"], job["workers"]
        calls = cluster.calls()
        assert all(calls[i] == 1 for i in ids)
        assert all(_cards(cluster.store)[i] == 1 for i in ids)
        ready = api.client.get("/readyz").json()
        assert (ready["mode"], ready["checks"]["broker"]["ok"], ready["checks"]["worker"]["ok"]) == (
            "celery", True, True)


@pytest.mark.redis
def test_work_left_pending_by_a_failed_publish_is_dispatched_later(cluster: Cluster) -> None:
    with open_api(cluster.settings) as api:
        api.add_rubric()
        rubric = api.store.get_rubric("svc")
        assert rubric is not None
        with api.store.session() as s:  # what a request leaves behind when the broker dies after its commit
            for cid in ("late1", "late2", "late3"):
                api.store.save_conversation(conversation_model(cid), s)
            job_id, _ = create_job(s, kind="ingest", rubric_id="svc", rubric_version=rubric.version,
                                   judge="probe:0.2", conversation_ids=["late1", "late2", "late3"], chunk_size=2,
                                   status="pending")
        job = api.wait_job(job_id, timeout=30)  # the app's dispatcher publishes it
        assert (job["status"], job["done"]) == ("done", 3)


def conversation_model(cid: str) -> Conversation:
    return Conversation.model_validate(conversation(cid))


@pytest.mark.redis
def test_worker_killed_mid_chunk_the_other_takes_over(cluster: Cluster) -> None:
    settings = cluster.settings.model_copy(update={"job_chunk_size": 4})
    with open_api(settings) as api:
        api.add_rubric()
        ids = [f"kill{i:02d}" for i in range(16)]
        job_id = api.ingest(*[conversation(i) for i in ids]).json()["job_id"]

        def w1_mid_chunk() -> bool:
            with api.store.session() as s:
                return bool(s.scalar(select(func.count()).select_from(JobRow).where(
                    JobRow.kind == "score_chunk", JobRow.status == "running", JobRow.worker.like("w1@%"),
                    JobRow.done >= 1, JobRow.params["parent"].as_integer() == job_id)))

        wait_for(w1_mid_chunk, 30, "w1 half-way through a chunk", interval=0.02)
        stop(cluster.workers["w1"], signal.SIGKILL)
        before = {i for i, n in _cards(cluster.store).items() if i in ids and n}
        job = api.wait_job(job_id, timeout=60)
        assert (job["status"], job["done"], job["failed"]) == ("done", 16, 0)
        cards = _cards(cluster.store)
        assert all(cards[i] == 1 for i in ids)
        calls = cluster.calls()
        assert all(calls[i] == 1 for i in before), "a conversation stored before the kill was judged again"
        assert sum(calls[i] for i in ids) - len(ids) <= 1  # only the one in flight in w1 is judged again
        assert "w2" in {w.split("@")[0] for w in job["workers"]}


def test_broker_down_is_503_and_nothing_is_stored(tmp_path: Path) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    settings = make_settings(tmp_path, broker_url=closed, broker_timeout_seconds=0.5)
    with open_api(settings) as api:
        api.add_rubric()
        r = api.ingest(conversation("lost?"))
        assert r.status_code == 503 and r.headers["Retry-After"] == "10"
        assert "job broker at redis://127.0.0.1" in r.json()["detail"] and "Nothing was accepted" in r.json()["detail"]
        r = api.client.post("/v1/scoring-jobs", json={"rubric_id": "svc"}, headers=api.auth())
        assert r.status_code == 503
        with api.store.session() as s:
            assert s.scalar(select(func.count()).select_from(ConversationRow)) == 0
            assert s.scalar(select(func.count()).select_from(JobRow)) == 0
        assert api.client.get("/v1/rubrics/svc", headers=api.auth("ingest")).status_code == 200
        ready = api.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["broker"]["ok"] is False
