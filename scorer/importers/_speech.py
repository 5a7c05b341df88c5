"""Speech-to-text segments → call turns: consecutive segments of one speaker merged, times anchored to the call's
start, and the agent's voice chosen by ``--agent-speaker`` or by a stated rule."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from scorer._errors import ConversationError
from scorer.importers._base import ImportItem, Skipped, build_conversation

__all__ = [
    "AGENT_RULES", "DEFAULT_AGENT_RULE", "DEFAULT_MERGE_GAP", "GREETINGS", "AgentRule", "Segment", "SpeechOptions",
    "segments_to_conversation",
]

DEFAULT_MERGE_GAP = 2.0
"""Seconds of silence after which two segments of the same speaker become two turns."""
GREETINGS = re.compile(
    r"thank(s| you) for (calling|contacting|choosing)|how (can|may) i (help|assist)|you'?re (speaking|through) to|"
    r"this is \w+ (from|at|with)|my name is \w+|welcome to", re.IGNORECASE)
"""Phrases by which the agent's voice is recognised when no ``--agent-speaker`` is given (rule ``greeting``)."""
AgentRule = Literal["greeting", "first"]
AGENT_RULES: tuple[AgentRule, ...] = ("greeting", "first")
DEFAULT_AGENT_RULE: AgentRule = "greeting"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Segment:
    """One recognised stretch of speech: seconds from the start of the recording."""

    start: float
    end: float
    speaker: str
    text: str


@dataclass(frozen=True)
class SpeechOptions:
    """How to turn a transcript into a conversation."""

    conversation_id: str | None = None
    agent_speakers: tuple[str, ...] = ()
    agent_rule: AgentRule = DEFAULT_AGENT_RULE
    started_at: datetime | None = None
    merge_gap: float = DEFAULT_MERGE_GAP
    language: str | None = None

    def for_file(self, source: object) -> SpeechOptions:
        """These options with the conversation id taken from the file's name where none was given."""
        if self.conversation_id is None and isinstance(source, str | Path):
            return replace(self, conversation_id=Path(source).stem)
        return self


def _agent(segments: Sequence[Segment], options: SpeechOptions) -> tuple[set[str], str]:
    """The agent's speaker labels and the sentence saying how they were chosen."""
    labels = list(dict.fromkeys(s.speaker for s in segments))
    if options.agent_speakers:
        unknown = [a for a in options.agent_speakers if a not in labels]
        if unknown:
            raise ConversationError(f"--agent-speaker {', '.join(unknown)} does not speak in this transcript; "
                                    f"its speakers are {', '.join(labels)}")
        return set(options.agent_speakers), "given with --agent-speaker"
    if options.agent_rule == "greeting":
        for segment in segments[:6]:
            match = GREETINGS.search(segment.text)
            if match:
                return {segment.speaker}, f"rule 'greeting': {segment.speaker} said {match.group(0)!r}"
    first = segments[0].speaker
    why = "no greeting heard, so the first speaker" if options.agent_rule == "greeting" else "the first speaker"
    return {first}, f"rule '{options.agent_rule}': {why} ({first})"


def segments_to_conversation(segments: Sequence[Segment], options: SpeechOptions, location: str,
                             source: str, extra: dict[str, Any] | None = None) -> Iterator[ImportItem]:
    """Merge segments into turns and yield the conversation (or a :class:`Skipped` saying why there is none)."""
    cid = options.conversation_id
    if not cid:
        yield Skipped(location, "no conversation id: give one (--id on the command line, ?id= in the API)")
        return
    if not segments:
        yield Skipped(location, "the transcript has no usable segments", cid)
        return
    ordered = sorted(segments, key=lambda s: s.start)  # stable for equal starts
    agents, rule = _agent(ordered, options)
    base = options.started_at or EPOCH
    turns: list[dict[str, Any]] = []
    last_label: str | None = None
    for segment in ordered:
        if turns and segment.speaker == last_label and segment.start - turns[-1]["_end"] <= options.merge_gap:
            turns[-1]["text"] += " " + segment.text
            turns[-1]["_end"] = max(turns[-1]["_end"], segment.end)
            continue
        turns.append({"speaker": "agent" if segment.speaker in agents else "customer", "text": segment.text,
                      "_start": segment.start, "_end": segment.end, "_label": segment.speaker})
        last_label = segment.speaker
    roles = {label: ("agent" if label in agents else "customer") for label in dict.fromkeys(s.speaker for s in ordered)}
    metadata: dict[str, Any] = {"source": source, "speakers": roles, "agent_rule": rule, **(extra or {})}
    if options.started_at is None:
        metadata["clock"] = "relative: times count from 1970-01-01T00:00:00Z = the start of the recording " \
                            "(give --started-at for wall-clock times)"
    yield build_conversation({
        "id": cid, "channel": "call", "language": options.language, "started_at": options.started_at,
        "turns": [{"speaker": t["speaker"], "text": t["text"], "timestamp": base + timedelta(seconds=t["_start"]),
                   "end": base + timedelta(seconds=t["_end"])} for t in turns],
        "metadata": metadata,
    }, location)
