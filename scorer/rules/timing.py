"""Timing checks from turn timestamps: first response, response gaps, silence (dead air) and talk-over.

Every check reads ``Turn.timestamp`` (when a turn was sent or began) and, for calls, ``Turn.end``. A check whose
turns lack the times it needs returns *unscored* with the reason; nothing is guessed.

* ``first_response`` — from the first turn of the other party to the speaker's first turn after it;
* ``response_gap`` — the longest wait from the first turn of an unanswered run of the other party's turns to the
  speaker's reply;
* ``silence`` — the longest pause before a speaker's turn (``any``: before any turn), from the previous turn's
  ``end`` where given, else its ``timestamp``;
* ``overlap`` — talk-over: the speaker starts (``timestamp``) before the other party's turn has ended (``end``); up
  to ``max_seconds`` (default 0) is tolerated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scorer.evidence import turn_label, whole_turn
from scorer.rules.check import Check
from scorer.types import Conversation, Evidence, Turn

__all__ = ["TimingResult", "answer_timing"]


@dataclass
class TimingResult:
    """``answer`` yes/no with a rationale and evidence, or ``answer`` None with ``reason`` (unscored)."""

    answer: str | None
    text: str
    evidence: list[Evidence] = field(default_factory=list)


def _is(turn: Turn, speaker: str) -> bool:
    return speaker == "any" or turn.speaker == speaker


def _other(turn: Turn, speaker: str) -> bool:
    return turn.speaker != speaker if speaker != "any" else True


def _seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds()


def _missing(conversation: Conversation, turns: list[int], attribute: str = "timestamp") -> TimingResult | None:
    absent = [i for i in turns if getattr(conversation.turns[i], attribute) is None]
    if not absent:
        return None
    shown = ", ".join(str(i + 1) for i in absent[:5]) + ("…" if len(absent) > 5 else "")
    what = "timestamps" if attribute == "timestamp" else "end times"
    return TimingResult(None, f"no {what} on turn(s) {shown}: this timing check needs the turn's '{attribute}'")


def _first_response(c: Conversation, check: Check, limit: float) -> TimingResult:
    first = next((i for i, t in enumerate(c.turns) if _other(t, check.speaker)), None)
    if first is None:
        return TimingResult(None, f"no turn of another party before the {check.speaker} spoke: nothing to respond to")
    reply = next((i for i in range(first + 1, len(c.turns)) if _is(c.turns[i], check.speaker)), None)
    if reply is None:
        return TimingResult("no", f"the {check.speaker} never replied to {turn_label(first)}")
    if (missing := _missing(c, [first, reply])) is not None:
        return missing
    waited = _seconds(c.turns[reply].timestamp, c.turns[first].timestamp)  # type: ignore[arg-type]
    answer = "yes" if waited <= limit else "no"
    return TimingResult(answer, f"first response after {waited:.0f} s ({turn_label(first)} → {turn_label(reply)}); "
                                f"limit {limit:g} s", [whole_turn(c, reply)])


def _response_gap(c: Conversation, check: Check, limit: float) -> TimingResult:
    waits: list[tuple[float, int, int]] = []
    pending: int | None = None
    for i, turn in enumerate(c.turns):
        if _is(turn, check.speaker) and pending is not None:
            if (missing := _missing(c, [pending, i])) is not None:
                return missing
            waits.append((_seconds(turn.timestamp, c.turns[pending].timestamp), pending, i))  # type: ignore[arg-type]
            pending = None
        elif not _is(turn, check.speaker) and pending is None:
            pending = i
    if not waits:
        return TimingResult(None, f"no turn of another party answered by the {check.speaker}: no response gap")
    late = [w for w in waits if w[0] > limit]
    longest = max(waits)
    text = (f"longest wait {longest[0]:.0f} s ({turn_label(longest[1])} → {turn_label(longest[2])}); "
            f"limit {limit:g} s")
    if late:
        return TimingResult("no", f"{len(late)} repl{'y' if len(late) == 1 else 'ies'} over the limit; " + text,
                            [whole_turn(c, i) for _, _, i in late])
    return TimingResult("yes", text)


def _silence(c: Conversation, check: Check, limit: float) -> TimingResult:
    if (missing := _missing(c, list(range(len(c.turns))))) is not None:
        return missing
    pauses = []
    for i in range(1, len(c.turns)):
        if not _is(c.turns[i], check.speaker):
            continue
        before = c.turns[i - 1]
        pauses.append((_seconds(c.turns[i].timestamp, before.end or before.timestamp), i))  # type: ignore[arg-type]
    if not pauses:
        return TimingResult(None, f"no {check.speaker} turn after another turn: no silence to measure")
    basis = "" if all(c.turns[i - 1].end for _, i in pauses) else " (from turn starts where 'end' is missing)"
    longest = max(pauses)
    long = [p for p in pauses if p[0] > limit]
    text = f"longest silence {longest[0]:.0f} s before {turn_label(longest[1])}{basis}; limit {limit:g} s"
    return TimingResult("no" if long else "yes", text, [whole_turn(c, i) for _, i in long])


def _overlap(c: Conversation, check: Check, limit: float) -> TimingResult:
    pairs = [i for i in range(1, len(c.turns))
             if _is(c.turns[i], check.speaker) and c.turns[i - 1].speaker != c.turns[i].speaker]
    if not pairs:
        return TimingResult(None, f"no {check.speaker} turn follows another party's turn: no talk-over to measure")
    if (missing := _missing(c, [i - 1 for i in pairs], "end")) is not None:
        return missing
    if (missing := _missing(c, pairs)) is not None:
        return missing
    overlaps = [(_seconds(c.turns[i - 1].end, c.turns[i].timestamp), i) for i in pairs]  # type: ignore[arg-type]
    over = [o for o in overlaps if o[0] > limit]
    if not over:
        return TimingResult("yes", f"no talk-over by the {check.speaker} above {limit:g} s in {len(pairs)} turn "
                                   "change(s)")
    worst = max(over)
    return TimingResult("no", f"the {check.speaker} talked over the other party {len(over)} time(s); longest "
                              f"{worst[0]:.1f} s at {turn_label(worst[1])}", [whole_turn(c, i) for _, i in over])


_KINDS = {"first_response": _first_response, "response_gap": _response_gap, "silence": _silence,
          "overlap": _overlap}


def answer_timing(conversation: Conversation, check: Check) -> TimingResult:
    """Answer one timing check for a conversation; unscored (answer None) when the times it needs are missing."""
    try:
        return _KINDS[check.kind](conversation, check, check.max_seconds or 0.0)
    except TypeError:  # naive and aware datetimes mixed
        return TimingResult(None, "the turn timestamps mix times with and without a time zone")
