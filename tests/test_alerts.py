"""Alerts end to end: scoring through the API fires signed webhooks; the worker delivers them to a receiver on
loopback that is down for the first attempts; every attempt is recorded and listed; nothing is lost."""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from typer.testing import CliRunner

from cli import build_app
from scorer.alerts import SIGNATURE_HEADER, signature, verify_signature
from scorer.store.alerts import list_deliveries
from tests._alert_receiver import ALERT_RUBRIC, AlertReceiver
from tests._api_fixtures import conversation, free_port, make_settings, open_api, wait_for

SECRET = "whsec-test"


def test_signature_is_stripe_style() -> None:
    body = b'{"type":"score_below"}'
    header = signature(SECRET, body, timestamp=1_700_000_000)
    import hashlib
    import hmac
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify_signature(SECRET, body, header, now=1_700_000_010)
    assert not verify_signature(SECRET, body + b" ", header, now=1_700_000_010)
    assert not verify_signature(SECRET, body, header, now=1_700_009_000)  # too old: replay refused


def test_alerts_reach_a_receiver_that_was_down(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here yet: the receiver is down
    settings = make_settings(tmp_path, judge="fake:no", alert_url=f"http://127.0.0.1:{port}/hook",
                             alert_secret=SECRET, alert_backoff_seconds=0.2, alert_backoff_max_seconds=0.5,
                             alert_poll_seconds=0.05, dashboard_url="http://qa.example/")
    AlertReceiver.received = []
    server: ThreadingHTTPServer | None = None
    try:
        with open_api(settings) as api:
            api.add_rubric(ALERT_RUBRIC)
            api.wait_job(api.ingest(conversation("low", agent_id="A-1", agent_name="Ana")).json()["job_id"])
            wait_for(lambda: sum(len(d.history) for d in list_deliveries(api.store)) >= 4, 30,
                     "two failed attempts per alert")
            assert {d.status for d in list_deliveries(api.store)} == {"pending"}
            server = ThreadingHTTPServer(("127.0.0.1", port), AlertReceiver)  # the receiver comes back
            threading.Thread(target=server.serve_forever, daemon=True).start()
            wait_for(lambda: {d.status for d in list_deliveries(api.store)} == {"delivered"}, 30, "delivery")
            deliveries = list_deliveries(api.store)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    assert sorted(d.event for d in deliveries) == ["auto_fail", "score_below"]
    for d in deliveries:
        assert all(code is None and err for _, code, err, _ in d.history[:-1])  # connection refused, recorded
        assert d.history[-1][1] == 204 and len(d.history) >= 3
    assert len(AlertReceiver.received) == 2
    for headers, body in AlertReceiver.received:
        assert verify_signature(SECRET, body, headers[SIGNATURE_HEADER])
        event = json.loads(body)
        assert event["conversation_id"] == "low" and event["agent"] == {"id": "A-1", "name": "Ana"}
        assert event["score"] == 0.0 and event["link"] == "http://qa.example/ui/conversations/low"
    log = CliRunner().invoke(build_app(), ["alerts", "log", "--json", "--db", settings.resolved_database_url()])
    lines = [json.loads(line) for line in log.output.splitlines()]
    assert {line["status"] for line in lines} == {"delivered"} and all(len(line["attempts"]) >= 3 for line in lines)
    assert "ConnectError" in lines[0]["attempts"][0]["error"]


def test_rubric_alert_rules_override_settings(tmp_path: Path) -> None:
    from scorer.alerts import alert_target
    from scorer.rubric import parse_rubric

    settings = make_settings(tmp_path, alert_url="http://127.0.0.1:9/a")
    own = parse_rubric(ALERT_RUBRIC + "alerts: {url: 'http://127.0.0.1:9/b', score_below: 70, on_auto_fail: false}\n")
    target = alert_target(settings, own)
    assert target is not None and (target.url, target.score_below, target.on_auto_fail) == (
        "http://127.0.0.1:9/b", 70, False)
    default = alert_target(settings, parse_rubric(ALERT_RUBRIC))
    assert default is not None and (default.url, default.score_below) == ("http://127.0.0.1:9/a", 50)
    assert alert_target(make_settings(tmp_path), parse_rubric(ALERT_RUBRIC)) is None
