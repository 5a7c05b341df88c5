"""Property-based fuzzing (hypothesis) of the parsers: the conversation reader, the rubric parser, evidence location
and PII redaction. Whatever the input, no exception type other than ours escapes; evidence offsets are always
verbatim; redaction always round-trips. (The atheris target tests/fuzz_readers.py runs the readers longer.)"""

from __future__ import annotations

import contextlib
import json
import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scorer._errors import RubricateError
from scorer.evidence import locate_quote
from scorer.io import BadRecord, read_conversations
from scorer.redact import Redactor
from scorer.rubric import parse_rubric
from scorer.types import Conversation

FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# the four seed languages' alphabets, markup brackets, quotes, digits, whitespace and a few awkward characters
ALPHABET = st.sampled_from(list(string.ascii_letters + string.digits + " \t\n.,:;!?[]/{}\"'<>&@+-_")
                           + list("您好我是小王包裹。，？ăâîșțĂÂÎȘȚабвгдежзийклмнопрстуфхцчшщъьюяАБВ")
                           + ["\u200b", "\ufeff"])
TEXT = st.text(ALPHABET, min_size=1, max_size=80).filter(lambda t: t.strip() != "")
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=4), max_leaves=20)
SPEAKERS = st.sampled_from(["agent", "customer", "system", "bot", "Agent ", "[/red]", "", 3])


def conversations() -> st.SearchStrategy[dict[str, object]]:
    turn = st.fixed_dictionaries({"speaker": SPEAKERS, "text": TEXT | JSON_LEAF})
    return st.fixed_dictionaries({"id": st.text(ALPHABET, max_size=12) | st.integers(),
                                  "turns": st.lists(turn, max_size=3)},
                                 optional={"metadata": JSON, "channel": st.sampled_from(["chat", "email", "fax"]),
                                           "language": st.sampled_from(["en", "zh", "ro", "bg"])})


def _read(data: bytes, suffix: str = ".jsonl") -> list[Conversation | BadRecord]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"in{suffix}"
        path.write_bytes(data)
        try:
            return list(read_conversations(path))
        except RubricateError:
            return []


@FAST
@given(st.binary(max_size=400))
def test_reader_survives_any_bytes(data: bytes) -> None:
    for record in _read(data):
        assert isinstance(record, Conversation | BadRecord)
    _read(b"[" + data)


@FAST
@given(st.lists(conversations() | JSON, max_size=6), st.lists(st.binary(max_size=20), max_size=2))
def test_reader_loses_no_valid_record(records: list[object], junk: list[bytes]) -> None:
    lines = [json.dumps(r, ensure_ascii=False).encode("utf-8", "surrogatepass") for r in records]
    lines += [j.replace(b"\n", b" ").replace(b"\r", b" ") for j in junk]
    got = _read(b"\n".join(lines) + b"\n")
    valid = []
    for record in records:
        try:
            valid.append(Conversation.model_validate(record).id)
        except Exception:
            continue
    assert [c.id for c in got if isinstance(c, Conversation)] == valid


@FAST
@given(st.text(max_size=300))
def test_rubric_parser_raises_only_ours_on_any_text(text: str) -> None:
    with contextlib.suppress(RubricateError):
        parse_rubric(text)


CRITERION = st.dictionaries(
    st.sampled_from(["id", "question", "category", "scale", "weight", "auto_fail", "guidance", "applies_when", "x"]),
    JSON | st.sampled_from(["yes_no", "1-5", "yes_no_na", "q1", "Did the agent greet?"]), max_size=6)


@FAST
@given(st.dictionaries(st.sampled_from(["id", "name", "description", "criteria"]),
                       JSON | st.lists(CRITERION, max_size=3), max_size=4))
def test_rubric_parser_raises_only_ours_on_any_structure(data: dict[str, object]) -> None:
    try:
        rubric = parse_rubric(yaml.safe_dump(data, allow_unicode=True))
    except RubricateError:
        return
    for criterion in rubric.criteria:
        assert isinstance(criterion.auto_fail, bool) and criterion.weight >= 0 and criterion.weight < float("inf")


@FAST
@given(st.lists(TEXT, min_size=1, max_size=4), st.data())
def test_located_evidence_is_always_verbatim(texts: list[str], data: st.DataObject) -> None:
    conversation = Conversation(id="f", turns=[{"speaker": "agent", "text": t} for t in texts])
    turn = data.draw(st.integers(0, len(texts) - 1))
    text = texts[turn]
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    quote = data.draw(st.sampled_from([text[start:end], text[start:end].upper(), f"“{text[start:end]}…”"])
                      | TEXT)
    evidence = locate_quote(conversation, quote)
    if evidence is not None:
        assert conversation.turns[evidence.turn].text[evidence.start:evidence.end] == evidence.quote
    exact = text[start:end].strip()
    if exact and exact.strip("\"'“”‘’«»「」『』„.…") == exact and len(exact) >= 3:
        found = locate_quote(conversation, exact)
        assert found is not None and found.quote == exact


PII = st.sampled_from(["john.doe@example.com", "4111 1111 1111 1111", "+1 415 555 2671", "11010519491231002X",
                       "1800101221144", "7523169263", "RO49 AAAA 1B31 0075 9384 0000", "li.wei@example.cn",
                       "0888 123 456", "<EMAIL_1>"])


@FAST
@given(st.lists(st.lists(TEXT | PII, min_size=1, max_size=5), min_size=1, max_size=3))
def test_redaction_round_trips_and_is_stable(turns: list[list[str]]) -> None:
    texts = [" ".join(parts) for parts in turns]
    assume(all(t.strip() for t in texts))
    conversation = Conversation(id="r", turns=[{"speaker": "customer", "text": t} for t in texts])
    redacted, redaction = Redactor().redact(conversation)
    for before, after in zip(conversation.turns, redacted.turns, strict=True):
        assert redaction.restore(after.text) == before.text
    assert sum(redaction.counts.values()) >= len(redaction.originals)
    again, second = Redactor().redact(conversation)
    assert again == redacted and second.originals == redaction.originals  # stable placeholders
