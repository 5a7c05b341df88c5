"""``rubricate import`` and ``score --format`` end to end, and ``POST /v1/imports/{format}`` on a real app."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from scorer.io import read_conversations
from scorer.types import Conversation, Turn
from tests._api_fixtures import make_settings, open_api

FIXTURES = Path(__file__).parent / "fixtures" / "importers"
RUBRIC = """id: imp
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
"""


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.output


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RUBRICATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RUBRICATE_DATABASE_URL", raising=False)
    (tmp_path / "r.yaml").write_text(RUBRIC)
    return tmp_path


def test_import_csv_writes_the_expected_jsonl_and_reports_skips(env: Path) -> None:
    out = env / "conversations.jsonl"
    code, output = _run("import", "csv", str(FIXTURES / "messages.csv"), "--out", str(out))
    assert code == 0, output
    assert out.read_text(encoding="utf-8").splitlines() == \
        (FIXTURES / "messages.expected.jsonl").read_text(encoding="utf-8").splitlines()
    assert "2 conversation(s), 6 turn(s) imported" in output and "4 record(s) skipped" in output
    assert "messages.csv:12" in output and "supervisor" in output
    skipped = (env / "conversations.jsonl.skipped.txt").read_text().splitlines()
    assert len(skipped) == 4 and skipped[0].endswith("(T-101): the message is empty")
    code, output = _run("import", "csv", str(FIXTURES / "messages.csv"), "--out", str(out), "--strict")
    assert code == 1


def test_import_errors_are_one_line_and_leave_no_partial_file(env: Path) -> None:
    out = env / "x.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "import", "csv", str(FIXTURES / "messages.csv"),
         "--out", str(out), "--columns", "conversation_id=ticket"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "300"}, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "error: " in result.stderr and "no column for conversation_id (column 'ticket')" in result.stderr
    assert "--columns" in result.stderr  # says what to do
    assert not out.exists() and not (env / "x.jsonl.partial").exists()
    code, _ = _run("import", "zendesk", str(env / "missing.json"), "--out", str(out))
    assert code != 0 and not out.exists()


def test_score_reads_a_csv_with_format(env: Path) -> None:
    out = env / "scores.jsonl"
    code, output = _run("score", str(FIXTURES / "messages.csv"), "--format", "csv", "--rubric", str(env / "r.yaml"),
                        "--judge", "fake", "--out", str(out), "--no-store")
    assert code == 1  # the four skipped rows are reported as bad records
    assert "2 scored" in output and "4 bad record(s)" in output and "messages.csv:11" in output
    assert [json.loads(line)["conversation_id"] for line in out.read_text().splitlines()] == ["T-100", "T-101"]
    code, output = _run("score", str(FIXTURES / "messages.csv"), "--format", "xls", "--rubric",
                        str(env / "r.yaml"), "--judge", "fake", "--no-store")
    assert code != 0


def _silences(turns: list[Turn], threshold: float) -> list[float]:
    """Dead air between the end of one turn and the start of the next (what a silence rule measures)."""
    gaps = []
    for before, after in itertools.pairwise(turns):
        assert before.end is not None and after.timestamp is not None
        gap = (after.timestamp - before.end).total_seconds()
        if gap > threshold:
            gaps.append(round(gap, 2))
    return gaps


def _overlaps(turns: list[Turn]) -> list[float]:
    """Talk-over: a turn of the other party starting before the previous one ended."""
    return [round((a.end - b.timestamp).total_seconds(), 2) for a, b in itertools.pairwise(turns)
            if a.speaker != b.speaker and a.end is not None and b.timestamp is not None and b.timestamp < a.end]


def test_whisperx_call_keeps_times_for_timing_rules_and_scores_as_is(env: Path) -> None:
    out = env / "call.jsonl"
    code, output = _run("import", "whisperx", str(FIXTURES / "whisperx_call.json"), "--out", str(out),
                        "--agent-speaker", "SPEAKER_01", "--id", "call-123", "--started-at", "2024-06-03T14:00:00Z")
    assert code == 0, output
    said = " ".join(output.split())  # the console wraps long lines
    assert "given with --agent-speaker" in said and "'SPEAKER_00': 'customer'" in said  # the choice is stated
    [call] = list(read_conversations(out))
    assert isinstance(call, Conversation) and call.channel == "call"
    assert call.started_at is not None and call.turns[0].timestamp == call.started_at + timedelta(seconds=0.52)
    assert _silences(call.turns, threshold=3.0) == [8.5, 4.0]  # 11.0 → 19.5 s and 23.0 → 27.0 s
    assert _overlaps(call.turns) == [0.4]  # the agent's "I see." starts 0.4 s before the customer stops
    code, output = _run("score", str(out), "--rubric", str(env / "r.yaml"), "--judge", "fake", "--no-store")
    assert code == 0 and "1 scored" in output, output


def test_webvtt_and_helpdesk_commands(env: Path) -> None:
    for fmt, fixture in (("webvtt", "call-77.vtt"), ("zendesk", "zendesk_tickets.json"),
                         ("intercom", "intercom_conversations.json"), ("freshdesk", "freshdesk_tickets.jsonl")):
        out = env / f"{fmt}.jsonl"
        code, output = _run("import", fmt, str(FIXTURES / fixture), "--out", str(out))
        assert code == 0, output
        expected = FIXTURES / f"{fixture.rsplit('.', 1)[0]}.expected.jsonl"
        assert out.read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")


def test_api_import_queues_scoring_and_reports_skips(tmp_path: Path) -> None:
    with open_api(make_settings(tmp_path)) as api:
        api.add_rubric()
        body = (FIXTURES / "messages.csv").read_bytes()
        r = api.client.post("/v1/imports/csv?rubric_id=svc", content=body,
                            headers=api.auth("ingest", **{"content-type": "text/csv"}))
        assert r.status_code == 202, r.text
        result = r.json()
        assert [a["id"] for a in result["accepted"]] == ["T-100", "T-101"] and result["format"] == "csv"
        assert [s["location"] for s in result["skipped"]] == ["input:9", "input:10", "input:11", "input:12"]
        assert api.wait_job(result["job_id"])["status"] == "done"
        card = api.client.get("/v1/conversations/T-100/scorecard", headers=api.auth()).json()
        assert card["conversation_id"] == "T-100" and card["judgements"]
        call = (FIXTURES / "whisperx_call.json").read_bytes()
        r = api.client.post("/v1/imports/whisperx", params={"rubric_id": "svc", "id": "call-123",
                                                            "agent_speaker": "SPEAKER_01"},
                            content=call, headers=api.auth("ingest"))
        assert r.status_code == 202 and r.json()["accepted"][0]["id"] == "call-123", r.text
        r = api.client.post("/v1/imports/whisperx?rubric_id=svc", content=call, headers=api.auth("ingest"))
        assert r.status_code == 422 and "no conversation id" in r.text
        r = api.client.post("/v1/imports/csv?rubric_id=svc&columns=conversation_id=ticket", content=body,
                            headers=api.auth("ingest"))
        assert r.status_code == 400 and "no column for conversation_id" in r.json()["detail"]
        r = api.client.post("/v1/imports/xlsx?rubric_id=svc", content=body, headers=api.auth("ingest"))
        assert r.status_code == 422
        for bad in ("no-such-codec", "undefined", "base64"):  # unknown, unusable, not a text encoding
            r = api.client.post(f"/v1/imports/csv?rubric_id=svc&encoding={bad}", content=body,
                                headers=api.auth("ingest", **{"content-type": "text/csv"}))
            assert r.status_code == 422 and "unknown encoding" in r.text, (bad, r.text)
        r = api.client.post("/v1/imports/csv?rubric_id=svc", content=body, headers=api.auth("reviewer"))
        assert r.status_code == 403
