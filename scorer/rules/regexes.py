"""The ``regex`` check kind: patterns matched on the turns' original text, case-insensitively.

Unlike phrases, a regex sees the transcript as written (no folding of width, diacritics or punctuation), so the
pattern author controls what matches; offsets are the regex's own, hence always verbatim.
"""

from __future__ import annotations

import re

from scorer.rules.check import ALL_LANGUAGES, Check
from scorer.types import Conversation, Evidence

__all__ = ["RegexRules"]


class RegexRules:
    """The compiled patterns of one regex check, per language, for the target list and ``unless``."""

    def __init__(self, check: Check) -> None:
        self.target = {lang: [re.compile(p, re.I) for p in items if p.strip()] for lang, items in check.lists.items()}
        self.unless = {lang: [re.compile(p, re.I) for p in items if p.strip()] for lang, items in check.unless.items()}

    @staticmethod
    def _pick(lists: dict[str, list[re.Pattern[str]]], language: str | None) -> list[re.Pattern[str]]:
        return [p for lang, items in lists.items() if language is None or lang in (ALL_LANGUAGES, language)
                for p in items]

    def find(self, conversation: Conversation, turns: list[int], language: str | None) -> list[Evidence]:
        """Evidence of every non-empty match in ``turns`` that no ``unless`` match contains."""
        targets, unless = self._pick(self.target, language), self._pick(self.unless, language)
        found: list[Evidence] = []
        for turn in turns:
            text = conversation.turns[turn].text
            spans = [m.span() for p in unless for m in p.finditer(text) if m.end() > m.start()]
            for pattern in targets:
                for m in pattern.finditer(text):
                    start, end = m.span()
                    if end <= start or any(s <= start and end <= e for s, e in spans):
                        continue
                    evidence = Evidence(turn=turn, start=start, end=end, quote=text[start:end])
                    if evidence not in found:
                        found.append(evidence)
        return sorted(found, key=lambda e: (e.turn, e.start, e.end))
