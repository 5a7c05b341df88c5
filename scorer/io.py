"""Read conversations from JSONL or a JSON array; a bad record is reported and the others go on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scorer._errors import ConversationError
from scorer.types import Conversation

__all__ = ["BadRecord", "parse_conversation", "read_conversations", "read_records"]

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
        elif isinstance(err.get("input"), str | int | float) and err["type"] != "missing":
            shown = str(err["input"])
            message += f" (got {shown[:40]!r}{'…' if len(shown) > 40 else ''})"
        parts.append(f"{loc}: {message}" if loc else message)
    return "; ".join(parts)


def parse_conversation(record: Any, *, location: str = "input") -> Conversation:
    """Validate one record as a :class:`Conversation`; raises :class:`ConversationError` with a clear reason."""
    if not isinstance(record, dict):
        raise ConversationError(f"{location}: expected a JSON object, got {type(record).__name__}")
    try:
        return Conversation.model_validate(record)
    except ValidationError as exc:
        raise ConversationError(f"{location}: {_describe(exc)}") from exc


def read_records(path: str | Path) -> Iterator[tuple[str, Any]]:
    """Yield ``(location, record)`` from a JSONL file or a file holding one JSON array.

    Lines that are not JSON are yielded as ``(location, BadRecord)`` so the caller can report them.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConversationError(f"{path}: no such file") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConversationError(
            f"{path}: not UTF-8 ({exc.reason} at byte {exc.start}); convert it, e.g. iconv -t UTF-8"
        ) from exc
    stripped = text.lstrip()
    if not stripped:
        raise ConversationError(f"{path}: the file is empty")
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ConversationError(f"{path}: not a valid JSON array: {exc}") from exc
        for index, record in enumerate(data):
            yield f"{path}[{index}]", record
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        location = f"{path}:{number}"
        try:
            yield location, json.loads(line)
        except json.JSONDecodeError as exc:
            yield location, BadRecord(location, f"not valid JSON: {exc.msg} at column {exc.colno}")


def read_conversations(path: str | Path) -> Iterator[Conversation | BadRecord]:
    """Yield each conversation of the file, or a :class:`BadRecord` for one that is malformed."""
    for location, record in read_records(path):
        if isinstance(record, BadRecord):
            yield record
            continue
        try:
            yield parse_conversation(record, location=location)
        except ConversationError as exc:
            cid = record.get("id") if isinstance(record, dict) else None
            yield BadRecord(location, str(exc).removeprefix(f"{location}: "), str(cid) if cid else None)
