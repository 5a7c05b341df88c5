"""PII redaction before a hosted model call: emails, phone numbers, payment cards, CVVs, IBANs, national ids.

:func:`redact_conversation` returns a copy of the conversation with each piece of PII replaced by a placeholder
that is stable within the conversation (the same email is ``<EMAIL_1>`` in every turn), and a :class:`Redaction`
that stays on this machine: it maps placeholders back (:meth:`Redaction.restore`) so the quotes a model returns
can be located in the *original* transcript, and it counts what was replaced per kind. Nothing here logs.

What is detected (docs/security.md has the full list and what is not detected):

* ``EMAIL`` — addresses of the form local@domain.tld;
* ``PHONE`` — numbers the ``phonenumbers`` library finds valid for US, GB, CN, RO, BG or any ``+``-prefixed one;
* ``CARD`` — 13-19 digit numbers (spaces/dashes allowed) that pass the Luhn check; ``CVV`` — 3-4 digits after
  CVV/CVC/security code (also in zh, ro, bg);
* ``IBAN`` — IBANs with a valid ISO 7064 checksum;
* ``CN_ID`` — Chinese resident identity numbers (18 characters, check digit verified);
* ``RO_CNP`` — Romanian personal numeric codes; ``BG_EGN`` — Bulgarian uniform civil numbers (both checksummed);
* user patterns: ``Settings.pii_patterns`` (``RUBRICATE_PII_PATTERNS='{"TICKET": "TK-\\\\d{6}"}'``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import phonenumbers
from stdnum import iban, luhn
from stdnum.bg import egn
from stdnum.cn import ric
from stdnum.ro import cnp

from scorer._errors import RubricateError
from scorer.types import Conversation, Judgement

__all__ = ["PII_KINDS", "PatternError", "Redaction", "Redactor", "redact_conversation", "restore_judgement"]

_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
                    r"(?![A-Za-z0-9-])")
_CARD = re.compile(_NOT_ALNUM_BEFORE + r"\d(?:[ -]?\d){12,18}" + _NOT_ALNUM_AFTER)
_CVV = re.compile(r"(?i)(?:cvv2?|cvc2?|cid|security code|安全码|验证码|cod(?:ul)? (?:de )?securitate|код за сигурност)"
                  r"\D{0,4}?(\d{3,4})" + _NOT_ALNUM_AFTER)
_IBAN = re.compile(_NOT_ALNUM_BEFORE + r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}" + _NOT_ALNUM_AFTER)
_CN_ID = re.compile(_NOT_ALNUM_BEFORE + r"\d{17}[\dXx]" + _NOT_ALNUM_AFTER)
_RO_CNP = re.compile(_NOT_ALNUM_BEFORE + r"[1-9]\d{12}" + _NOT_ALNUM_AFTER)
_BG_EGN = re.compile(_NOT_ALNUM_BEFORE + r"\d{10}" + _NOT_ALNUM_AFTER)
_PHONE_REGIONS = ("US", "GB", "CN", "RO", "BG")
_PLACEHOLDER = re.compile(r"<([A-Z][A-Z0-9_]*?)_(\d+)>")

Span = tuple[int, int, str]  # start, end, kind


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _regex(pattern: re.Pattern[str], kind: str, valid: Callable[[str], bool] | None = None,
           group: int = 0) -> Callable[[str], Iterator[Span]]:
    def find(text: str) -> Iterator[Span]:
        for match in pattern.finditer(text):
            if valid is None or valid(match.group(group)):
                yield match.start(group), match.end(group), kind
    return find


_PHONE_CANDIDATE = re.compile(r"\+?\(?\d[\d \t().\-/]{5,}\d")
"""A run of digits and phone separators long enough to be a phone number (7+ characters)."""


def _is_phone(candidate: str) -> bool:
    for region in _PHONE_REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _phones(text: str) -> Iterator[Span]:
    """Valid phone numbers: each candidate run is parsed whole (cheap); a run that is not one number (two numbers
    side by side, a number and an id) goes through the phonenumbers matcher, on that run only."""
    for candidate in _PHONE_CANDIDATE.finditer(text):
        if _is_phone(candidate.group()):
            yield candidate.start(), candidate.end(), "PHONE"
            continue
        for region in _PHONE_REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(candidate.group(), region,
                                                         leniency=phonenumbers.Leniency.VALID):
                yield candidate.start() + match.start, candidate.start() + match.end, "PHONE"


def _non_overlapping(found: list[tuple[int, int, int, str]]) -> list[Span]:
    """Earliest first; at the same start the higher priority (lower number), then the longer span."""
    chosen: list[Span] = []
    for start, end, _, kind in sorted(found, key=lambda s: (s[0], s[2], -(s[1] - s[0]))):
        if not chosen or start >= chosen[-1][1]:
            chosen.append((start, end, kind))
    return chosen


def _safe(check: Callable[[str], bool]) -> Callable[[str], bool]:
    def valid(value: str) -> bool:
        try:
            return bool(check(value))
        except Exception:  # stdnum raises on odd input; such a value is simply not this kind of id
            return False
    return valid


_DETECTORS: tuple[Callable[[str], Iterator[Span]], ...] = (
    _regex(_EMAIL, "EMAIL"),
    _regex(_IBAN, "IBAN", _safe(iban.is_valid)),
    _regex(_CN_ID, "CN_ID", _safe(ric.is_valid)),
    _regex(_RO_CNP, "RO_CNP", _safe(cnp.is_valid)),
    _regex(_CARD, "CARD", _safe(lambda v: 13 <= len(_digits(v)) <= 19 and luhn.is_valid(_digits(v)))),
    _regex(_BG_EGN, "BG_EGN", _safe(egn.is_valid)),
    _regex(_CVV, "CVV", group=1),
)
PII_KINDS = ("EMAIL", "PHONE", "CARD", "CVV", "IBAN", "CN_ID", "RO_CNP", "BG_EGN")
"""The kinds detected without configuration; user patterns add their own."""


class PatternError(RubricateError):
    """A user-defined PII pattern is not a valid regular expression or kind name."""


@dataclass
class Redaction:
    """What was replaced in one conversation: placeholder → original text (kept local) and counts per kind."""

    originals: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def restore(self, text: str) -> str:
        """``text`` with every known placeholder put back to the original it stands for."""
        if not self.originals:
            return text
        return _PLACEHOLDER.sub(lambda m: self.originals.get(m.group(0), m.group(0)), text)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Redactor:
    """Finds PII with the built-in detectors and ``patterns`` (KIND → regular expression)."""

    def __init__(self, patterns: Mapping[str, str] | None = None) -> None:
        self.user: list[Callable[[str], Iterator[Span]]] = []
        for kind, expression in (patterns or {}).items():
            name = kind.strip().upper()
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                raise PatternError(f"PII pattern kind {kind!r}: use letters, digits and _ (e.g. TICKET_ID)")
            try:
                compiled = re.compile(expression)
            except re.error as exc:
                raise PatternError(f"PII pattern {kind!r} is not a valid regular expression: {exc}; "
                                   "fix RUBRICATE_PII_PATTERNS") from exc
            self.user.append(_regex(compiled, name))

    def spans(self, text: str) -> list[Span]:
        """Non-overlapping PII spans in ``text``: user patterns first, then the built-ins in order; longer wins.
        Phone numbers are looked for last, in the text with everything already found masked out (the cheap
        detectors run first, and a card or id is never also read as a phone number)."""
        found: list[tuple[int, int, int, str]] = []
        for priority, detect in enumerate([*self.user, *_DETECTORS]):
            found += [(start, end, priority, kind) for start, end, kind in detect(text) if end > start]
        chosen = _non_overlapping(found)
        masked = list(text)
        for start, end, _ in chosen:
            masked[start:end] = "x" * (end - start)
        phones = [(start, end, len(self.user) + len(_DETECTORS), kind) for start, end, kind in _phones("".join(masked))]
        return _non_overlapping(found + phones) if phones else chosen

    def redact(self, conversation: Conversation) -> tuple[Conversation, Redaction]:
        """The conversation with PII replaced by stable placeholders, and the local mapping back."""
        redaction = Redaction()
        taken = "\n".join(t.text for t in conversation.turns)  # placeholders already in the text are not reused
        by_value: dict[tuple[str, str], str] = {}
        numbers: dict[str, int] = {}
        turns = []
        for turn in conversation.turns:
            pieces: list[str] = []
            cursor = 0
            for start, end, kind in self.spans(turn.text):
                original = turn.text[start:end]
                key = (kind, original.casefold() if kind == "EMAIL" else _digits(original) or original)
                placeholder = by_value.get(key)
                if placeholder is None:
                    while True:
                        numbers[kind] = numbers.get(kind, 0) + 1
                        placeholder = f"<{kind}_{numbers[kind]}>"
                        if placeholder not in taken:
                            break
                    by_value[key] = placeholder
                    redaction.originals[placeholder] = original
                redaction.counts[kind] = redaction.counts.get(kind, 0) + 1
                pieces += [turn.text[cursor:start], placeholder]
                cursor = end
            pieces.append(turn.text[cursor:])
            turns.append(turn.model_copy(update={"text": "".join(pieces)}))
        return conversation.model_copy(update={"turns": turns}), redaction


def redact_conversation(conversation: Conversation, patterns: Mapping[str, str] | None = None
                        ) -> tuple[Conversation, Redaction]:
    """Shortcut for ``Redactor(patterns).redact(conversation)``."""
    return Redactor(patterns).redact(conversation)


def restore_judgement(judgement: Judgement, redaction: Redaction) -> Judgement:
    """A hosted judge's judgement with placeholders in its quotes and rationale mapped back to the originals (so
    the quotes are located in the original transcript) and the redaction counts attached."""
    return judgement.model_copy(update={
        "proposed_quotes": [redaction.restore(q) for q in judgement.proposed_quotes],
        "rationale": redaction.restore(judgement.rationale),
        "pii_redacted": dict(redaction.counts),
    })
