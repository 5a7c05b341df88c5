"""One row per message CSV (spreadsheet and BI exports) → conversations.

Rows are grouped by ``conversation_id`` wherever they are in the file and ordered by ``timestamp`` (stable: rows
with the same time, or without one, keep their file order). To do that in bounded memory the rows are spilled to
a temporary SQLite file keyed by (conversation_id, line) and read back grouped, so a 1 GB file needs no more
memory than a small one; the conversations come out in order of their ids.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scorer._errors import ConversationError
from scorer.importers._base import ImportItem, Skipped, Source, build_conversation, open_source, source_name
from scorer.importers._csv_setup import FIELDS, REQUIRED, CsvOptions, open_text
from scorer.importers._time import parse_time

__all__ = ["CsvOptions", "read_csv"]

CHANNELS = {"chat": "chat", "email": "email", "mail": "email", "call": "call", "phone": "call", "voice": "call",
            "messaging": "chat", "sms": "chat", "whatsapp": "chat", "other": "other"}
CONVERSATION_FIELDS = ("team", "channel", "language", "csat", "tags")
_TAG_SPLIT = re.compile(r"[,;|]")
_BATCH = 5000
_SEP = "\x1f"
FIELD_LIMIT = 64 * 1024 * 1024
"""The longest field read (the csv module's default, 128 KiB, is short for long email bodies)."""


def _columns(header: list[str], options: CsvOptions, name: str) -> tuple[dict[str, int], dict[str, int]]:
    """Positions of the known fields and of the extra columns (kept in metadata)."""
    positions = {h.strip().lower(): i for i, h in enumerate(header)}
    fields: dict[str, int] = {}
    for f in FIELDS:
        column = options.columns.get(f, f).strip().lower()
        if column in positions:
            fields[f] = positions[column]
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        wanted = ", ".join(f"{f} (column {options.columns.get(f, f)!r})" for f in missing)
        raise ConversationError(f"{name}: no column for {wanted}; the file has {', '.join(map(repr, header))}. "
                                "Map them with --columns, e.g. --columns conversation_id=ticket,text=body")
    used = set(fields.values())
    extras = {h.strip(): i for i, h in enumerate(header) if i not in used and h.strip()}
    return fields, extras


def _spill(rows: Iterator[list[str]], reader: Any, name: str, options: CsvOptions, db: sqlite3.Connection,
           fields: dict[str, int], width: int) -> Iterator[Skipped]:
    """Pass 1: check each row and store the good ones; yield a :class:`Skipped` for each bad one."""
    speakers = options.speaker_map()
    known = ", ".join(f"{s}: {'/'.join(v)}" for s, v in options.speaker_values.items())
    id_at, speaker_at, text_at, time_at = (fields["conversation_id"], fields["speaker"], fields["text"],
                                           fields.get("timestamp"))
    insert = "INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?)"
    batch: list[tuple[Any, ...]] = []
    line = reader.line_num
    for cells in rows:  # the loop runs once a row of a 1 GB file: locals only, locations made when needed
        start, line = line + 1, reader.line_num
        if not "".join(cells).strip():
            continue
        if len(cells) != width:
            if len(cells) > width:
                yield Skipped(f"{name}:{start}", f"the row has {len(cells)} fields, the header {width}: an "
                                                 "unquoted delimiter in a field?")
                continue
            cells += [""] * (width - len(cells))
        cid = cells[id_at].strip()
        if not cid:
            yield Skipped(f"{name}:{start}", "the row has no conversation_id")
            continue
        speaker = speakers.get(cells[speaker_at].strip().lower())
        if speaker is None:
            yield Skipped(f"{name}:{start}", f"speaker {cells[speaker_at].strip()!r} is not a known value "
                                             f"({known}); map it with --agent-values/--customer-values/--bot-values",
                          cid)
            continue
        if not cells[text_at].strip():
            yield Skipped(f"{name}:{start}", "the message is empty", cid)
            continue
        try:
            when = parse_time(cells[time_at]) if time_at is not None else None
        except ValueError as exc:
            yield Skipped(f"{name}:{start}", f"timestamp: {exc}", cid)
            continue
        if when is None:
            batch.append((cid, start, None, None, speaker, _pack(cells)))
        else:
            batch.append((cid, start, when.timestamp(), when.isoformat(), speaker, _pack(cells)))
        if len(batch) >= _BATCH:
            db.executemany(insert, batch)
            batch.clear()
    if batch:
        db.executemany(insert, batch)


def _pack(cells: list[str]) -> str:
    """Cells as one string: joined by the unit separator, or JSON (marked by a leading NUL) when a cell has one."""
    joined = _SEP.join(cells)
    return joined if joined.count(_SEP) == len(cells) - 1 else "\0" + json.dumps(cells, ensure_ascii=False)


def _unpack(packed: str) -> list[str]:
    return json.loads(packed[1:]) if packed.startswith("\0") else packed.split(_SEP)  # type: ignore[no-any-return]


def _assemble(cid: str, rows: list[tuple[Any, ...]], fields: dict[str, int], extras: dict[str, int],
              location: str) -> ImportItem:
    """Build one conversation from its rows (line, epoch, iso time, speaker, cells), ordered by time."""
    last = float("-inf")
    keyed = []
    for row in rows:  # a row without a time stays right after the row before it
        last = row[1] if row[1] is not None else last
        keyed.append((last, row))
    keyed.sort(key=lambda k: k[0])  # stable
    text_at, agent_at = fields["text"], fields.get("agent_id")
    first: dict[str, str] = {}  # the first non-empty value of each conversation-level field
    turns: list[dict[str, Any]] = []
    all_cells: list[list[str]] = []
    for _, (_line, _epoch, iso, speaker, packed) in keyed:
        cells = _unpack(packed)
        all_cells.append(cells)
        agent = speaker == "agent"
        for f in CONVERSATION_FIELDS + (("agent_id", "agent_name") if agent else ()):
            if f not in first and f in fields and cells[fields[f]].strip():
                first[f] = cells[fields[f]].strip()
        turns.append({"speaker": speaker, "text": cells[text_at], "timestamp": iso,
                      "agent_id": (cells[agent_at].strip() or None) if agent and agent_at is not None else None})
    metadata: dict[str, Any] = {}
    for header, index in extras.items():
        values = [c[index] for c in all_cells]
        distinct = {v for v in values if v.strip()}
        if len(distinct) == 1:
            metadata[header] = distinct.pop()
        elif distinct:
            metadata[header] = [v or None for v in values]  # one per turn
    channel_raw = first.get("channel", "")
    channel = CHANNELS.get(channel_raw.lower(), "other") if channel_raw else "chat"
    if channel_raw and channel_raw.lower() not in CHANNELS:
        metadata["channel_raw"] = channel_raw
    csat: float | None = None
    if "csat" in first:
        try:
            csat = float(first["csat"])
        except ValueError:
            metadata["csat_raw"] = first["csat"]
    record = {
        "id": cid, "channel": channel, "language": first.get("language"), "turns": turns,
        "agent_id": first.get("agent_id"), "agent_name": first.get("agent_name"), "team": first.get("team"),
        "started_at": turns[0]["timestamp"], "csat": csat,
        "tags": [t.strip() for t in _TAG_SPLIT.split(first.get("tags", "")) if t.strip()], "metadata": metadata,
    }
    return build_conversation(record, location)


def read_csv(source: Source, options: CsvOptions | None = None, *, spill_dir: str | Path | None = None
             ) -> Iterator[ImportItem]:
    """Yield the conversations of a message-per-row CSV (in order of their ids) and a :class:`Skipped`
    for every row left out, with its line number. Raises :class:`ConversationError` when the file cannot be
    read at all (missing columns, wrong encoding)."""
    options = options or CsvOptions()
    name = source_name(source)
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    with open_source(source) as handle, tempfile.TemporaryDirectory(dir=spill_dir, prefix="rubricate-csv-") as tmp:
        text, delimiter, encoding = open_text(handle, name, options)
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise ConversationError(f"{name}: the file is empty") from None
        except (csv.Error, UnicodeError) as exc:
            raise ConversationError(f"{name}: the header line cannot be read ({exc})") from exc
        fields, extras = _columns(header, options, name)
        db = sqlite3.connect(Path(tmp) / "rows.sqlite")
        try:
            db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-16000;"
                             "CREATE TABLE rows (conv TEXT, line INTEGER, epoch REAL, iso TEXT, speaker TEXT,"
                             " cells TEXT, PRIMARY KEY (conv, line)) WITHOUT ROWID")
            try:
                yield from _spill(reader, reader, name, options, db, fields, len(header))
            except UnicodeError as exc:
                raise ConversationError(f"{name}: not {encoding} after line {reader.line_num} ({exc}); "
                                        "give --encoding (e.g. cp1252) or convert the file to UTF-8") from exc
            except csv.Error as exc:
                raise ConversationError(f"{name}:{reader.line_num}: {exc}") from exc
            db.commit()
            query = "SELECT conv, line, epoch, iso, speaker, cells FROM rows ORDER BY conv, line"
            current: str | None = None
            group: list[tuple[Any, ...]] = []
            for conv, line, epoch, iso, speaker, cells in db.execute(query):
                if conv != current and group:
                    yield _assemble(current or "", group, fields, extras, f"{name}:{group[0][0]}")
                    group = []
                current = conv
                group.append((line, epoch, iso, speaker, cells))
            if group:
                yield _assemble(current or "", group, fields, extras, f"{name}:{group[0][0]}")
        finally:
            db.close()
            text.detach()
