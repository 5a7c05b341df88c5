"""CSV import settings: column and speaker-value mappings, the file's encoding and delimiter."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import BinaryIO

from scorer._errors import ConversationError

__all__ = ["DEFAULT_SPEAKER_VALUES", "FIELDS", "CsvOptions", "open_text", "parse_columns", "parse_values"]

FIELDS = ("conversation_id", "timestamp", "speaker", "text", "agent_id", "agent_name", "team", "channel",
          "language", "csat", "tags")
"""The fields a row may carry; each is read from the column of the same name unless ``--columns`` renames it."""
REQUIRED = ("conversation_id", "speaker", "text")
DEFAULT_SPEAKER_VALUES: dict[str, tuple[str, ...]] = {
    "agent": ("agent", "admin", "staff", "support"),
    "customer": ("customer", "user", "end-user", "requester"),
    "bot": ("bot",),
    "system": ("system",),
}
DELIMITERS = ",;\t|"


def parse_columns(spec: str | None) -> dict[str, str]:
    """``conversation_id=ticket,text=body`` → {field: column}; an unknown field is a clear error."""
    mapping: dict[str, str] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise ConversationError(f"--columns: {part.strip()!r} is not FIELD=COLUMN (e.g. text=body)")
        if name not in FIELDS:
            raise ConversationError(f"--columns: unknown field {name!r}; the fields are {', '.join(FIELDS)}")
        mapping[name] = column
    return mapping


def parse_values(spec: str | None) -> tuple[str, ...] | None:
    """``agent,admin`` → ('agent', 'admin'), compared without case; None keeps the default."""
    if spec is None:
        return None
    return tuple(v.strip().lower() for v in spec.split(",") if v.strip())


@dataclass(frozen=True)
class CsvOptions:
    """How to read a message-per-row CSV."""

    columns: dict[str, str] = field(default_factory=dict)
    speaker_values: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_SPEAKER_VALUES))
    encoding: str | None = None
    delimiter: str | None = None

    @classmethod
    def from_strings(cls, columns: str | None = None, agent_values: str | None = None,
                     customer_values: str | None = None, bot_values: str | None = None,
                     encoding: str | None = None, delimiter: str | None = None) -> CsvOptions:
        """Options as the CLI and the API take them (comma-separated strings)."""
        values = dict(DEFAULT_SPEAKER_VALUES)
        for speaker, spec in (("agent", agent_values), ("customer", customer_values), ("bot", bot_values)):
            parsed = parse_values(spec)
            if parsed is not None:
                values[speaker] = parsed
        seen: dict[str, str] = {}
        for speaker, names in values.items():
            for name in names:
                if name in seen and seen[name] != speaker:
                    raise ConversationError(f"speaker value {name!r} is mapped to both {seen[name]} and {speaker}")
                seen[name] = speaker
        if delimiter is not None and len(delimiter.replace("\\t", "\t")) != 1:
            raise ConversationError(f"--delimiter must be one character, got {delimiter!r}")
        return cls(parse_columns(columns), values, encoding,
                   delimiter.replace("\\t", "\t") if delimiter is not None else None)

    def speaker_map(self) -> dict[str, str]:
        return {name: speaker for speaker, names in self.speaker_values.items() for name in names}


def _encoding(head: bytes, given: str | None) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"  # Excel's "Unicode Text" and UTF-16 CSV: the BOM tells the byte order
    if given:
        return given
    if len(head) >= 4 and head[1:2] == b"\x00" and head[3:4] == b"\x00":
        return "utf-16-le"
    if len(head) >= 4 and head[0:1] == b"\x00" and head[2:3] == b"\x00":
        return "utf-16-be"
    return "utf-8-sig"  # UTF-8 with or without a BOM


def open_text(handle: BinaryIO, name: str, options: CsvOptions) -> tuple[io.TextIOWrapper, str, str]:
    """The file as text (encoding from its BOM, ``options.encoding`` or UTF-8), its delimiter and encoding."""
    head = handle.read(4)
    handle.seek(handle.tell() - len(head))
    encoding = _encoding(head, options.encoding)
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")  # type: ignore[arg-type]
    if options.delimiter:
        return text, options.delimiter, encoding
    try:
        sample = text.read(64 * 1024)
    except UnicodeError as exc:
        raise ConversationError(f"{name}: not {encoding} ({exc}); give --encoding (e.g. cp1252) "
                                "or convert the file to UTF-8") from exc
    text.seek(0)
    if not sample.strip():
        raise ConversationError(f"{name}: the file is empty")
    whole_lines = sample[: sample.rfind("\n") + 1] or sample
    try:
        sniffed = csv.Sniffer().sniff(whole_lines, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ","
    header = sample.splitlines()[0]
    wanted = {options.columns.get(f, f).strip().lower() for f in REQUIRED}
    for candidate in dict.fromkeys([sniffed, *DELIMITERS]):  # the one whose header has the needed columns
        names = {n.strip().lower() for n in next(csv.reader([header], delimiter=candidate))}
        if wanted <= names:
            return text, candidate, encoding
    return text, sniffed, encoding
