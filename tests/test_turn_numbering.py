"""Turn numbers people read count from 1 everywhere (rule rationales, ``rubricate show``, the dashboard), while the
stored and API ``Evidence.turn`` stays the 0-based index into the transcript's turns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from scorer.rubric import parse_rubric
from scorer.rules.engine import answer_rules
from scorer.types import Conversation

RUBRIC = parse_rubric("""
id: turns
criteria:
  - id: forbidden
    question: Did the agent keep from saying "calm down"?
    check: {kind: phrases, forbid: ["calm down"]}
  - id: first
    question: Did the agent answer within a minute?
    check: {kind: first_response, max_seconds: 60}
""")
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _conversation(*timestamps: float | None) -> Conversation:
    texts = [("customer", "Hello?"), ("customer", "Anyone there?"), ("agent", "Please calm down, sir.")]
    return Conversation.model_validate({"id": "c", "channel": "chat", "language": "en", "turns": [
        {"speaker": s, "text": t, "timestamp": None if at is None else T0 + timedelta(seconds=at)}
        for (s, t), at in zip(texts, timestamps, strict=True)]})


def test_rule_rationales_count_turns_from_one_and_evidence_keeps_the_index() -> None:
    got = {j.criterion_id: j for j in answer_rules(_conversation(0, 10, 90), RUBRIC.criteria)}
    assert [e.turn for e in got["forbidden"].evidence] == [2]  # the stored index
    assert "“calm down” (turn 3)" in got["forbidden"].rationale
    assert "(turn 1 → turn 3)" in got["first"].rationale


def test_timing_rationale_names_turns_without_timestamps_from_one() -> None:
    got = {j.criterion_id: j for j in answer_rules(_conversation(None, 10, 90), RUBRIC.criteria)}
    assert got["first"].status == "unscored" and "on turn(s) 1:" in (got["first"].reason or "")


def test_show_cites_evidence_turns_from_one(tmp_path: Path) -> None:
    record = {"conversation_id": "c", "rubric_id": "turns", "rubric_version": "1", "judge": "rule", "score": 0.0,
              "auto_failed": False, "judgements": [
                  {"criterion_id": "forbidden", "status": "scored", "answer": "no", "confidence": 1.0,
                   "judge_id": "rule", "rationale": "", "needs_review": False, "review_reasons": [],
                   "evidence": [{"turn": 2, "start": 7, "end": 16, "quote": "calm down"}]}]}
    results = tmp_path / "scores.jsonl"
    results.write_text(json.dumps(record) + "\n")
    shown = CliRunner().invoke(build_app(), ["show", str(results)])
    assert shown.exit_code == 0, shown.output
    assert "[turn 3]" in shown.output and "[turn 2]" not in shown.output


def test_a_bad_turn_is_named_by_its_path_and_its_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUBRICATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RUBRICATE_DATABASE_URL", raising=False)
    rubric = tmp_path / "r.yaml"
    rubric.write_text("id: t\ncriteria:\n  - {id: greet, question: 'Did the agent greet the customer?'}\n")
    bad = tmp_path / "in.jsonl"
    bad.write_text(json.dumps({"id": "b", "channel": "chat", "turns": [
        {"speaker": "customer", "text": "Hello?"}, {"speaker": "agent"}]}) + "\n")
    result = CliRunner().invoke(build_app(), ["score", str(bad), "--rubric", str(rubric), "--judge", "fake"])
    assert result.exit_code == 1
    assert "turns.1.text (turn 2): Field required" in " ".join(result.output.split())
