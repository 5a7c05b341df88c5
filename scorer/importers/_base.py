"""What every importer yields: conversations, and a :class:`Skipped` record for whatever it left out and why."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from scorer._errors import ConversationError
from scorer.types import Conversation

__all__ = ["ImportItem", "ImportReport", "Skipped", "Source", "build_conversation", "conversation_line", "open_source",
           "source_name"]

Source = str | Path | BinaryIO | bytes
"""A file path, an open binary file, or the bytes of one (the API passes a request body)."""


@dataclass(frozen=True)
class Skipped:
    """Something an importer did not turn into a turn or a conversation: where it was, and why."""

    location: str = field(metadata={"doc": "e.g. 'messages.csv:17' (line) or 'tickets.json record 3'"})
    reason: str
    conversation_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.location} ({self.conversation_id})" if self.conversation_id else self.location
        return f"{where}: {self.reason}"


ImportItem = Conversation | Skipped


@dataclass
class ImportReport:
    """Counts of one import, filled while its items stream past."""

    conversations: int = 0
    turns: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, item: ImportItem) -> None:
        if isinstance(item, Skipped):
            self.skipped.append(item)
        else:
            self.conversations += 1
            self.turns += len(item.turns)


def build_conversation(record: dict[str, object], location: str) -> Conversation | Skipped:
    """Validate an assembled conversation record; a record the model refuses becomes a :class:`Skipped`."""
    try:
        return Conversation.model_validate(record)
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'conversation'}: {e['msg']}" for e in exc.errors())
        cid = record.get("id")
        return Skipped(location, reasons, str(cid) if cid else None)


def source_name(source: Source) -> str:
    """How a source is named in locations: the path, or ``input`` for a stream or bytes."""
    if isinstance(source, str | Path):
        return str(source)
    return str(getattr(source, "name", "input"))


@contextmanager
def open_source(source: Source) -> Iterator[BinaryIO]:
    """Open a path for binary reading (a clear error when it is missing), or pass a stream through."""
    if isinstance(source, bytes):
        yield io.BytesIO(source)
    elif isinstance(source, str | Path):
        try:
            handle = Path(source).open("rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError as exc:
            raise ConversationError(f"{source}: no such file") from exc
        except IsADirectoryError as exc:
            raise ConversationError(f"{source}: is a directory; give a file") from exc
        with handle:
            yield handle
    else:
        yield source


def conversation_line(conversation: Conversation) -> str:
    """One line of rubricate JSONL (no trailing newline): unset fields left out, text kept as UTF-8."""
    return json.dumps(conversation.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
