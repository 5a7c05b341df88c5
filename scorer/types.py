"""Domain types shared by every part of rubricate: conversations, rubrics, judgements, evidence, score cards, reviews.

All types are pydantic v2 models so they validate input at the edges and serialise to the JSON the CLI and API speak.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scorer.programme import AlertRules, Condition, Eligibility, normalise_condition
from scorer.rules.check import Check
from scorer.usage import Usage

__all__ = [
    "NA",
    "CategoryScore",
    "Channel",
    "Conversation",
    "Criterion",
    "Evidence",
    "Judgement",
    "Provenance",
    "Review",
    "Rubric",
    "Scale",
    "ScoreCard",
    "Speaker",
    "Turn",
    "lone_surrogate",
]

MAX_ID_CHARS = 255
"""Longest id any stored object may have (the database columns hold 255 characters)."""

NA = "na"
"""The answer meaning "this criterion does not apply to this conversation"."""

Speaker = Literal["agent", "customer", "system", "bot"]
Channel = Literal["chat", "email", "call", "other"]
Provenance = Literal["ai", "confirmed", "corrected", "evidence_edited", "deleted"]


def lone_surrogate(value: object) -> str | None:
    """The path (``turns.2.text``) of the first string holding a lone surrogate in nested data, else None."""
    if not _any_surrogate(value):  # the usual case, checked without building every path (the ingest route's CPU)
        return None
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return path or "a value"
        elif isinstance(item, dict):
            named = [(f"{path}.{str(k).encode('utf-8', 'backslashreplace').decode()}".lstrip("."), k, v)
                     for k, v in item.items()]
            stack += [(where, v) for where, _, v in named] + [(where, k) for where, k, _ in named]
        elif isinstance(item, list | tuple):
            stack += [(f"{path}.{i}".lstrip("."), v) for i, v in enumerate(item)]
    return None


def _any_surrogate(value: object) -> bool:
    """Whether any string (dict keys included) in nested data holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


