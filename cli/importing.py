"""``rubricate import FORMAT FILE --out conversations.jsonl``: bring conversations in from helpdesk exports, CSV
and speech-to-text transcripts. Also the shared options and reader behind ``rubricate score --format``."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from cli._common import console, err_console
from scorer._errors import ConversationError
from scorer.importers import (
    AGENT_RULES,
    DEFAULT_AGENT_RULE,
    DEFAULT_MERGE_GAP,
    DEFAULT_SPEAKER_VALUES,
    FIELDS,
    FORMATS,
    CsvOptions,
    ImportItem,
    ImportReport,
    Skipped,
    SpeechOptions,
    conversation_line,
    read_format,
)
from scorer.importers._time import parse_time
from scorer.io import BadRecord
from scorer.types import Conversation

__all__ = [
    "AgentSpeakerOption", "AgentValues", "BotValues", "ColumnsOption", "CustomerValues", "FormatOption",
    "read_for_scoring", "register",
]

SHOWN_SKIPS = 30

OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Write rubricate JSONL here (default: stdout).")]
ColumnsOption = Annotated[str | None, typer.Option(
    "--columns", help=f"Rename columns FIELD=COLUMN,… Fields: {', '.join(FIELDS)}.")]
AgentValues = Annotated[str | None, typer.Option(
    "--agent-values", help=f"Speaker values meaning agent (default: {','.join(DEFAULT_SPEAKER_VALUES['agent'])}).")]
CustomerValues = Annotated[str | None, typer.Option(
    "--customer-values",
    help=f"Speaker values meaning customer (default: {','.join(DEFAULT_SPEAKER_VALUES['customer'])}).")]
BotValues = Annotated[str | None, typer.Option("--bot-values", help="Speaker values meaning bot (default: bot).")]
AgentSpeakerOption = Annotated[list[str] | None, typer.Option(
    "--agent-speaker", help="The agent's speaker label, e.g. SPEAKER_00 (repeat for several). Default: --agent-rule.")]
FormatOption = Annotated[str, typer.Option(
    "--format", "-f", help=f"Input format: jsonl (rubricate's own) or one of {', '.join(FORMATS)}.")]
NotesOption = Annotated[bool, typer.Option(
    "--include-notes", help="Keep internal notes in metadata.internal_notes (never in the transcript).")]
StrictOption = Annotated[bool, typer.Option("--strict", help="Exit with 1 when anything was skipped.")]


@contextmanager
def _progress_file(path: Path, label: str) -> Iterator[tuple[BinaryIO, Progress, TaskID]]:
    """The file opened for reading behind a progress bar that follows the bytes read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConversationError(f"{path}: no such file") from None
    progress = Progress(TextColumn(f"[bold]{escape(label)}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                        TextColumn("{task.fields[done]}"), console=err_console, transient=False)
    with progress, path.open("rb") as raw:
        task = progress.add_task(label, total=size, done="")
        handle = io.BufferedReader(progress.wrap_file(raw, total=size, task_id=task))  # type: ignore[type-var,arg-type]
        yield handle, progress, task


def _write(items: Iterator[ImportItem], out: Path | None, progress: Progress, task: TaskID) -> ImportReport:
    """Write conversations as JSONL (to a temporary file renamed at the end) and report skips as they come."""
    report = ImportReport()
    partial = out.with_name(out.name + ".partial") if out else None
    sink = partial.open("w", encoding="utf-8") if partial else None
    try:
        for item in items:
            report.add(item)
            if isinstance(item, Skipped):
                if len(report.skipped) <= SHOWN_SKIPS:
                    progress.console.print(f"[yellow]skipped[/] {escape(str(item))}")
                continue
            if "agent_rule" in item.metadata:  # a call: say whose voice was taken for the agent, and why
                progress.console.print(f"{escape(item.id)}: speakers {escape(str(item.metadata.get('speakers')))} — "
                                       f"{escape(str(item.metadata['agent_rule']))}")
            line = conversation_line(item) + "\n"
            if sink is not None:
                sink.write(line)
            else:
                console.file.write(line)
            progress.update(task, done=f"{report.conversations} conversation(s)")
    except BaseException:
        if sink is not None:
            sink.close()
            partial.unlink(missing_ok=True)  # type: ignore[union-attr]
        raise
    if sink is not None:
        sink.close()
        os.replace(partial, out)  # type: ignore[arg-type]
    return report


def _finish(report: ImportReport, out: Path | None, strict: bool) -> None:
    extra = len(report.skipped) - SHOWN_SKIPS
    if extra > 0:
        err_console.print(f"… and {extra} more skipped")
    if report.skipped and out is not None:
        skipped_file = out.with_name(out.name + ".skipped.txt")
        skipped_file.write_text("".join(f"{s}\n" for s in report.skipped), encoding="utf-8")
        err_console.print(f"every skipped record with its reason: {escape(str(skipped_file))}")
    err_console.print(f"[bold]{report.conversations}[/] conversation(s), {report.turns} turn(s) imported; "
                      f"[yellow]{len(report.skipped)}[/] record(s) skipped"
                      + (f" → {escape(str(out))}   (score with: rubricate score {escape(str(out))} --rubric R.yaml)"
                         if out else ""))
    if strict and report.skipped:
        raise typer.Exit(1)


def _run(fmt: str, path: Path, out: Path | None, strict: bool, **options: object) -> None:
    with _progress_file(path, f"importing {fmt}") as (handle, progress, task):
        report = _write(read_format(fmt, handle, **options), out, progress, task)  # type: ignore[arg-type]
    _finish(report, out, strict)


def csv_options(columns: str | None, agent_values: str | None, customer_values: str | None,
                bot_values: str | None, encoding: str | None = None, delimiter: str | None = None) -> CsvOptions:
    return CsvOptions.from_strings(columns, agent_values, customer_values, bot_values, encoding, delimiter)


def speech_options(path: Path, agent_speaker: list[str] | None, agent_rule: str, conversation_id: str | None,
                   started_at: str | None, merge_gap: float) -> SpeechOptions:
    if agent_rule not in AGENT_RULES:
        raise ConversationError(f"--agent-rule must be one of {', '.join(AGENT_RULES)}, not {agent_rule!r}")
    try:
        start: datetime | None = parse_time(started_at)
    except ValueError as exc:
        raise ConversationError(f"--started-at: {exc}") from None
    return SpeechOptions(conversation_id=conversation_id or path.stem, agent_speakers=tuple(agent_speaker or ()),
                         agent_rule=agent_rule, started_at=start, merge_gap=merge_gap)  # type: ignore[arg-type]


def read_for_scoring(fmt: str, path: Path, *, columns: str | None = None, agent_values: str | None = None,
                     customer_values: str | None = None, bot_values: str | None = None,
                     agent_speaker: list[str] | None = None) -> Iterator[Conversation | BadRecord]:
    """Conversations of a file in any import format, skips as :class:`BadRecord` (what ``score`` reports)."""
    if fmt not in FORMATS:
        raise ConversationError(f"unknown --format {fmt!r}; use jsonl or one of {', '.join(FORMATS)}")
    items = read_format(fmt, path, csv=csv_options(columns, agent_values, customer_values, bot_values),
                        speech=speech_options(path, agent_speaker, DEFAULT_AGENT_RULE, None, None, DEFAULT_MERGE_GAP))
    for item in items:
        yield BadRecord(item.location, item.reason, item.conversation_id) if isinstance(item, Skipped) else item


import_app = typer.Typer(
    help="Convert helpdesk exports, CSV and speech-to-text transcripts to rubricate JSONL (see docs/importing.md).",
    no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(help="The file to import.")]


@import_app.command("csv")
def import_csv(
    file: FileArg, out: OutOption = None, columns: ColumnsOption = None, agent_values: AgentValues = None,
    customer_values: CustomerValues = None, bot_values: BotValues = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding when not UTF-8/UTF-16 (e.g. cp1252).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="Field delimiter (default: sniffed; \\t for tab).")] = None,
    strict: StrictOption = False,
) -> None:
    """One row per message: rows grouped by conversation_id and ordered by timestamp; extra columns go to
    metadata. UTF-8 (with or without BOM) and UTF-16 as Excel writes it; the delimiter is sniffed."""
    _run("csv", file, out, strict, csv=csv_options(columns, agent_values, customer_values, bot_values, encoding,
                                                   delimiter))


