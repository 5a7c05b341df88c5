"""The QA programme's settings a rubric may carry: ``eligibility`` (which conversations are worth scoring),
``alerts`` (where to send webhooks and when), and the field ``Condition`` used by ``applies_if`` and
``exclude_if``. Plain pydantic models that import nothing of ours, so :mod:`scorer.types` can use them."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AlertRules", "Condition", "Eligibility", "normalise_condition"]

Condition = dict[str, list[str]]
"""Field name → accepted values; holds when every field has one of its values (see :mod:`scorer.conditions`)."""


def normalise_condition(raw: object, *, where: str) -> Condition:
    """``{field: value | [values]}`` → ``{field: [values as strings]}``; ValueError names what is wrong."""
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f"{where} must be a mapping of field → value(s), e.g. {{channel: [call]}}")
    out: Condition = {}
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        if not values or any(v is None or isinstance(v, (dict, list)) for v in values):
            raise ValueError(f"{where}: field {name!r} needs one value or a list of values")
        out[str(name)] = [str(v) for v in values]
    return out


class Eligibility(BaseModel):
    """Which conversations a rubric scores. The defaults are on: spam/test tags, bot-only conversations,
    auto-replies and conversations where agents wrote fewer than 5 words are excluded, each with its reason."""

    model_config = ConfigDict(extra="forbid")

    min_agent_words: int = Field(default=5, ge=0, description="Fewer agent words → excluded as too_short (0: off).")
    exclude_bot_only: bool = Field(default=True, description="No human agent turn → excluded as bot_only.")
    exclude_auto_replies: bool = Field(default=True, description="Only auto-replies from agents → auto_reply.")
    exclude_tags: list[str] = Field(default_factory=lambda: ["spam", "test"], description="Tags → tag:<tag>.")
    exclude_spam: bool = Field(default=True, description="Customer messages that read as spam by rules → spam.")
    exclude_if: Condition | None = Field(default=None, description="Field conditions → field:<name>.")
    learned_spam_threshold: float = Field(
        default=0.8, ge=0.5, le=1.0, description="With a trained spam filter (`rubricate train --spam`) present, "
        "P(spam) at or above this → learned:spam (after every rule; off with exclude_spam: false).")

    @field_validator("exclude_if", mode="before")
    @classmethod
    def _condition(cls, value: object) -> object:
        return None if value is None else normalise_condition(value, where="exclude_if")


class AlertRules(BaseModel):
    """A rubric's own alert webhook; unset fields fall back to the RUBRICATE_ALERT_* settings."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, description="Where to POST alerts (http or https).")
    score_below: float | None = Field(default=None, ge=0, le=100, description="Alert when a score falls below.")
    on_auto_fail: bool = Field(default=True, description="Alert when a scorecard's auto-fail applies.")
    on_dispute_resolved: bool = Field(default=True, description="Alert when a dispute is upheld or overturned.")
