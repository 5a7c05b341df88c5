"""The rubricate CLI end to end with the fake judge: score, show, re-run, bad input and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app

RUBRIC = """id: cli
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
  - {id: solve, question: "Did the agent offer a solution?", scale: yes_no_na, weight: 2}
"""
GOOD = {"id": "a1", "channel": "chat", "language": "en",
        "turns": [{"speaker": "customer", "text": "My parcel is lost."},
                  {"speaker": "agent", "text": "Hello, I'm Sam. I will send a new parcel today."}]}


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("RUBRICATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RUBRICATE_DATABASE_URL", raising=False)
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC)
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(GOOD) + "\n" + json.dumps({**GOOD, "id": "a2"}) + "\n")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps(GOOD) + "\n{oops\n" + json.dumps({"id": "e", "turns": []}) + "\n")
    return {"rubric": rubric, "good": good, "mixed": mixed, "out": tmp_path / "scores.jsonl"}


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.output


def test_score_writes_the_documented_record_and_show_prints_it(files: dict[str, Path]) -> None:
    code, output = _run("score", str(files["good"]), "--rubric", str(files["rubric"]), "--judge", "fake:yes",
                        "--out", str(files["out"]))
    assert code == 0, output
    assert "2 scored" in output
    records = [json.loads(line) for line in files["out"].read_text().splitlines()]
    assert [r["conversation_id"] for r in records] == ["a1", "a2"]
    record = records[0]
    assert set(record) >= {"conversation_id", "rubric_id", "rubric_version", "judge", "score", "auto_failed",
                           "judgements"}
    j = record["judgements"][0]
    assert set(j) >= {"criterion_id", "question", "status", "answer", "reason", "confidence", "rationale",
                      "evidence", "dropped_quotes", "needs_review", "review_reasons"}
    turns = GOOD["turns"]
    for e in j["evidence"]:
        assert turns[e["turn"]]["text"][e["start"] : e["end"]] == e["quote"]  # type: ignore[index]
    assert j["dropped_quotes"] == 1  # the fake judge's invented quote
    code, output = _run("show", str(files["out"]))
    assert code == 0 and "a1" in output and "greet" in output and "Hello, I'm Sam." in output


def test_second_run_reads_from_the_store(files: dict[str, Path]) -> None:
    args = ("score", str(files["good"]), "--rubric", str(files["rubric"]), "--judge", "fake")
    assert _run(*args)[0] == 0
    code, output = _run(*args)
    assert code == 0 and "0 scored, 2 already stored" in output


def test_bad_records_are_reported_and_exit_is_nonzero(files: dict[str, Path]) -> None:
    code, output = _run("score", str(files["mixed"]), "--rubric", str(files["rubric"]), "--judge", "fake",
                        "--out", str(files["out"]))
    assert code == 1
    assert "1 scored" in output and "2 bad record(s)" in output
    assert "not valid JSON" in output and "no turns" in output
    assert len(files["out"].read_text().splitlines()) == 1


def test_unknown_judge_and_bad_rubric_are_clear_errors(files: dict[str, Path], tmp_path: Path) -> None:
    result = CliRunner().invoke(build_app(), ["score", str(files["good"]), "--rubric", str(files["rubric"]),
                                              "--judge", "oracle"])
    assert "unknown judge 'oracle'" in str(result.exception)
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\ncriteria:\n  - id: a\n    question: ''\n")
    result = CliRunner().invoke(build_app(), ["score", str(files["good"]), "--rubric", str(bad)])
    assert "criterion 'a': the question is empty" in str(result.exception)


def test_errors_print_plainly_without_traceback(files: dict[str, Path]) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "score", str(files["good"]),
         "--rubric", str(files["rubric"]), "--judge", "oracle"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "error: unknown judge 'oracle'" in proc.stderr
    assert "Traceback" not in proc.stderr
