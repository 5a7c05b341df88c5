"""The CLI side of the batch-mode tests: a rubric, conversations, and ``rubricate score --batch`` /
``--batch-resume`` run in-process against the loopback batch server (tests/openai_batch_server.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import build_app
from scorer.store import Store
from scorer.store.models import ScoreCardRow
from tests.openai_batch_server import BatchStub

__all__ = ["MODEL", "RUBRIC", "batch_files", "card_count", "conversation_record", "resume", "run_cli", "submit"]

RUBRIC = """id: batchy
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
  - {id: solve, question: "Did the agent offer a solution?", scale: yes_no_na}
  - id: name
    question: "Did the agent give their name?"
    check: {kind: phrases, require: ["I'm"], within: {first_turns: 2}}
"""
MODEL = "litellm/openai/gpt-4o-mini"


def conversation_record(cid: str) -> dict[str, object]:
    return {"id": cid, "channel": "chat", "language": "en", "turns": [
        {"speaker": "customer", "text": f"My parcel {cid} is lost, write to ann.lee@example.com please."},
        {"speaker": "agent", "text": "Hello, I'm Sam. I will send a new parcel today."}]}


def batch_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A rubric, three conversations and one excluded, the database and --out paths (the ``files`` fixture)."""
    monkeypatch.setenv("RUBRICATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RUBRICATE_DATABASE_URL", raising=False)
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC)
    convs = tmp_path / "convs.jsonl"
    convs.write_text("".join(json.dumps(conversation_record(c)) + "\n" for c in ("c1", "c2", "c3"))
                     + json.dumps({**conversation_record("t1"), "tags": ["test"]}) + "\n")  # excluded: never sent
    return {"rubric": rubric, "convs": convs, "db": tmp_path / "batch.db", "online": tmp_path / "online.db",
            "out": tmp_path / "batch.jsonl", "online_out": tmp_path / "online.jsonl"}


def run_cli(*args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, " ".join(result.output.split()), result.exception  # lines unwrapped


def submit(files: dict[str, Path], stub: BatchStub, *extra: str) -> tuple[int, str]:
    code, output, exc = run_cli("score", str(files["convs"]), "--rubric", str(files["rubric"]), "--judge", MODEL,
                             "--api-base", stub.base_url, "--db", f"sqlite:///{files['db']}", "--batch", *extra)
    assert code == 0, (output, exc)
    found = re.search(r"provider batch job (\d+)", output)
    assert found, output
    return int(found.group(1)), output


def resume(files: dict[str, Path], job: int, *extra: str) -> tuple[int, str]:
    code, output, exc = run_cli("score", "--batch-resume", str(job), "--db", f"sqlite:///{files['db']}", *extra)
    assert code in (0, 1), (output, exc)
    return code, output


def card_count(files: dict[str, Path]) -> int:
    store = Store(f"sqlite:///{files['db']}")
    try:
        with store.session() as s:
            return int(s.scalar(select(func.count()).select_from(ScoreCardRow)) or 0)
    finally:
        store.close()
