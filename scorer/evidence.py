"""Locate a judge's quotes in the transcript and keep only what is really there, said by the right speaker.

Each proposed quote is searched turn by turn: exactly, then with case and whitespace normalised, then fuzzily with
rapidfuzz above a threshold. What is stored is always the transcript's own text, so for every :class:`Evidence`
``conversation.turns[e.turn].text[e.start:e.end] == e.quote`` holds. Quotes that cannot be located are dropped and
counted; they are never shown as evidence.

Binding: only turns of the speaker the criterion is ``about`` are searched (a customer's repetition of the agent's
words, or a customer turn containing "Agent: …", is never evidence of the agent's behaviour), and the turn the
judge named (``[3] …``, ``turn 3: …``) is tried first. Exact and normalised matches prefer word boundaries, and
a quote under three characters must sit on them ("no" is not found in "know"). A fuzzy or shortened match is
accepted only when it adds or removes no negation and no number or date differs (``scorer._quote_meaning``);
otherwise it is dropped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz

from scorer._quote_meaning import same_meaning
from scorer.rules.normalise import is_cjk
from scorer.types import Conversation, Evidence, Judgement, Turn

__all__ = ["attach_evidence", "is_valid", "locate_quote", "locate_quotes", "named_turn", "speaker_turns", "turn_label",
           "whole_turn", "with_turn_labels"]

FUZZY_THRESHOLD = 90.0
"""Minimum rapidfuzz partial-ratio (0-100) for a fuzzy match to count."""
MIN_FUZZY_CHARS = 12
PREFIX_SHARE = 0.6
"""A quote that runs on past the end of its turn keeps its longest verbatim start if that is this share of it."""
"""Quotes shorter than this must match exactly or after normalisation; short fuzzy matches are noise."""

_SPEAKER_PREFIX = re.compile(
    r"^\s*(?:\[?(?:turn\s*)?(\d+)\]?\s*[:：]?\s*)?(agent|customer|system|bot|客服|客户)\s*[:：]\s*", re.I)
_TURN_PREFIX = re.compile(r"^\s*(?:\[(?:turn\s*)?(\d+)\]|turn\s*(\d+)\s*[:：])\s*", re.I)
_TURN_PATH = re.compile(r"(?<![\w.])turns\.(\d+)((?:\.\w+)*)")
_QUOTE_CHARS = "\"'“”‘’«»「」『』„"


def is_valid(conversation: Conversation, evidence: Evidence) -> bool:
    """True when the evidence's offsets select exactly its quote in the transcript."""
    if evidence.turn >= len(conversation.turns) or evidence.end <= evidence.start:
        return False
    return conversation.turns[evidence.turn].text[evidence.start : evidence.end] == evidence.quote


def turn_label(index: int) -> str:
    """A turn as people read it: ``turn 1`` is ``turns[0]``. Every user-facing text (rule rationales, ``rubricate
    show``, the dashboard) numbers turns from 1; stored and API data (``Evidence.turn``) and the judge's prompt
    (``<turn index="0">``, which quotes name back) keep the 0-based index."""
    return f"turn {index + 1}"


def with_turn_labels(text: str) -> str:
    """``turns.2.text: …`` → ``turns.2.text (turn 3): …``: a data path in a message keeps its 0-based index (it
    addresses the JSON), and the reader also gets the turn's number as the dashboard and ``show`` give it."""
    return _TURN_PATH.sub(lambda m: f"{m.group(0)} ({turn_label(int(m.group(1)))})", text)


def whole_turn(conversation: Conversation, turn: int) -> Evidence:
    """Evidence covering one whole turn (for judges that point at turns rather than quote them)."""
    text = conversation.turns[turn].text
    return Evidence(turn=turn, start=0, end=len(text), quote=text)


def speaker_turns(conversation: Conversation, about: str) -> list[int]:
    """Indices of the turns a criterion ``about`` that speaker may take evidence from (``any``: all turns)."""
    return [i for i, t in enumerate(conversation.turns) if _said_by(t, about)]


def _said_by(turn: Turn, about: str) -> bool:
    return about == "any" or turn.speaker == about


def named_turn(quote: str) -> int | None:
    """The turn number a quote names in a prefix such as ``[3]``, ``turn 3:`` or ``[3] Agent:``; None otherwise."""
    for pattern in (_SPEAKER_PREFIX, _TURN_PREFIX):
        match = pattern.match(quote)
        if match:
            number = next((g for g in match.groups() if g and g.isdigit()), None)
            if number is not None:
                return int(number)
    return None


def _wordish(ch: str) -> bool:
    return ch.isalnum() and not is_cjk(ch)


def _find_word(haystack: str, needle: str) -> int:
    """The first position of ``needle`` in ``haystack`` not inside a word; -1 if none. A quote of three characters
    or more may also sit inside a word when no whole-word occurrence exists; a shorter one may not (``no`` is not
    in ``know``)."""
    pos = first = haystack.find(needle)
    while pos >= 0:
        end = pos + len(needle)
        left_ok = pos == 0 or not (_wordish(needle[0]) and _wordish(haystack[pos - 1]))
        right_ok = end == len(haystack) or not (_wordish(needle[-1]) and _wordish(haystack[end]))
        if left_ok and right_ok:
            return pos
        pos = haystack.find(needle, pos + 1)
    return first if len(needle) >= 3 else -1


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """A fuzzy span grown to whole words (an alignment may start or stop inside one: "he replacement")."""
    while start > 0 and _wordish(text[start - 1]) and _wordish(text[start]):
        start -= 1
    while end < len(text) and _wordish(text[end]) and _wordish(text[end - 1]):
        end += 1
    return start, end


