"""Small text helpers shared by the static check and the paraphrase templates: language guess, word matching,
quoted text removal, and the "head" of a question (the part up to its actor: "Did the agent", "客服是否")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from eval.lab._lexicon import ACTORS

__all__ = ["Lang", "find_terms", "has_term", "head_of", "language_of", "lower_first", "strip_quotes"]

Lang = str
_CJK = re.compile(r"[\u3400-\u9fff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RO = re.compile(r"[ăâîșşțţ]|\b(agentul|clientul|operatorul|și|dacă|pentru|să)\b", re.I)
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|‘[^’]*’|«[^»]*»|„[^“”]*[“”]|「[^」]*」|『[^』]*』|(?<!\w)'[^']*'(?!\w)")


def language_of(text: str) -> Lang:
    """A guess good enough to pick word lists and templates: zh, bg, ro or en."""
    if _CJK.search(text):
        return "zh"
    if _CYRILLIC.search(text):
        return "bg"
    if _RO.search(text):
        return "ro"
    return "en"


@lru_cache(maxsize=4096)
def _pattern(term: str) -> re.Pattern[str]:
    if _CJK.search(term):
        return re.compile(re.escape(term))
    if term.endswith("*"):
        return re.compile(rf"(?<![\w-]){re.escape(term[:-1])}\w*", re.I)
    return re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w])", re.I)


def has_term(text: str, term: str) -> bool:
    """True when ``term`` occurs in ``text`` as a word (alphabetic), a stem (``stem*``) or a substring (Chinese)."""
    return _pattern(term).search(text) is not None


def find_terms(text: str, terms: Iterable[str]) -> list[str]:
    """The terms of ``terms`` that occur in ``text``, in the given order, without repeats."""
    return list(dict.fromkeys(t.rstrip("*") for t in terms if has_term(text, t)))


def strip_quotes(text: str) -> str:
    """The text with quoted passages blanked: a quoted phrase is an example, not the wording of the behaviour."""
    return _QUOTED.sub(" … ", text)


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word looks like a name or acronym ("I", "CSAT")."""
    first = text.split(" ", 1)[0]
    if not text or first.isupper() or (len(first) > 1 and first[1:].lower() != first[1:]):
        return text
    return text[0].lower() + text[1:]


def head_of(question: str) -> str | None:
    """The question up to and including its actor: "Did the agent", "Before the end, did the agent",
    "客服是否"; None when no actor is found near the start."""
    q = question.strip()
    if language_of(q) == "zh":
        for marker in ("是否", "有没有", "有无"):
            if marker in q:
                return q[: q.index(marker) + len(marker)]
        return None
    best: int | None = None
    for term in ACTORS:
        match = _pattern(term).search(q)
        if match and match.start() < 60 and (best is None or match.end() < best):
            best = match.end()
    if best is None:
        return None
    head = q[:best]
    possessive = re.match(r"(['’]s\s+\w+)", q[best:])
    return head + possessive.group(1) if possessive else head
