"""Hostile but fair input to the CLI and the readers (the reproductions of issue 13): markup in data, lone
surrogates, deep nesting, undecodable lines, bad paths, duplicate ids, unaddressable ids. Every case gives a clear
one-line error naming the file/line or field, and the valid conversations beside it are still scored."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from cli import main
from scorer._errors import ConversationError
from scorer.io import BadRecord, read_conversations
from scorer.types import Conversation

RUBRIC = """id: hostile
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
"""
TEXTS = {"en": "Hello, I'm Sam [/quote] [/red] [b]. I will send a new parcel today.",
         "zh": "您好，我是小王 [/red]。我们今天给您补发包裹。",
         "ro": "Bună ziua, sunt Ana [/b]. Vă trimit azi un colet nou.",
         "bg": "Здравейте, аз съм Иван [/i]. Ще ви изпратя нов пакет днес."}


def conv(cid: str, lang: str = "en", speaker: str = "agent", **extra: object) -> dict[str, object]:
    return {"id": cid, "language": lang, "turns": [{"speaker": "customer", "text": "Where is my parcel? [/quote]"},
                                                   {"speaker": speaker, "text": TEXTS[lang]}], **extra}


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the real entry point (our error printing included) in-process; exit code and stdout+stderr (wide
    enough that Rich wraps no line)."""
    saved = sys.argv, os.environ.get("COLUMNS")
    sys.argv = ["rubricate", *args]
    os.environ["COLUMNS"] = "400"
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = saved[0]
        if saved[1] is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved[1]
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RUBRICATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RUBRICATE_DATABASE_URL", raising=False)
    (tmp_path / "r.yaml").write_text(RUBRIC)
    return tmp_path


def _score(env: Path, lines: list[str] | bytes, capsys: pytest.CaptureFixture[str], *more: str
           ) -> tuple[int, str, list[dict[str, object]]]:
    source = env / "in.jsonl"
    if isinstance(lines, bytes):
        source.write_bytes(lines)
    else:
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = env / "out.jsonl"
    code, text = run_main(["score", str(source), "-r", str(env / "r.yaml"), "--judge", "fake", "--out", str(out),
                           *more], capsys)
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return code, text, records