def _clean(quote: str) -> str:
    quote = _TURN_PREFIX.sub("", _SPEAKER_PREFIX.sub("", quote.strip()))
    quote = quote.strip().strip(_QUOTE_CHARS).strip()
    return quote.removesuffix("...").removesuffix("…").removeprefix("...").removeprefix("…").strip()


def _normalise(text: str) -> tuple[str, list[int]]:
    """Casefolded text with whitespace runs collapsed, and for each output char its index in ``text``."""
    out: list[str] = []
    index: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not in_space and out:
                out.append(" ")
                index.append(i)
            in_space = True
            continue
        in_space = False
        for folded in ch.casefold():
            out.append(folded)
            index.append(i)
    while out and out[-1] == " ":
        out.pop()
        index.pop()
    return "".join(out), index


def _span(conversation: Conversation, turn: int, start: int, end: int) -> Evidence | None:
    text = conversation.turns[turn].text
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start:
        return None
    return Evidence(turn=turn, start=start, end=end, quote=text[start:end])


def locate_quote(
    conversation: Conversation, quote: str, *, turns: Sequence[int] | None = None, about: str = "any"
) -> Evidence | None:
    """Find ``quote`` in the conversation's turns of speaker ``about`` (optionally only in ``turns``), the turn the
    quote names first; None when it is not there, or only with a different meaning."""
    needle = _clean(quote)
    if not needle:
        return None
    allowed = set(speaker_turns(conversation, about))
    order = [t for t in (turns if turns is not None else range(len(conversation.turns))) if t in allowed]
    named = named_turn(quote)
    if named in order:
        order.remove(named)
        order.insert(0, named)  # type: ignore[arg-type]
    for t in order:
        pos = _find_word(conversation.turns[t].text, needle)
        if pos >= 0:
            return _span(conversation, t, pos, pos + len(needle))
    norm_needle, _ = _normalise(needle)
    if not norm_needle:
        return None
    normalised = {t: _normalise(conversation.turns[t].text) for t in order}
    for t, (norm_text, index) in normalised.items():
        pos = _find_word(norm_text, norm_needle)
        if pos >= 0:
            return _span(conversation, t, index[pos], index[pos + len(norm_needle) - 1] + 1)
    if len(norm_needle) < MIN_FUZZY_CHARS:
        return None
    best: tuple[float, int, int, int] | None = None
    for t, (norm_text, index) in normalised.items():
        if not norm_text:
            continue
        found = fuzz.partial_ratio_alignment(norm_needle, norm_text, score_cutoff=FUZZY_THRESHOLD)
        if found is None or found.dest_end <= found.dest_start:
            continue
        # A match must cover most of the quote, not a short common fragment of a long one.
        if (found.dest_end - found.dest_start) < 0.8 * len(norm_needle) and len(norm_text) >= len(norm_needle):
            continue
        start, end = _widen(conversation.turns[t].text, index[found.dest_start], index[found.dest_end - 1] + 1)
        if not same_meaning(needle, conversation.turns[t].text[start:end]):
            continue  # a negation, number or date differs: not this quote, whatever the ratio
        if best is None or found.score > best[0]:
            best = (found.score, t, start, end)
    if best is None:
        prefix = _longest_prefix(conversation, order, normalised, norm_needle)
        return prefix if prefix is not None and same_meaning(needle, prefix.quote) else None
    return _span(conversation, best[1], best[2], best[3])


def _longest_prefix(
    conversation: Conversation, order: Sequence[int], normalised: dict[int, tuple[str, list[int]]], needle: str
) -> Evidence | None:
    """A quote that runs on past its turn: keep its longest start (≥ 60 %, whole words) found verbatim."""
    cuts = [i for i, ch in enumerate(needle) if ch == " " and i >= max(MIN_FUZZY_CHARS, PREFIX_SHARE * len(needle))]
    for cut in reversed(cuts):
        part = needle[:cut].rstrip()
        for t in order:
            norm_text, index = normalised[t]
            pos = norm_text.find(part)
            if pos >= 0:
                return _span(conversation, t, index[pos], index[pos + len(part) - 1] + 1)
    return None


def locate_quotes(
    conversation: Conversation, quotes: Iterable[str], *, about: str = "any"
) -> tuple[list[Evidence], int]:
    """Locate every quote in ``about``'s turns; returns the distinct evidence found and the number dropped."""
    found: list[Evidence] = []
    dropped = 0
    for quote in quotes:
        evidence = locate_quote(conversation, quote, about=about)
        if evidence is None:
            dropped += 1
        elif evidence not in found:
            found.append(evidence)
    return found, dropped


def attach_evidence(conversation: Conversation, judgement: Judgement, *, about: str = "any") -> Judgement:
    """Return ``judgement`` with its proposed quotes located in ``about``'s turns (the criterion's ``about``), and
    evidence with wrong offsets or from another speaker's turn (e.g. a learned judge's turn) removed and counted."""
    kept = [e for e in judgement.evidence if is_valid(conversation, e)
            and _said_by(conversation.turns[e.turn], about)]
    invalid = len(judgement.evidence) - len(kept)
    located, dropped = locate_quotes(conversation, judgement.proposed_quotes, about=about)
    for e in located:
        if e not in kept:
            kept.append(e)
    kept.sort(key=lambda e: (e.turn, e.start))
    return judgement.model_copy(
        update={"evidence": kept, "dropped_quotes": judgement.dropped_quotes + dropped + invalid}
    )
