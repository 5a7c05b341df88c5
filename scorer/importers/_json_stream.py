"""Stream the records of a helpdesk export without loading it whole: a JSON array, an API-style wrapper object
(``{"tickets": [...], "users": [...]}``), JSON Lines (one record a line), or a single record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson

from scorer.importers._base import Skipped

__all__ = ["iter_records", "read_side_list"]

Record = tuple[str, Any]


def _first_byte(handle: BinaryIO) -> bytes:
    """The first significant byte; a UTF-8 byte-order mark is stepped over (the handle moves past it)."""
    start = handle.tell()
    head = handle.read(4096)
    if head.startswith(b"\xef\xbb\xbf"):
        start += 3
        head = head[3:]
    handle.seek(start)
    return head.lstrip(b" \t\r\n")[:1]


def _array(handle: BinaryIO, prefix: str, name: str) -> Iterator[Record | Skipped]:
    index = -1
    try:
        for index, record in enumerate(ijson.items(handle, prefix, use_float=True)):
            yield f"{name} record {index}", record
    except ijson.JSONError as exc:
        yield Skipped(f"{name} after record {index}", f"the JSON breaks off here ({exc}); the rest is not read")
    except UnicodeDecodeError as exc:
        yield Skipped(f"{name} after record {index}", f"not UTF-8 ({exc.reason}); the rest is not read")


def _lines(handle: BinaryIO, collection: str, name: str) -> Iterator[Record | Skipped]:
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        location = f"{name}:{number}"
        try:
            record = json.loads(raw.decode("utf-8-sig"))
        except json.JSONDecodeError as exc:
            yield Skipped(location, f"not a JSON record: {exc.msg} at character {exc.pos + 1}")
            continue
        except RecursionError:
            yield Skipped(location, "the record is nested too deeply")
            continue
        except UnicodeDecodeError as exc:
            yield Skipped(location, f"not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        if isinstance(record, dict) and isinstance(record.get(collection), list):
            for index, item in enumerate(record[collection]):
                yield f"{location} {collection}[{index}]", item
        else:
            yield location, record


def iter_records(handle: BinaryIO, name: str, collection: str) -> Iterator[Record | Skipped]:
    """Yield ``(location, record)`` for each record, or a :class:`Skipped` for an unreadable part.

    ``collection`` is the key holding the list in an API-style wrapper (``tickets``, ``conversations``).
    """
    first = _first_byte(handle)
    if first == b"[":
        yield from _array(handle, "item", name)
        return
    if first != b"{":
        yield Skipped(name, "not a JSON export: expected a JSON array, an object or JSON Lines")
        return
    start = handle.tell()
    line = handle.readline()
    handle.seek(start)
    try:
        json.loads(line.decode("utf-8-sig"))
        single_line = True
    except (json.JSONDecodeError, UnicodeDecodeError):
        single_line = False
    if single_line:
        yield from _lines(handle, collection, name)
        return
    found = False
    for item in _array(handle, f"{collection}.item", name):
        found = True
        yield item
    if not found:  # one record, pretty-printed
        handle.seek(start)
        try:
            yield name, json.loads(handle.read().decode("utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            yield Skipped(name, f"not valid JSON: {exc or 'nested too deeply'}")


def read_side_list(handle: BinaryIO, key: str) -> list[Any]:
    """The items of a sideloaded list (e.g. ``users``) of a wrapper object, read in a first pass; [] if none."""
    if not handle.seekable() or _first_byte(handle) != b"{":
        return []
    start = handle.tell()
    try:
        return list(ijson.items(handle, f"{key}.item", use_float=True))
    except (ijson.JSONError, UnicodeDecodeError):
        return []
    finally:
        handle.seek(start)
