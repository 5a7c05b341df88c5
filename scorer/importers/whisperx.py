"""WhisperX (and Whisper-style) JSON transcripts: ``segments`` with ``start``, ``end`` (seconds), ``text`` and,
after diarization, ``speaker``; the top-level ``language`` is kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from scorer.importers._base import ImportItem, Skipped, Source, open_source, source_name
from scorer.importers._speech import Segment, SpeechOptions, segments_to_conversation

__all__ = ["read_whisperx"]

MAX_S = 10**7  # seconds (about 115 days): longer offsets are not a call's


def _segments(data: Any, name: str, cid: str | None) -> Iterator[Segment | Skipped]:
    raw = data.get("segments") if isinstance(data, dict) else data
    if not isinstance(raw, list):
        yield Skipped(name, "not a WhisperX transcript: no 'segments' list", cid)
        return
    for index, item in enumerate(raw):
        where = f"{name} segment {index}"
        if not isinstance(item, dict):
            yield Skipped(where, "a segment is not a JSON object", cid)
            continue
        text = str(item.get("text") or "").strip()
        start, end = item.get("start"), item.get("end")
        if not text:
            yield Skipped(where, "the segment has no text", cid)
        elif not isinstance(start, int | float) or not isinstance(end, int | float) or not 0 <= start <= end < MAX_S:
            yield Skipped(where, f"start and end must be seconds into the call, 0 ≤ start ≤ end (got {start!r}, "
                                 f"{end!r})", cid)
        elif not item.get("speaker"):
            yield Skipped(where, f"the segment at {start:.2f} s has no speaker label (diarization left it "
                                 f"unassigned): {text[:60]!r}", cid)
        else:
            yield Segment(float(start), float(end), str(item["speaker"]), text)


def read_whisperx(source: Source, options: SpeechOptions | None = None) -> Iterator[ImportItem]:
    """Yield the call as one conversation, and a :class:`Skipped` for each segment left out."""
    options = (options or SpeechOptions()).for_file(source)
    name = source_name(source)
    with open_source(source) as handle:
        try:
            data = json.loads(handle.read().decode("utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            yield Skipped(name, f"not a JSON transcript: {exc}", options.conversation_id)
            return
    segments: list[Segment] = []
    for item in _segments(data, name, options.conversation_id):
        if isinstance(item, Skipped):
            yield item
        else:
            segments.append(item)
    if options.language is None and isinstance(data, dict) and isinstance(data.get("language"), str):
        options = SpeechOptions(**{**options.__dict__, "language": data["language"]})
    yield from segments_to_conversation(segments, options, name, "whisperx")
