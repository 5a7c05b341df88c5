"""Importers: bring conversations in from where they live (message-per-row CSV, Zendesk, Intercom and Freshdesk
exports, WhisperX and WebVTT transcripts).

Each importer is a pure, streaming reader: it yields :class:`~scorer.types.Conversation` objects and a
:class:`Skipped` record (location and reason) for everything it leaves out, so nothing is dropped silently.
Formats are named in a string registry (:data:`FORMATS`); :func:`get_importer` loads one by name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from scorer._errors import ConversationError
from scorer.importers._base import ImportItem, ImportReport, Skipped, Source, conversation_line
from scorer.importers._csv_setup import DEFAULT_SPEAKER_VALUES, FIELDS, CsvOptions
from scorer.importers._speech import AGENT_RULES, DEFAULT_AGENT_RULE, DEFAULT_MERGE_GAP, AgentRule, SpeechOptions

__all__ = [
    "AGENT_RULES",
    "DEFAULT_AGENT_RULE",
    "DEFAULT_MERGE_GAP",
    "DEFAULT_SPEAKER_VALUES",
    "FIELDS",
    "FORMATS",
    "AgentRule",
    "CsvOptions",
    "Format",
    "ImportItem",
    "ImportReport",
    "Skipped",
    "Source",
    "SpeechOptions",
    "conversation_line",
    "get_importer",
    "read_format",
]


@dataclass(frozen=True)
class Format:
    """One importable format: its reader (``module:function``), what options it takes, and a line of help."""

    reader: str
    options: str
    help: str


FORMATS: dict[str, Format] = {
    "csv": Format("scorer.importers.csv_rows:read_csv", "csv", "one row per message (spreadsheet, BI export)"),
    "zendesk": Format("scorer.importers.zendesk:read_zendesk", "helpdesk", "Zendesk tickets with comments"),
    "intercom": Format("scorer.importers.intercom:read_intercom", "helpdesk",
                       "Intercom conversations with conversation parts"),
    "freshdesk": Format("scorer.importers.freshdesk:read_freshdesk", "helpdesk",
                        "Freshdesk tickets with conversations"),
    "whisperx": Format("scorer.importers.whisperx:read_whisperx", "speech",
                       "WhisperX JSON: segments with start, end, text, speaker"),
    "webvtt": Format("scorer.importers.vtt:read_webvtt", "speech", "WebVTT captions with <v Speaker> voices"),
}
"""Every format by name; ``options`` says which options object its reader takes (csv: :class:`CsvOptions`,
speech: :class:`SpeechOptions`, helpdesk: ``include_notes``)."""


def get_importer(name: str) -> Callable[..., Iterator[ImportItem]]:
    """The reader of format ``name``; an unknown name is a clear error listing the known ones."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise ConversationError(f"unknown import format {name!r}; the formats are {', '.join(FORMATS)}")
    module, _, function = fmt.reader.partition(":")
    reader: Callable[..., Iterator[ImportItem]] = getattr(importlib.import_module(module), function)
    return reader


def read_format(name: str, source: Source, *, csv: CsvOptions | None = None, speech: SpeechOptions | None = None,
                include_notes: bool = False) -> Iterator[ImportItem]:
    """Read ``source`` as format ``name``, passing each reader the options of its kind."""
    reader = get_importer(name)
    kind = FORMATS[name].options
    by_kind: dict[str, dict[str, Any]] = {"csv": {"options": csv}, "speech": {"options": speech},
                                          "helpdesk": {"include_notes": include_notes}}
    arguments = by_kind[kind]
    return reader(source, **arguments)
