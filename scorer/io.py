"""Read conversations from JSONL or a JSON array; a bad record is reported and the others go on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scorer._errors import ConversationError
from scorer.evidence import with_turn_labels
from scorer.limits import MAX_JSON_DEPTH
from scorer.types import MAX_ID_CHARS, Conversation

__all__ = ["BadRecord", "drop_duplicates", "json_depth", "parse_conversation", "printable", "read_conversations",
           "read_records"]

MAX_INPUT_LINE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class BadRecord:
    """A record that could not be read as a conversation: where it was and why."""

    location: str
    reason: str
    conversation_id: str | None = None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if loc == "turns" and err["type"] == "too_short":
            message = "the conversation has no turns"
        elif err["type"] == "string_unicode":
            message = "contains a lone surrogate (half of a UTF-16 pair, e.g. \\ud800), which is not text"
        elif isinstance(err.get("input"), str | int | float) and err["type"] != "missing":
            shown = str(err["input"])
            message += f" (got {shown[:40]!r}{'…' if len(shown) > 40 else ''})"
        parts.append(f"{loc}: {message}" if loc else message)
    return printable(with_turn_labels("; ".join(parts)))


def parse_conversation(record: Any, *, location: str = "input", max_id_length: int = MAX_ID_CHARS) -> Conversation:
    """Validate one record as a :class:`Conversation`; raises :class:`ConversationError` with a clear reason."""
    if not isinstance(record, dict):
        raise ConversationError(f"{location}: expected a JSON object, got {type(record).__name__}")
    try:
        conversation = Conversation.model_validate(record)
    except ValidationError as exc:
        raise ConversationError(f"{location}: {_describe(exc)}") from exc
    if len(conversation.id) > max_id_length:
        raise ConversationError(f"{location}: id: {len(conversation.id)} characters, over the limit of "
                                f"{max_id_length} (RUBRICATE_MAX_ID_LENGTH)")
    return conversation


def json_depth(value: Any) -> int:
    """How deeply objects and arrays nest in parsed JSON (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            stack += [(v, depth) for v in (item.values() if isinstance(item, dict) else item)]
    return deepest


def _loads(text: str, location: str, max_depth: int) -> Any:
    """One JSON value, or a :class:`BadRecord` saying why not (syntax, nesting beyond ``max_depth``)."""
    too_deep = f"JSON nested more than {max_depth} levels deep (RUBRICATE_MAX_JSON_DEPTH)"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadRecord(location, f"not valid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return BadRecord(location, too_deep)
    if json_depth(value) > max_depth:
        cid = value.get("id") if isinstance(value, dict) else None
        return BadRecord(location, too_deep, printable(str(cid)) if isinstance(cid, str | int) else None)
    return value


def printable(text: str) -> str:
    """``text`` safe to print and encode: lone surrogates become ``\\udXXX`` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _open(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ConversationError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise ConversationError(f"{path}: is a directory; give a .jsonl or .json file (e.g. {path}/*.jsonl, "
                                "one at a time)") from exc
    except PermissionError as exc:
        raise ConversationError(f"{path}: permission denied; check the file's permissions") from exc


def read_records(path: str | Path, *, max_depth: int = MAX_JSON_DEPTH) -> Iterator[tuple[str, Any]]:
    """Yield ``(location, record)`` from a JSONL file or a file holding one JSON array.

    A line that is not UTF-8 or not JSON, or nests deeper than ``max_depth``, is yielded as
    ``(location, BadRecord)`` so the caller can report it; the other lines go on.
    """
    path = Path(path)
    raw = _open(path).removeprefix(b"\xef\xbb\xbf")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConversationError(f"{path}: not UTF-8 (UTF-16 byte order mark); convert it, e.g. iconv -f UTF-16 "
                                "-t UTF-8")
    if not raw.strip():
        raise ConversationError(f"{path}: the file is empty")
    if raw.lstrip().startswith(b"["):
        yield from _read_array(path, raw, max_depth)
        return
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        location = f"{path}:{number}"
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield location, BadRecord(location, f"not UTF-8 ({exc.reason} at byte {exc.start} of the line); "
                                                "convert the file, e.g. iconv -t UTF-8")
            continue
        if line.strip():
            yield location, _loads(line, location, max_depth)


def _read_array(path: Path, raw: bytes, max_depth: int) -> Iterator[tuple[str, Any]]:
    """The records of a JSON array one at a time, so that one bad (too deep) record does not sink the others."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConversationError(
            f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); convert it, e.g. iconv -t UTF-8, or write "
            "one conversation per line (JSONL) so that only the bad line is refused") from exc
    decoder = json.JSONDecoder()
    pos = _skip_space(text, text.index("[") + 1)
    index = 0
    while pos < len(text) and text[pos] != "]":
        location = f"{path}[{index}]"
        try:
            record, end = decoder.raw_decode(text, pos)
            depth = json_depth(record)
        except RecursionError:
            record, end, depth = None, _end_of_value(text, pos, path), max_depth + 1
        except json.JSONDecodeError as exc:
            raise ConversationError(f"{path}: not a valid JSON array: {exc.msg} at line {exc.lineno} column "
                                    f"{exc.colno}; records before it were not read either, fix and re-run") from exc
        if depth > max_depth:
            yield location, BadRecord(location, f"JSON nested more than {max_depth} levels deep "
                                                "(RUBRICATE_MAX_JSON_DEPTH)")
        else:
            yield location, record
        index += 1
        pos = _skip_space(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_space(text, pos + 1)
        elif pos >= len(text) or text[pos] != "]":
            raise ConversationError(f"{path}: not a valid JSON array: expected ',' or ']' after record {index - 1}")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _end_of_value(text: str, pos: int, path: Path) -> int:
    """Where the array or object starting at ``pos`` ends (strings respected), without parsing it."""
    depth, in_string, i = 0, False, pos
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ConversationError(f"{path}: not a valid JSON array: a record starting at character {pos} never ends")


def read_conversations(path: str | Path, *, max_depth: int = MAX_JSON_DEPTH, max_id_length: int = MAX_ID_CHARS
                       ) -> Iterator[Conversation | BadRecord]:
    """Yield each conversation of the file, or a :class:`BadRecord` for one that is malformed."""
    for location, record in read_records(path, max_depth=max_depth):
        if isinstance(record, BadRecord):
            yield record
            continue
        try:
            yield parse_conversation(record, location=location, max_id_length=max_id_length)
        except ConversationError as exc:
            cid = record.get("id") if isinstance(record, dict) else None
            shown = printable(str(cid))[:80] if cid else None
            yield BadRecord(location, str(exc).removeprefix(f"{location}: "), shown)


def drop_duplicates(records: Iterable[Conversation | BadRecord]
                    ) -> tuple[list[Conversation | BadRecord], list[str]]:
    """Keep the first conversation of each id; the warnings name the later copies, which are not scored."""
    kept: list[Conversation | BadRecord] = []
    first: dict[str, int] = {}
    warnings: list[str] = []
    for number, record in enumerate(records):
        if isinstance(record, Conversation):
            if record.id in first:
                warnings.append(f"id {record.id!r} appears again (record {number + 1}, first at record "
                                f"{first[record.id] + 1}); only the first is scored")
                continue
            first[record.id] = number
        kept.append(record)
    return kept, warnings
