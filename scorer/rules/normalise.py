"""Normalise text the way a reviewer reads it, keeping a map back to the original characters.

Case is folded, Unicode width is unified (NFKC: full-width ``Ｃａｌｍ`` → ``calm``, ``！`` → ``!``), accents and
diacritics are removed (Romanian ``calmați-vă`` and its ASCII spelling ``calmati-va`` agree; Bulgarian ``ѝ`` → ``и``),
and every run of punctuation and whitespace becomes one space. The fast path translates the text in C with a
per-character table and collapses space runs with one regex; characters that fold to zero or several characters
(``ß``, ``ﬁ``, a separate combining accent) take a per-character path. Either way ``Normalised.span`` maps a match
back to original offsets, so evidence quotes are always the transcript's own text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

__all__ = ["Normalised", "fold_char", "is_cjk", "normalise", "transliterate_bg"]

_SLOW = "\x00"
_RUNS = re.compile(r" {2,}")


@cache
def fold_char(ch: str) -> str:
    """One character folded: NFKC, casefold, no combining marks; punctuation, spaces and controls become ``' '``."""
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", ch).casefold())
    out = []
    for c in folded:
        if unicodedata.combining(c):
            continue
        category = unicodedata.category(c)
        out.append(" " if c.isspace() or category[0] in "PZ" or category == "Cc" else c)
    return "".join(out)


class _Table(dict[int, str]):
    """A lazily filled ``str.translate`` table: 1:1 foldings, ``_SLOW`` for anything else."""

    def __missing__(self, key: int) -> str:
        folded = fold_char(chr(key))
        value = folded if len(folded) == 1 and folded != _SLOW else _SLOW
        self[key] = value
        return value


_TABLE = _Table()


def is_cjk(ch: str) -> bool:
    """True for Han, kana and Hangul characters: scripts written without spaces between words."""
    o = ord(ch)
    return (0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF
            or 0x3040 <= o <= 0x30FF)


class Normalised:
    """A normalised text and how to map its positions back to the original (a plain slotted class: hot path)."""

    __slots__ = ("_index", "_lead", "_runs", "original", "text")

    def __init__(self, text: str, original: str, *, index: list[int] | None = None,
                 runs: list[tuple[int, int]] | None = None, lead: int = 0) -> None:
        self.text = text
        self.original = original
        self._index = index
        self._runs = runs
        self._lead = lead

    def position(self, pos: int) -> int:
        """The original index of the normalised character at ``pos``."""
        if self._index is not None:
            return self._index[pos]
        shift = self._lead
        for at, extra in self._runs or ():
            if pos <= at:
                break
            shift += extra
        return pos + shift

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` of the normalised ``[start, end)`` (``end`` exclusive, non-empty)."""
        return self.position(start), self.position(end - 1) + 1


def normalise(text: str) -> Normalised:
    """Normalise ``text`` (see the module docstring); stripped, one space between words."""
    flat = text.translate(_TABLE)
    if _SLOW not in flat:
        body = flat.strip(" ")
        lead = flat.index(body[0]) if body else 0
        runs: list[tuple[int, int]] = []
        if "  " in body:
            removed = 0
            for m in _RUNS.finditer(body):
                # collapsed positions after this run's one kept space lie ``extra`` further on in the original
                extra = m.end() - m.start() - 1
                runs.append((m.start() - removed, extra))
                removed += extra
            body = _RUNS.sub(" ", body)
        return Normalised(body, text, runs=runs, lead=lead)
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        for c in fold_char(ch):
            if c == " " and (not out or out[-1] == " "):
                continue
            out.append(c)
            index.append(i)
    while out and out[-1] == " ":
        out.pop()
        index.pop()
    return Normalised("".join(out), text, index=index)


_BG_LATIN = dict(zip(
    "абвгдежзийклмнопрстуфхцчшщъьюя",
    ["a", "b", "v", "g", "d", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f", "h",
     "ts", "ch", "sh", "sht", "a", "y", "yu", "ya"], strict=True))


def transliterate_bg(normalised: str) -> str:
    """The common Latin spelling of normalised Bulgarian text (``успокоите се`` → ``uspokoite se``)."""
    return "".join(_BG_LATIN.get(c, c) for c in normalised)
