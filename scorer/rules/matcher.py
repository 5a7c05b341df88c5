"""One compiled multi-pattern matcher for all the phrases of a rubric (an Aho-Corasick automaton).

Every phrase is normalised like the transcript (``scorer.rules.normalise``) and added once; a turn is scanned once
for all phrases of all rule criteria, overlapping matches included. Phrases in scripts written with spaces match on
word boundaries (``calm down`` does not match ``calm downtown``); Chinese, Japanese and Korean phrases match
anywhere (``冷静一点`` inside ``请你冷静一点吧``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import ahocorasick

from scorer.rules.normalise import Normalised, is_cjk, normalise

__all__ = ["Hit", "PhraseMatcher"]


@dataclass(frozen=True)
class Hit:
    """A phrase found in a normalised text: its key number and normalised ``[start, end)``."""

    key: int
    start: int
    end: int


def _wordish(ch: str) -> bool:
    return ch.isalnum() and not is_cjk(ch)


class PhraseMatcher:
    """Add phrases with :meth:`add` (returns the key number), :meth:`build` once, then :meth:`find` per text."""

    def __init__(self) -> None:
        self._automaton = ahocorasick.Automaton()
        self._keys: dict[str, int] = {}
        self.phrases: list[str] = []
        """The normalised phrase of each key."""

    def add(self, phrase: str, *, already_normalised: bool = False) -> int | None:
        """Register a phrase; returns its key (shared by phrases equal after normalisation), None when empty."""
        key_text = phrase if already_normalised else normalise(phrase).text
        if not key_text:
            return None
        if key_text not in self._keys:
            self._keys[key_text] = len(self.phrases)
            self.phrases.append(key_text)
            self._automaton.add_word(key_text, self._keys[key_text])
        return self._keys[key_text]

    def build(self) -> None:
        """Compile the automaton (after the last :meth:`add`)."""
        if self.phrases:
            self._automaton.make_automaton()

    def find(self, text: Normalised) -> Iterator[Hit]:
        """Every occurrence of every phrase in ``text`` (overlaps included), word boundaries respected."""
        if not self.phrases:
            return
        body = text.text
        for end_index, key in self._automaton.iter(body):
            phrase = self.phrases[key]
            start, end = end_index - len(phrase) + 1, end_index + 1
            if start > 0 and _wordish(phrase[0]) and _wordish(body[start - 1]):
                continue
            if end < len(body) and _wordish(phrase[-1]) and _wordish(body[end]):
                continue
            yield Hit(key, start, end)