def test_markup_in_ids_speakers_and_text_is_printed_verbatim(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # ids may not hold '/', so a closing tag like [/b] is refused (printed verbatim); opening tags are kept as text
    lines = [json.dumps(conv(f"mk-[red]-{lang}", lang), ensure_ascii=False) for lang in TEXTS]
    lines.insert(1, json.dumps({"id": "bad-[b]", "turns": [{"speaker": "[/quote]", "text": "x"}]}))
    lines.insert(2, json.dumps(conv("mk-[/b]")))
    lines.append(json.dumps(conv("last-[bold]")))  # the last id is what the final progress-bar render shows
    code, out, records = _score(env, lines, capsys)
    assert [r["conversation_id"] for r in records] == [*(f"mk-[red]-{lang}" for lang in TEXTS), "last-[bold]"]
    assert code == 1  # two bad records
    assert "MarkupError" not in out and "Traceback" not in out
    assert "'[/quote]'" in out  # the speaker named in the error, as written
    assert "'mk-[/b]'" in out and "in.jsonl:3" in out
    assert "last-[bold]" in out
    code, shown = run_main(["show", str(env / "out.jsonl")], capsys)
    assert code == 0, shown
    assert "mk-[red]-en" in shown and "mk-[red]-zh" in shown
    assert "[/quote] [/red] [b]" in shown  # the evidence quote, as written
    code, shown = run_main(["show", str(env / "out.jsonl"), "--summary"], capsys)
    assert code == 0 and "mk-[red]-bg" in shown


def test_lone_surrogate_is_refused_alone(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = json.dumps(conv("sur", "zh")).replace("Where is", "Where \\ud800 is")
    code, out, records = _score(env, [json.dumps(conv("ok-en")), bad, json.dumps(conv("ok-bg", "bg"))], capsys)
    assert [r["conversation_id"] for r in records] == ["ok-en", "ok-bg"]
    assert code == 1
    assert "in.jsonl:2" in out and "lone surrogate" in out and "turns.0.text (turn 1)" in out
    assert "Traceback" not in out


def test_deep_json_is_refused_alone(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = ('{"id": "deep", "turns": [{"speaker": "agent", "text": "hi"}], "metadata": '
            + "[" * 10_000 + "]" * 10_000 + "}")
    medium = json.dumps(conv("medium", "ro", metadata={"a": json.loads("[" * 100 + "]" * 100)}))
    code, out, records = _score(env, [deep, json.dumps(conv("ok-ro", "ro")), medium], capsys)
    assert [r["conversation_id"] for r in records] == ["ok-ro"] and code == 1
    assert "in.jsonl:1" in out and "in.jsonl:3" in out and "RUBRICATE_MAX_JSON_DEPTH" in out


def test_deep_record_in_a_json_array_loses_nothing_else(tmp_path: Path) -> None:
    deep = '{"id": "deep", "metadata": ' + "[" * 5000 + '"]"' + "]" * 5000 + "}"
    path = tmp_path / "a.json"
    path.write_text(f'[{json.dumps(conv("a"))}, {deep}, {json.dumps(conv("b", "zh"))}]')
    got = list(read_conversations(path))
    assert [c.id for c in got if isinstance(c, Conversation)] == ["a", "b"]
    assert isinstance(got[1], BadRecord) and got[1].location.endswith("[1]")


def test_undecodable_byte_refuses_only_its_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = (json.dumps(conv("u1", "bg"), ensure_ascii=False).encode() + b"\n"
            + json.dumps(conv("u2")).encode().replace(b"parcel", b"parc\xff") + b"\n"
            + json.dumps(conv("u3", "ro"), ensure_ascii=False).encode() + b"\n")
    code, out, records = _score(env, data, capsys)
    assert [r["conversation_id"] for r in records] == ["u1", "u3"] and code == 1
    assert "in.jsonl:2" in out and "not UTF-8" in out


def test_directory_and_missing_out_folder(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_main(["score", str(env), "-r", str(env / "r.yaml"), "--judge", "fake"], capsys)
    assert code == 2 and "is a directory" in out and "Traceback" not in out
    (env / "in.jsonl").write_text(json.dumps(conv("x")) + "\n")
    code, out = run_main(["score", str(env / "in.jsonl"), "-r", str(env / "r.yaml"), "--judge", "fake",
                          "--out", str(env / "missing" / "s.jsonl")], capsys)
    assert code == 2 and "does not exist" in out and "mkdir -p" in out
    code, out = run_main(["score", str(env / "in.jsonl"), "-r", str(env), "--judge", "fake"], capsys)
    assert code == 2 and "is a directory" in out
    code, out = run_main(["show", str(env)], capsys)
    assert code == 2 and "is a directory" in out


def test_duplicate_ids_warned_and_scored_once(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps(conv("dup", lang), ensure_ascii=False) for lang in TEXTS]
    code, out, records = _score(env, lines, capsys, "--no-store")
    assert [r["conversation_id"] for r in records] == ["dup"]
    assert code == 0
    assert out.count("appears again") == 3 and "only the first is scored" in out


@pytest.mark.parametrize(("cid", "why"), [("a/b", "'/'"), ("x" * 256, "at most 255"), ("tab\there", "control")])
def test_unaddressable_ids_are_refused(cid: str, why: str, env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, records = _score(env, [json.dumps(conv(cid)), json.dumps(conv("fine", "zh"))], capsys)
    assert [r["conversation_id"] for r in records] == ["fine"] and code == 1
    assert why in out and "in.jsonl:1" in out


def test_configured_id_length_limit(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(conv("x" * 40)) + "\n")
    [record] = read_conversations(path, max_id_length=32)
    assert isinstance(record, BadRecord) and "RUBRICATE_MAX_ID_LENGTH" in record.reason


def test_error_lines_print_markup_verbatim(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (env / "bad.yaml").write_text("id: r\ncriteria:\n  - {id: q, question: 'Q?', scale: '[needs_improvement, good]'}\n")
    (env / "in.jsonl").write_text(json.dumps(conv("x")) + "\n")
    code, out = run_main(["score", str(env / "in.jsonl"), "-r", str(env / "bad.yaml"), "--judge", "fake"], capsys)
    assert code == 2
    assert "{levels: [needs_improvement, good, exceptional]}" in out
    assert len([line for line in out.splitlines() if line.startswith("error:")]) == 1


def test_missing_file_is_a_conversation_error(tmp_path: Path) -> None:
    with pytest.raises(ConversationError, match="no such file"):
        list(read_conversations(tmp_path / "nope.jsonl"))