def _helpdesk(fmt: str, doc: str) -> None:
    def command(file: FileArg, out: OutOption = None, include_notes: NotesOption = False,
                strict: StrictOption = False) -> None:
        _run(fmt, file, out, strict, include_notes=include_notes)

    command.__doc__ = " ".join(doc.split())
    import_app.command(fmt)(command)


_helpdesk("zendesk", """Zendesk tickets with comments (JSON export, or the API's tickets with users sideloaded).
    Public comments become turns; internal notes stay out (--include-notes keeps them in metadata).""")
_helpdesk("intercom", """Intercom conversations (GET /conversations/{id}): the source message and the conversation
    parts; admin → agent, user/lead → customer, bot and AI-agent parts → bot; notes stay out.""")
_helpdesk("freshdesk", """Freshdesk tickets with conversations (include=conversations): the description and the
    replies; incoming → customer, others → agent; private notes stay out.""")


def _speech(fmt: str, doc: str) -> None:
    def command(
        file: FileArg, out: OutOption = None, agent_speaker: AgentSpeakerOption = None,
        agent_rule: Annotated[str, typer.Option(
            help="Without --agent-speaker: 'greeting' (who greets, else the first speaker) or 'first'.")]
        = DEFAULT_AGENT_RULE,
        conversation_id: Annotated[str | None, typer.Option("--id", help="Conversation id (default: file name).")]
        = None,
        started_at: Annotated[str | None, typer.Option(
            "--started-at", help="When the call began (ISO 8601); turn times = this + segment offsets.")] = None,
        merge_gap: Annotated[float, typer.Option(
            help="Seconds of silence that split one speaker's segments into two turns.")] = DEFAULT_MERGE_GAP,
        strict: StrictOption = False,
    ) -> None:
        options = speech_options(file, agent_speaker, agent_rule, conversation_id, started_at, merge_gap)
        _run(fmt, file, out, strict, speech=options)

    command.__doc__ = " ".join(doc.split())
    import_app.command(fmt)(command)


_speech("whisperx", """WhisperX JSON (segments with start, end, text, speaker) → one call: consecutive segments of a
    speaker merged into turns with timestamp and end; the agent by --agent-speaker or by --agent-rule.""")
_speech("webvtt", """WebVTT captions with <v Speaker> voices → one call, as for whisperx.""")


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
