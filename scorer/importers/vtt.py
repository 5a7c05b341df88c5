"""WebVTT captions with voice spans (``<v Speaker>text``), as transcription services and meeting tools write
them; cue times are offsets from the start of the recording."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import webvtt
from webvtt.errors import MalformedFileError

from scorer.importers._base import ImportItem, Skipped, Source, open_source, source_name
from scorer.importers._speech import Segment, SpeechOptions, segments_to_conversation

__all__ = ["read_webvtt"]


def read_webvtt(source: Source, options: SpeechOptions | None = None) -> Iterator[ImportItem]:
    """Yield the call as one conversation, and a :class:`Skipped` for each cue left out (no voice, no text)."""
    options = options or SpeechOptions()
    name = source_name(source)
    if options.conversation_id is None and isinstance(source, str | Path):
        options = SpeechOptions(**{**options.__dict__, "conversation_id": Path(source).stem})
    with open_source(source) as handle:
        try:
            text = handle.read().decode("utf-8-sig")
            captions = webvtt.from_buffer(io.StringIO(text))
        except (UnicodeError, MalformedFileError, ValueError, IndexError) as exc:  # what the parser raises
            yield Skipped(name, f"not a WebVTT file: {exc}", options.conversation_id)
            return
    segments: list[Segment] = []
    cues: list[webvtt.Caption] = list(captions)  # type: ignore[call-overload]
    for index, cue in enumerate(cues):
        where = f"{name} cue {cue.identifier or index + 1} ({cue.start})"
        words = " ".join(line.strip() for line in cue.text.splitlines() if line.strip())
        if not words:
            yield Skipped(where, "the cue has no text", options.conversation_id)
        elif not cue.voice:
            yield Skipped(where, f"the cue has no <v Speaker> voice: {words[:60]!r}", options.conversation_id)
        else:
            segments.append(Segment(cue.start_time.in_milliseconds() / 1000, cue.end_time.in_milliseconds() / 1000,
                                    cue.voice.strip(), words))
    yield from segments_to_conversation(segments, options, name, "webvtt")
