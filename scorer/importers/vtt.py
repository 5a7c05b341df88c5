"""WebVTT captions with voice spans (``<v Speaker>text``), as transcription services and meeting tools write
them; cue times are offsets from the start of the recording."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator

import webvtt
from webvtt.errors import MalformedFileError

from scorer.importers._base import ImportItem, Skipped, Source, open_source, source_name
from scorer.importers._speech import Segment, SpeechOptions, segments_to_conversation

__all__ = ["read_webvtt"]

_VOICE = re.compile(r"^\s*<v(?:\.[\w-]+)*\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>")


def _voices(lines: list[str]) -> list[tuple[str | None, str]]:
    """(voice, text) runs of a cue's lines: a line opening with ``<v Name>`` starts that voice, a line without
    one continues the voice before it (a cue may hold several voices, one a line); tags are removed and
    character references decoded."""
    runs: list[tuple[str | None, str]] = []
    voice: str | None = None
    for line in lines:
        match = _VOICE.match(line)
        if match:
            voice = match.group(1).strip()
        words = html.unescape(_TAG.sub("", line)).strip()
        if runs and runs[-1][0] == voice and not match:
            runs[-1] = (voice, f"{runs[-1][1]} {words}".strip())
        else:
            runs.append((voice, words))
    return runs


def read_webvtt(source: Source, options: SpeechOptions | None = None) -> Iterator[ImportItem]:
    """Yield the call as one conversation, and a :class:`Skipped` for each cue left out (no voice, no text)."""
    options = (options or SpeechOptions()).for_file(source)
    name = source_name(source)
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
        start, end = cue.start_time.in_milliseconds() / 1000, cue.end_time.in_milliseconds() / 1000
        for voice, words in _voices(cue.lines):
            if not words:
                continue
            if voice is None:
                yield Skipped(where, f"the cue has no <v Speaker> voice: {words[:60]!r}", options.conversation_id)
            else:
                segments.append(Segment(start, end, voice, words))
        if not any(words for _, words in _voices(cue.lines)):
            yield Skipped(where, "the cue has no text", options.conversation_id)
    yield from segments_to_conversation(segments, options, name, "webvtt")
