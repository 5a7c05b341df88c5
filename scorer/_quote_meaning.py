"""Does a fuzzily located span say the same thing as the judge's quote? Negations, numbers and dates must agree.

A fuzzy match tolerates typos, not a changed meaning: "We will not refund you today." is not evidence for "We will
refund you today.", nor "ships in 3 days" for "ships in 5 days". Words are compared after the rule normaliser
(case, width, diacritics: ``nicio`` = ``nicio``, ``niciodată`` = ``niciodata``); Chinese negation characters are
counted wherever they occur.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from rapidfuzz import fuzz, process

from scorer.rules.normalise import normalise

__all__ = ["differences", "same_meaning"]

NEGATIONS = frozenset({
    # en ("n't" is split off as "not" first)
    "not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "cannot", "without", "dont",
    "doesnt", "didnt", "wont", "cant", "isnt", "arent", "wasnt", "werent", "shouldnt", "wouldnt", "couldnt",
    "havent", "hasnt", "hadnt", "unable",
    # ro (diacritics folded)
    "nu", "nici", "niciodata", "nimic", "nimeni", "niciun", "nicio", "fara", "n",
    # bg
    "не", "няма", "никога", "нищо", "никой", "никакъв", "никаква", "без", "нито",
})
ZH_NEGATIONS = frozenset("不没沒别別未无無非莫勿甭")
DATE_WORDS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "tomorrow", "yesterday", "tonight",
})
_NT = re.compile(r"n['’]t\b", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _facts(text: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Negations, numbers and date words of ``text``."""
    text = unicodedata.normalize("NFKC", _NT.sub(" not", text))
    words = normalise(text).text.split(" ")
    negations = Counter(w for w in words if w in NEGATIONS)
    negations.update(ch for ch in text if ch in ZH_NEGATIONS)
    numbers = Counter(n.replace(",", ".") for n in _NUMBER.findall(text))
    return negations, numbers, Counter(d for d in map(_date_word, words) if d)


def _date_word(word: str) -> str | None:
    """The date word ``word`` spells, typos allowed (``tomorow`` → ``tomorrow``); None for other words."""
    if word in DATE_WORDS:
        return word
    if len(word) < 5:
        return None
    found = process.extractOne(word, DATE_WORDS, scorer=fuzz.ratio, score_cutoff=85)
    return str(found[0]) if found else None


def differences(quote: str, found: str) -> list[str]:
    """What differs in meaning between ``quote`` and the ``found`` span: 'negation', 'number', 'date'."""
    a, b = _facts(quote), _facts(found)
    return [name for name, x, y in zip(("negation", "number", "date"), a, b, strict=True) if x != y]


def same_meaning(quote: str, found: str) -> bool:
    """True when the span adds or removes no negation and no number or date differs."""
    return not differences(quote, found)
