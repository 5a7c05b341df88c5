"""Reading conversations: JSONL or JSON arrays; every bad record is reported with where and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scorer import ConversationError
from scorer.io import BadRecord, read_conversations
from scorer.types import Conversation

GOOD = {"id": "g", "channel": "email", "language": "ro",
        "turns": [{"speaker": "Customer", "text": "Bună ziua, factura e greșită."},
                  {"speaker": "agent", "text": "Vă mulțumim, verificăm acum."}]}


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_with_bad_records(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "empty", "turns": []}),
        json.dumps({"id": "blank", "turns": [{"speaker": "agent", "text": "   "}]}),
        json.dumps({"id": "robot", "turns": [{"speaker": "robot", "text": "hi"}]}),
        json.dumps({"turns": [{"speaker": "agent", "text": "hi"}]}),
        json.dumps(["a", "list"]),
    ]
    results = list(read_conversations(_write(tmp_path, lines)))
    assert isinstance(results[0], Conversation) and results[0].turns[0].speaker == "customer"
    bad = [r for r in results if isinstance(r, BadRecord)]
    assert len(bad) == 6
    reasons = [b.reason for b in bad]
    assert "not valid JSON" in reasons[0]
    assert "turns" in reasons[1] and bad[1].conversation_id == "empty"
    assert "turn has no text" in reasons[2]
    assert "speaker" in reasons[3] and "robot" in reasons[3]
    assert "id" in reasons[4]
    assert "expected a JSON object" in reasons[5]
    assert all(b.location.startswith(str(tmp_path)) for b in bad)


def test_json_array(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps([GOOD, {**GOOD, "id": "h"}]), encoding="utf-8")
    assert [c.id for c in read_conversations(path) if isinstance(c, Conversation)] == ["g", "h"]


def test_non_utf8_and_empty_files(tmp_path: Path) -> None:
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(GOOD, ensure_ascii=False).encode("utf-16"))
    with pytest.raises(ConversationError, match="not UTF-8"):
        list(read_conversations(latin))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(ConversationError, match="empty"):
        list(read_conversations(empty))
    with pytest.raises(ConversationError, match="no such file"):
        list(read_conversations(tmp_path / "missing.jsonl"))


def test_two_megabyte_transcript_is_read(tmp_path: Path) -> None:
    big = {**GOOD, "id": "big", "turns": [{"speaker": "customer", "text": "x" * 2_000_000}]}
    [conv] = read_conversations(_write(tmp_path, [json.dumps(big)]))
    assert isinstance(conv, Conversation) and len(conv.turns[0].text) == 2_000_000
