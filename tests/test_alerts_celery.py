"""Alerts delivered by a real Celery worker (`rubricate worker`, a subprocess) on the machine's Redis: the API runs in
Celery mode (no alert sender of its own), the worker scores the conversation, fires the alerts and POSTs them to a
receiver on loopback that is down for the first attempts; once it is up every alert arrives, signed, and the log
lists each failed attempt and the success. Skipped only when Redis is not reachable."""

from __future__ import annotations

import json
import secrets
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.jobs.broker import Publisher
from cli import build_app
from scorer.alerts import SIGNATURE_HEADER, verify_signature
from scorer.store.alerts import list_deliveries
from tests._alert_receiver import ALERT_RUBRIC, AlertReceiver
from tests._api_fixtures import conversation, free_port, make_settings, open_api, spawn, stop, wait_for

REDIS = "redis://127.0.0.1:6379/13"  # a database of its own: test_api_celery uses 11
SECRET = "whsec-celery"


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except Exception as exc:
        pytest.skip(f"Redis is not reachable at 127.0.0.1:6379 ({type(exc).__name__}: {exc})")


@pytest.mark.redis
def test_celery_worker_delivers_alerts_to_a_receiver_that_was_down(tmp_path: Path) -> None:
    _redis_or_skip()
    port = free_port()  # nothing listens here yet: the receiver is down
    hook = f"http://127.0.0.1:{port}/hook"
    queue = f"rubricate-alerts-test-{secrets.token_hex(4)}"  # no other run's messages reach this worker
    settings = make_settings(tmp_path, broker_url=REDIS, broker_queue=queue, judge="fake:no")
    env = {"RUBRICATE_DATABASE_URL": settings.resolved_database_url(), "RUBRICATE_DATA_DIR": str(tmp_path / "data"),
           "RUBRICATE_BROKER_URL": REDIS, "RUBRICATE_BROKER_QUEUE": queue, "RUBRICATE_JUDGE": "fake:no",
           "RUBRICATE_AUDIT_RATE": "0", "RUBRICATE_ALERT_URL": hook, "RUBRICATE_ALERT_SECRET": SECRET,
           "RUBRICATE_ALERT_BACKOFF_SECONDS": "0.2", "RUBRICATE_ALERT_BACKOFF_MAX_SECONDS": "0.5",
           "RUBRICATE_ALERT_POLL_SECONDS": "0.05", "RUBRICATE_DASHBOARD_URL": "http://qa.example/"}
    worker = spawn(["worker", "--name", "alerts@%h", "--concurrency", "1", "--log-level", "WARNING"], env,
                   tmp_path / "worker.log")
    publisher = Publisher(settings.model_copy(update={"broker_timeout_seconds": 2.0}))
    AlertReceiver.received = []
    server: ThreadingHTTPServer | None = None
    try:
        wait_for(lambda: worker.poll() is None and publisher.workers(0) >= 1, 60, "the Celery worker to answer",
                 interval=0.5)
        with open_api(settings) as api:
            assert api.client.app.state.service.mode == "celery"  # type: ignore[attr-defined]
            assert api.client.app.state.service.alerts is None  # type: ignore[attr-defined]  # only the worker sends
            api.add_rubric(ALERT_RUBRIC)
            job = api.wait_job(api.ingest(conversation("low", agent_id="A-1", agent_name="Ana")).json()["job_id"],
                               timeout=60)
            assert (job["status"], job["done"]) == ("done", 1), job
            wait_for(lambda: all(len(d.history) >= 2 for d in list_deliveries(api.store))
                     and len(list_deliveries(api.store)) == 2, 30, "two failed attempts per alert")
            assert {d.status for d in list_deliveries(api.store)} == {"pending"}
            server = ThreadingHTTPServer(("127.0.0.1", port), AlertReceiver)  # the receiver comes back
            threading.Thread(target=server.serve_forever, daemon=True).start()
            wait_for(lambda: {d.status for d in list_deliveries(api.store)} == {"delivered"}, 30, "delivery")
            deliveries = list_deliveries(api.store)
    finally:
        stop(worker)
        publisher.close()
        import redis

        redis.Redis.from_url(REDIS).delete(queue)
        if server is not None:
            server.shutdown()
            server.server_close()
    assert worker.returncode is not None
    assert sorted(d.event for d in deliveries) == ["auto_fail", "score_below"]
    for d in deliveries:
        assert all(code is None and err and "ConnectError" in err for _, code, err, _ in d.history[:-1])
        assert d.history[-1][1] == 204 and d.history[-1][2] is None and len(d.history) >= 3
    assert sorted(json.loads(body)["type"] for _, body in AlertReceiver.received) == ["auto_fail", "score_below"]
    for headers, body in AlertReceiver.received:
        header = headers[SIGNATURE_HEADER]
        assert header.startswith("t=") and ",v1=" in header
        assert verify_signature(SECRET, body, header)
        assert not verify_signature("another-secret", body, header)
        event = json.loads(body)
        assert event["conversation_id"] == "low" and event["agent"] == {"id": "A-1", "name": "Ana"}
        assert event["score"] == 0.0 and event["link"] == "http://qa.example/ui/conversations/low"
    log = CliRunner().invoke(build_app(), ["alerts", "log", "--json", "--db", settings.resolved_database_url()])
    assert log.exit_code == 0, log.output
    lines = [json.loads(line) for line in log.output.splitlines()]
    assert sorted(line["event"] for line in lines) == ["auto_fail", "score_below"]
    for line in lines:
        assert line["status"] == "delivered"
        *failed, success = line["attempts"]
        assert len(failed) >= 2 and all("ConnectError" in a["error"] for a in failed)
        assert success["status_code"] == 204
