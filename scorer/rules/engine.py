"""The rule engine: answers the criteria that carry a ``check:`` block, without a language model.

All phrase criteria of a rubric share one compiled :class:`~scorer.rules.matcher.PhraseMatcher` (cached per set of
checks), so each turn is normalised once and scanned once. A judgement from a rule has ``judge_id`` ``"rule"``,
confidence 1.0 (``confidence_kind`` ``"rule"``) and exact evidence spans: ``turns[turn].text[start:end] == quote``.

* ``forbid``: any match in the searched turns answers ``no`` with the matches as evidence, else ``yes``;
* ``require``: a match answers ``yes`` with the match as evidence, else ``no``;
* ``unless``: a match lying inside a match of an ``unless`` phrase in the same turn does not count;
* a phrase spoken by another speaker than ``speaker`` never counts; a phrase split across two turns never matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

from scorer.evidence import turn_label
from scorer.rules.check import ALL_LANGUAGES, TIMING_KINDS, Check, language_key
from scorer.rules.matcher import Hit, PhraseMatcher
from scorer.rules.normalise import Normalised, normalise, transliterate_bg
from scorer.rules.regexes import RegexRules
from scorer.rules.timing import answer_timing
from scorer.types import Conversation, Criterion, Evidence, Judgement

__all__ = ["RULE_JUDGE_ID", "CompiledRules", "answer_rules", "compile_rules", "rule_criteria"]

RULE_JUDGE_ID = "rule"
_TARGET, _UNLESS = "target", "unless"


def rule_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    """The criteria answered by rules (those with a ``check:`` block), in order."""
    return [c for c in criteria if c.check is not None]


def _variants(phrase: str, language: str) -> list[str]:
    """The normalised phrase, plus its Latin spelling for Bulgarian (``uspokoite se``)."""
    text = normalise(phrase).text
    if language == "bg" or (language == ALL_LANGUAGES and any("а" <= ch <= "я" for ch in text)):
        latin = transliterate_bg(text)
        if latin != text:
            return [text, latin]
    return [text]


def _scope(conversation: Conversation, check: Check) -> list[int]:
    """The turn indices a phrase check searches: the speaker's turns, cut to ``within``."""
    turns = [i for i, t in enumerate(conversation.turns) if check.speaker == "any" or t.speaker == check.speaker]
    if check.within is not None:
        if check.within.first_turns is not None:
            turns = turns[: check.within.first_turns]
        elif check.within.last_turns is not None:
            turns = turns[-check.within.last_turns :]
    return turns


def _describe_scope(check: Check) -> str:
    who = "anyone's" if check.speaker == "any" else f"the {check.speaker}'s"
    if check.within is not None and check.within.first_turns:
        return f"{who} first {check.within.first_turns} turn(s)"
    if check.within is not None and check.within.last_turns:
        return f"{who} last {check.within.last_turns} turn(s)"
    return f"{who} turns"


