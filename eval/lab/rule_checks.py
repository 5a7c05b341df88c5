"""Static checks of ``check:`` blocks for ``rubric check``: every problem named per criterion.

* ``check_blocks`` validates each criterion's raw ``check:`` block on its own (unknown kinds and keys, empty phrase
  lists, forbid *and* require, a regex that does not compile, a scale a rule cannot answer), so one run reports every
  broken criterion instead of stopping at the first, as loading the rubric would;
* ``rule_findings`` flags, on a loaded rubric, regexes that can backtrack catastrophically (a quantifier inside a
  quantified group, ``(a+)+``; alternatives that can match the same text under a repeat, ``(a|ab)*``) and phrase maps
  without a list for a conversation language the rubric declares (``languages:``) and without a ``"*"`` list.
"""

from __future__ import annotations

import re
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import yaml

from eval.lab._finding import Finding
from scorer._errors import RubricError
from scorer.rubric import parse_scale
from scorer.rules.check import ALL_LANGUAGES, parse_check
from scorer.types import Criterion

__all__ = ["backtracking_risk", "check_blocks", "rule_findings"]

_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT)


def check_blocks(text: str) -> dict[str, str]:
    """Criterion id → problem, for every criterion whose ``check:`` block is invalid (YAML text of a rubric)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}  # the loader reports YAML errors with their line
    problems: dict[str, str] = {}
    criteria = data.get("criteria") if isinstance(data, dict) else None
    for index, raw in enumerate(criteria if isinstance(criteria, list) else []):
        if not isinstance(raw, dict) or raw.get("check") is None:
            continue
        cid = str(raw.get("id") or f"#{index + 1}")
        try:
            parse_check(raw["check"], where=cid)
            scale = parse_scale(raw.get("scale"), where=cid)
            if scale.levels != ["no", "yes"]:
                raise RubricError(f"{cid}: a criterion with a 'check' needs scale yes_no or yes_no_na")
        except RubricError as exc:
            problems[cid] = str(exc).removeprefix(f"{cid}: ")
    return problems


def _unbounded(node: Any) -> bool:
    return node[1][1] == sre_constants.MAXREPEAT


def _has_repeat(items: Any) -> bool:
    for op, av in items:
        if op in _REPEATS and (_unbounded((op, av)) or av[1] > 1):
            return True
        for child in _children(op, av):
            if _has_repeat(child):
                return True
    return False


def _children(op: Any, av: Any) -> list[Any]:
    if op in _REPEATS:
        return [av[2]]
    if op == sre_constants.SUBPATTERN:
        return [av[-1]]
    if op == sre_constants.BRANCH:
        return list(av[1])
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return [av[1]]
    return []


def _first(items: Any) -> set[Any] | None:
    """Literal first characters of a sequence, None when it may start with a class (treated as overlapping)."""
    for op, av in items:
        if op == sre_constants.LITERAL:
            return {av}
        if op == sre_constants.SUBPATTERN:
            return _first(av[-1])
        if op == sre_constants.BRANCH:
            firsts = [_first(b) for b in av[1]]
            return None if any(f is None for f in firsts) else set().union(*firsts)  # type: ignore[arg-type]
        if op in (sre_constants.AT,):
            continue
        return None
    return set()


def _overlapping_branch(items: Any) -> bool:
    for op, av in items:
        if op == sre_constants.BRANCH:
            firsts = [_first(b) for b in av[1]]
            seen: set[Any] = set()
            for f in firsts:
                if f is None or f & seen:
                    return True
                seen |= f
        for child in _children(op, av):
            if _overlapping_branch(child):
                return True
    return False


def backtracking_risk(pattern: str) -> str | None:
    """Why ``pattern`` can take exponential time on a near-miss, or None when no such shape is found."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None

    def walk(items: Any) -> str | None:
        for op, av in items:
            if op in _REPEATS and (_unbounded((op, av)) or av[1] > 10):
                if _has_repeat(av[2]):
                    return "a quantifier inside a repeated group (like (a+)+)"
                if _overlapping_branch(av[2]):
                    return "alternatives that can match the same text inside a repeated group (like (a|ab)*)"
            for child in _children(op, av):
                found = walk(child)
                if found:
                    return found
        return None

    return walk(parsed)


def rule_findings(criterion: Criterion, languages: list[str]) -> list[Finding]:
    """Problems of a loaded criterion's check: catastrophic-backtracking regexes, languages without a list."""
    check = criterion.check
    if check is None:
        return []
    out: list[Finding] = []
    if check.kind == "regex":
        for pattern in [p for items in (*check.lists.values(), *check.unless.values()) for p in items]:
            risk = backtracking_risk(pattern)
            if risk:
                out.append(Finding(rule="check", reason=f"the regex {pattern!r} can backtrack catastrophically: {risk}",
                                   suggestion="Remove the nested repeat or make the alternatives exclusive, e.g. "
                                              "(ab)+ instead of (a|ab)+, or list plain phrases with kind: phrases."))
    for role, lists in (("forbid", check.forbid), ("require", check.require), ("unless", check.unless)):
        if not lists or ALL_LANGUAGES in lists:
            continue
        missing = [lang for lang in languages if lang not in lists]
        if missing:
            out.append(Finding(rule="check_languages", reason=f"'{role}' has no phrases for {', '.join(missing)}, "
                               "which the rubric declares in 'languages': those conversations "
                               + ("go unchecked" if role == "unless" else "are left unscored"),
                               suggestion=f"Add {', '.join(f'{m}: [...]' for m in missing)} under {role}, or a "
                                          "\"*\" list for every language."))
    return out
