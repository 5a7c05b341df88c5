"""Conditions on a conversation's own fields, evaluated without a model: ``applies_if`` on a criterion and
``exclude_if`` in eligibility rules.

A condition maps a field to the values it may take: ``{channel: [call], language: [en, ro]}`` holds when *every*
field named has *one of* its values (case-insensitive). Fields: ``channel``, ``language``, ``team``, ``agent_id``,
``agent_name``, ``tags`` (holds when any tag matches), and any key of the conversation's ``metadata``. A field the
conversation does not have never matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scorer.programme import Condition
from scorer.types import NA, Conversation, Criterion, Judgement

__all__ = ["APPLIES_IF_JUDGE", "Condition", "field_values", "matches", "split_applicable"]

APPLIES_IF_JUDGE = "rule:applies_if"
"""The ``judge_id`` of ``na`` answers given by ``applies_if`` (no model was asked)."""

_ATTRIBUTES = ("channel", "language", "team", "agent_id", "agent_name")


def field_values(conversation: Conversation, name: str) -> list[str]:
    """The values of one field of the conversation, as strings (empty when it has none)."""
    if name == "tags":
        return [str(t) for t in conversation.tags]
    value = getattr(conversation, name) if name in _ATTRIBUTES else conversation.metadata.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def matches(conversation: Conversation, condition: Mapping[str, Sequence[str]]) -> bool:
    """True when every field of ``condition`` has one of its accepted values."""
    for name, accepted in condition.items():
        wanted = {v.casefold() for v in accepted}
        if not any(v.casefold() in wanted for v in field_values(conversation, name)):
            return False
    return True


def split_applicable(conversation: Conversation, criteria: Sequence[Criterion]
                     ) -> tuple[list[Criterion], dict[str, Judgement]]:
    """The criteria a judge must be asked, and ``na`` judgements for those whose ``applies_if`` does not hold."""
    ask: list[Criterion] = []
    answered: dict[str, Judgement] = {}
    for criterion in criteria:
        if criterion.applies_if is None or matches(conversation, criterion.applies_if):
            ask.append(criterion)
            continue
        shown = "; ".join(f"{k} in {v}" for k, v in criterion.applies_if.items())
        answered[criterion.id] = Judgement(
            criterion_id=criterion.id, answer=NA, confidence=1.0, judge_id=APPLIES_IF_JUDGE,
            rationale=f"not applicable: applies_if ({shown}) does not hold for this conversation")
    return ask, answered