class Turn(BaseModel):
    """One message of a conversation: who spoke and what they said."""

    model_config = ConfigDict(extra="ignore")

    speaker: Speaker = Field(description="Who wrote or said this turn.")
    text: str = Field(description="The turn's text exactly as received; evidence offsets index into it.")
    timestamp: datetime | None = Field(default=None, description="When the turn was sent (or, in a call, began).")
    end: datetime | None = Field(default=None, description="When a call turn ended (silence and talk-over).")
    agent_id: str | None = Field(default=None, description="The agent who wrote this turn, where it changed hands.")

    @field_validator("speaker", mode="before")
    @classmethod
    def _normalise_speaker(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower()
        return value

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("turn has no text")
        return value


class Conversation(BaseModel):
    """A support conversation (chat, email thread or call transcript) to be scored."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, description="The conversation's external id; scoring is idempotent on it.")
    channel: Channel = Field(default="chat", description="Where the conversation happened.")
    language: str | None = Field(default=None, description="BCP-47 language tag such as en, zh, ro, bg.")
    turns: list[Turn] = Field(min_length=1, description="The turns in order.")
    metadata: dict[str, object] = Field(default_factory=dict, description="Free-form fields kept as given.")
    agent_id: str | None = Field(default=None, description="The agent who handled the conversation.")
    agent_name: str | None = Field(default=None, description="The agent's display name.")
    team: str | None = Field(default=None, description="The agent's team or queue.")
    started_at: datetime | None = Field(default=None, description="When the conversation started (RFC 3339).")
    csat: float | None = Field(default=None, description="Customer satisfaction rating, as given.")
    tags: list[str] = Field(default_factory=list, description="Helpdesk tags, e.g. spam or vip.")

    @field_validator("id")
    @classmethod
    def _id_is_addressable(cls, value: str) -> str:
        if len(value) > MAX_ID_CHARS:
            raise ValueError(f"the id has {len(value)} characters; at most {MAX_ID_CHARS} are allowed")
        bad = next((ch for ch in value if ch == "/" or ord(ch) < 32 or ord(ch) == 127), None)
        if bad is not None:
            raise ValueError(f"the id contains {bad!r}; ids may not contain '/' or control characters "
                             "(they appear in URLs such as /v1/conversations/{id}/scorecard)")
        return value

    @model_validator(mode="after")
    def _valid_unicode(self) -> Conversation:
        where = lone_surrogate(self.model_dump(mode="python", include={"id", "language", "turns", "metadata",
                                                                       "agent_id", "agent_name", "team", "tags"}))
        if where is not None:
            raise ValueError(f"{where} contains a lone surrogate (half of a UTF-16 pair, e.g. \\ud800), which is "
                             "not text; fix the encoding where the conversation was exported")
        return self

    def content_hash(self) -> str:
        """Hash of what a judge sees (turns and channel); a changed transcript gets a new hash."""
        payload = json.dumps(
            {"channel": self.channel, "turns": [[t.speaker, t.text] for t in self.turns]},
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Scale(BaseModel):
    """The answers a criterion admits, in order from worst to best; ``allow_na`` adds the answer ``na``."""

    kind: Literal["yes_no", "yes_no_na", "ordinal"]
    levels: list[str] = Field(description="Answer labels from failing/worst to best.")
    descriptions: dict[str, str] = Field(default_factory=dict, description="What each ordinal level means.")
    allow_na: bool = False

    @property
    def answers(self) -> list[str]:
        """Every answer a judge may give, ``na`` last when allowed."""
        return [*self.levels, NA] if self.allow_na else list(self.levels)

    def points(self, answer: str) -> float | None:
        """Fraction of the criterion's weight earned by ``answer`` (None for ``na``)."""
        if answer == NA:
            return None
        if self.kind in ("yes_no", "yes_no_na"):
            return 1.0 if answer == "yes" else 0.0
        index = self.levels.index(answer)
        return index / (len(self.levels) - 1) if len(self.levels) > 1 else 1.0

    def is_failing(self, answer: str) -> bool:
        """True for the answer that fails the criterion: ``no`` or the lowest ordinal level."""
        if answer == NA:
            return False
        return answer == self.levels[0] if self.kind == "ordinal" else answer == "no"


class Criterion(BaseModel):
    """One rubric item, asked of the judge as a concrete, observable behaviour question."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", description="Stable id; labels and reviews refer to it.")
    question: str = Field(min_length=1, description="The behaviour question, e.g. 'Did the agent ...?'.")
    category: str = Field(default="general", description="Category used for sub-scores.")
    scale: Scale
    applies_when: str | None = Field(default=None, description="When the criterion applies; otherwise na.")
    weight: float = Field(default=1.0, ge=0, description="Relative weight in the total score.")
    auto_fail: bool = Field(default=False, description="A failing answer sets the whole score to 0.")
    guidance: str | None = Field(default=None, description="Notes for the judge and the reviewer.")
    applies_if: Condition | None = Field(
        default=None, description="Field condition (channel, language, tags, team, metadata keys); when it does "
        "not hold the answer is na without asking a judge.")

    @field_validator("applies_if", mode="before")
    @classmethod
    def _applies_if(cls, value: object) -> object:
        return None if value is None else normalise_condition(value, where="applies_if")
    check: Check | None = Field(default=None, description="A deterministic rule; the rule engine answers it.")
    about: Literal["agent", "customer", "any"] = Field(
        default="agent", description="Whose behaviour the criterion judges; evidence comes only from their turns.")

    @property
    def answers(self) -> list[str]:
        """The answers a judge may give for this criterion."""
        return self.scale.answers


def _hashed(criterion: Criterion) -> dict[str, object]:
    """The criterion as hashed into the rubric version; fields at their defaults are left out where adding them
    would otherwise change every existing rubric's version (``check``, ``about``)."""
    data = criterion.model_dump(mode="json")
    if data.get("check") is None:
        data.pop("check", None)
    if data.get("about") == "agent":
        data.pop("about", None)
    return data


class Rubric(BaseModel):
    """A versioned list of criteria. ``version`` is the content hash of the normalised criteria."""

    id: str = Field(min_length=1)
    name: str = ""
    description: str | None = None
    criteria: list[Criterion] = Field(min_length=1)
    languages: list[str] = Field(default_factory=list, description="Conversation languages the rubric is used for.")
    version: str = Field(default="", description="Content hash of the criteria; computed, never typed in.")
    eligibility: Eligibility = Field(default_factory=Eligibility, description="Which conversations are scored.")
    alerts: AlertRules | None = Field(default=None, description="This rubric's alert webhook and thresholds.")

    @model_validator(mode="after")
    def _compute_version(self) -> Rubric:
        normalised = [_without_unset(_hashed(c), ("applies_if",)) for c in self.criteria]
        content: dict[str, object] = {"id": self.id, "criteria": normalised}
        if self.eligibility != Eligibility():  # the default leaves versions of existing rubrics unchanged
            eligibility = self.eligibility.model_dump(mode="json")
            if eligibility["learned_spam_threshold"] == Eligibility().learned_spam_threshold:
                del eligibility["learned_spam_threshold"]  # added later: at its default, versions stay as they were
            content["eligibility"] = eligibility
        blob = json.dumps(content, sort_keys=True, ensure_ascii=False)
        self.version = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return self

    def criterion(self, criterion_id: str) -> Criterion:
        """The criterion with this id; KeyError names the known ids."""
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        known = ", ".join(c.id for c in self.criteria)
        raise KeyError(f"unknown criterion {criterion_id!r} in rubric {self.id!r} (known: {known})")


def _without_unset(data: dict[str, object], keys: tuple[str, ...]) -> dict[str, object]:
    """``data`` without the given keys where they are None (fields added later do not change old versions)."""
    return {k: v for k, v in data.items() if not (k in keys and v is None)}


class Evidence(BaseModel):
    """A quote located in the transcript: ``conversation.turns[turn].text[start:end] == quote`` always holds."""

    turn: int = Field(ge=0, description="0-based index into the conversation's turns; texts for people say "
                                        "\"turn N\" counting from 1 (turn 1 is index 0).")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    quote: str


class Judgement(BaseModel):
    """A judge's answer to one criterion for one conversation, or an explicit *unscored* state with the reason."""

    criterion_id: str
    status: Literal["scored", "unscored"] = "scored"
    answer: str | None = Field(default=None, description="One of the criterion's answers; None when unscored.")
    reason: str | None = Field(default=None, description="Why the judgement is unscored.")
    confidence: float | None = Field(default=None, ge=0, le=1, description="Probability the answer is right.")
    confidence_kind: Literal["logprob", "sampling", "verbal", "classifier", "calibrated", "rule", "none"] = "none"
    probabilities: dict[str, float] = Field(default_factory=dict, description="Per-answer probabilities.")
    rationale: str = ""
    evidence: list[Evidence] = Field(default_factory=list, description="Verified, located quotes only.")
    proposed_quotes: list[str] = Field(default_factory=list, description="Quotes the judge proposed, raw.")
    dropped_quotes: int = Field(default=0, description="Proposed quotes that could not be located.")
    judge_id: str = ""
    model_id: str = ""
    prompt_version: str = ""
    pii_redacted: dict[str, int] = Field(
        default_factory=dict, description="PII replaced by placeholders before a hosted call: count per kind.")
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)

    @classmethod
    def unscored(cls, criterion_id: str, reason: str, **fields: object) -> Judgement:
        """A judgement that carries no answer, only the reason it could not be made."""
        return cls(criterion_id=criterion_id, status="unscored", reason=reason, **fields)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _status_matches_answer(self) -> Judgement:
        if self.status == "scored" and self.answer is None:
            raise ValueError("a scored judgement needs an answer")
        if self.status == "unscored" and not self.reason:
            raise ValueError("an unscored judgement needs a reason")
        return self