class CompiledRules:
    """The checks of one rubric, compiled: one phrase automaton, regexes, timing checks."""

    def __init__(self, checks: Sequence[tuple[str, Check]]) -> None:
        self.checks = list(checks)
        self.matcher = PhraseMatcher()
        self.entries: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
        """Automaton key → (check number, target/unless, language) of every phrase with that normal form."""
        self.regexes: dict[int, RegexRules] = {}
        self._phrases_known: dict[tuple[int, str | None], bool] = {}
        for k, (_, check) in enumerate(self.checks):
            if check.kind == "regex":
                self.regexes[k] = RegexRules(check)
            if check.kind != "phrases":
                continue
            for role, lists in ((_TARGET, check.lists), (_UNLESS, check.unless)):
                for language, phrases in lists.items():
                    for phrase in phrases:
                        for variant in _variants(phrase, language):
                            key = self.matcher.add(variant, already_normalised=True)
                            if key is not None and (k, role, language) not in self.entries[key]:
                                self.entries[key].append((k, role, language))
        self.matcher.build()

    def answer(self, conversation: Conversation) -> list[Judgement]:
        """One judgement per compiled check, in order."""
        language = language_key(conversation.language)
        normalised: list[Normalised] = []
        by_check: dict[int, dict[int, list[tuple[str, Hit]]]] = defaultdict(lambda: defaultdict(list))
        if self.matcher.phrases:
            normalised = [normalise(t.text) for t in conversation.turns]
            for turn, text in enumerate(normalised):
                for hit in self.matcher.find(text):
                    for k, role, lang in self.entries[hit.key]:
                        if language is None or lang in (ALL_LANGUAGES, language):
                            by_check[k][turn].append((role, hit))
        out = []
        for k, (criterion_id, check) in enumerate(self.checks):
            if check.kind in TIMING_KINDS:
                result = answer_timing(conversation, check)
                out.append(_judgement(criterion_id, check, result.answer, result.text, result.evidence))
            elif not self._has_phrases(k, language):
                out.append(_judgement(criterion_id, check, None, f"the check has no phrases for language "
                                      f"{conversation.language!r} and no '*' list", []))
            else:
                turns = _scope(conversation, check)
                if check.kind == "regex":
                    found = self.regexes[k].find(conversation, turns, language)
                else:
                    found = self._phrase_evidence(conversation, normalised, by_check[k], turns)
                out.append(_phrase_judgement(criterion_id, check, found))
        return out

    def _has_phrases(self, k: int, language: str | None) -> bool:
        key = (k, language)
        if key not in self._phrases_known:
            check = self.checks[k][1]
            self._phrases_known[key] = bool(check.phrases_for(check.lists, language))
        return self._phrases_known[key]

    @staticmethod
    def _phrase_evidence(conversation: Conversation, normalised: list[Normalised],
                         hits: dict[int, list[tuple[str, Hit]]], turns: list[int]) -> list[Evidence]:
        found: list[Evidence] = []
        for turn in turns:
            unless = [(h.start, h.end) for role, h in hits.get(turn, ()) if role == _UNLESS]
            for role, h in hits.get(turn, ()):
                if role != _TARGET or any(s <= h.start and h.end <= e for s, e in unless):
                    continue
                start, end = normalised[turn].span(h.start, h.end)
                evidence = Evidence(turn=turn, start=start, end=end, quote=conversation.turns[turn].text[start:end])
                if evidence not in found:
                    found.append(evidence)
        return sorted(found, key=lambda e: (e.turn, e.start, e.end))


def _phrase_judgement(criterion_id: str, check: Check, found: list[Evidence]) -> Judgement:
    where = _describe_scope(check)
    quoted = "; ".join(f"“{e.quote}” ({turn_label(e.turn)})" for e in found[:5]) + (" …" if len(found) > 5 else "")
    if check.forbid:
        if found:
            return _judgement(criterion_id, check, "no", f"forbidden phrase(s) in {where}: {quoted}", found)
        return _judgement(criterion_id, check, "yes", f"no forbidden phrase in {where}", [])
    if found:
        return _judgement(criterion_id, check, "yes", f"required phrase found in {where}: {quoted}", found)
    return _judgement(criterion_id, check, "no", f"none of the required phrases in {where}", [])


def _judgement(criterion_id: str, check: Check, answer: str | None, text: str,
               evidence: list[Evidence]) -> Judgement:
    common = {"judge_id": RULE_JUDGE_ID, "model_id": f"rule/{check.kind}", "prompt_version": "rule-v1"}
    if answer is None:
        return Judgement.unscored(criterion_id, f"rule: {text}", **common)
    return Judgement(criterion_id=criterion_id, answer=answer, confidence=1.0, confidence_kind="rule",
                     probabilities={answer: 1.0}, rationale=text, evidence=evidence, judge_id=RULE_JUDGE_ID,
                     model_id=common["model_id"], prompt_version=common["prompt_version"])


@lru_cache(maxsize=64)
def _compiled(key: tuple[tuple[str, str], ...]) -> CompiledRules:
    return CompiledRules([(cid, Check.model_validate_json(blob)) for cid, blob in key])


_BY_OBJECTS: dict[tuple[int, ...], tuple[list[Check], CompiledRules]] = {}
"""Fast path: the same Check objects (kept alive here, so their ids cannot be reused) → their compiled rules."""


def compile_rules(criteria: Sequence[Criterion]) -> CompiledRules:
    """The compiled rules of these criteria's checks (cached: a rubric is compiled once per process)."""
    chosen = rule_criteria(criteria)
    checks = [c.check for c in chosen if c.check is not None]
    ids = tuple(id(check) for check in checks) + tuple(hash(c.id) for c in chosen)
    hit = _BY_OBJECTS.get(ids)
    if hit is not None:
        return hit[1]
    compiled = _compiled(tuple((c.id, check.model_dump_json()) for c, check in zip(chosen, checks, strict=True)))
    if len(_BY_OBJECTS) >= 64:
        _BY_OBJECTS.clear()
    _BY_OBJECTS[ids] = (checks, compiled)
    return compiled


def answer_rules(conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
    """Judgements for the criteria that carry a ``check:`` block (the others are skipped), in order."""
    if not rule_criteria(criteria):
        return []
    return compile_rules(criteria).answer(conversation)