class CategoryScore(BaseModel):
    """Sub-score of one category: earned and possible weight over applicable, scored criteria."""

    category: str
    score: float | None = Field(description="0-100, None when no criterion of the category applied.")
    earned: float
    possible: float
    criteria: list[str]


class ScoreCard(BaseModel):
    """The result of scoring one conversation against one rubric version with one judge."""

    conversation_id: str
    rubric_id: str
    rubric_version: str
    judge: str
    score: float | None = Field(description="Weighted 0-100 over applicable criteria; 0 when auto-failed.")
    status: Literal["scored", "excluded"] = Field(
        default="scored", description="``excluded``: not worth scoring (eligibility rules); no judgements, a reason.")
    excluded_reason: str | None = Field(default=None, description="Why the conversation was excluded, e.g. too_short.")
    excluded_confidence: float | None = Field(default=None, description="For learned:spam: the spam filter's "
                                              "P(spam); None for exclusions by rule.")
    auto_failed: bool = False
    auto_failed_by: list[str] = Field(default_factory=list)
    provisional: bool = Field(default=False, description="A pending auto-fail awaits a human (score shown without it).")
    pending_auto_fail: list[str] = Field(default_factory=list, description="Auto-fail criteria awaiting review.")
    categories: dict[str, CategoryScore] = Field(default_factory=dict)
    judgements: list[Judgement]
    usage: Usage | None = Field(default=None, description="Model calls, tokens and cost spent on this card "
                                "(None when the judge made no model call, e.g. local or learned judges).")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Review(BaseModel):
    """One entry of a judgement's history: the AI's answer or a human's decision about it, with provenance."""

    conversation_id: str
    criterion_id: str
    rubric_version: str
    kind: Provenance
    answer: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    comment: str | None = None
    reviewer: str | None = None
    source: str = Field(default="ai", description="Where the entry came from: ai, label_studio, api, cli.")
    external_id: str | None = Field(default=None, description="E.g. the Label Studio annotation id.")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
