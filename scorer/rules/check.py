"""The ``check:`` block of a rubric criterion: a deterministic rule answered without a language model.

```yaml
check:
  kind: phrases            # phrases | regex | first_response | response_gap | silence | overlap
  speaker: agent           # whose turns are searched: agent | customer | any
  forbid: {"*": ["calm down"], zh: ["冷静一点"]}   # any match -> "no" (a plain list = {"*": list})
  require: ["my name is"]  # no match -> "no"; a match -> "yes"
  within: {first_turns: 2} # or {last_turns: 2}: only those turns of the speaker
  unless: ["tell you to calm down"]   # a match inside one of these (same turn) does not count
  max_seconds: 60          # timing kinds
```

``forbid``, ``require`` and ``unless`` take a plain list or a map ``language -> list`` where ``"*"`` applies to
every language; the conversation's ``language`` (its primary subtag: ``zh-CN`` → ``zh``) picks the lists, and a
conversation without a language uses every list.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scorer._errors import RubricError

__all__ = ["PHRASE_KINDS", "TIMING_KINDS", "Check", "Within", "language_key", "parse_check"]

CheckKind = Literal["phrases", "regex", "first_response", "response_gap", "silence", "overlap"]
PHRASE_KINDS = ("phrases", "regex")
TIMING_KINDS = ("first_response", "response_gap", "silence", "overlap")
ALL_LANGUAGES = "*"


def language_key(language: str | None) -> str | None:
    """The primary language subtag, lower-cased (``zh-Hans-CN`` → ``zh``); None when unknown."""
    if not language or not language.strip():
        return None
    return language.strip().replace("_", "-").split("-")[0].lower()


def _as_map(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        value = {ALL_LANGUAGES: value}
    if not isinstance(value, dict):
        raise ValueError("must be a list of phrases or a map language -> list of phrases")
    out: dict[str, list[str]] = {}
    for lang, items in value.items():
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            raise ValueError(f"the list for {lang!r} must be a list of phrases")
        key = str(lang).strip()
        out[key if key == ALL_LANGUAGES else (language_key(key) or key)] = [str(i) for i in items]
    return out


class Within(BaseModel):
    """Scope of a phrase check: only the first or the last N turns of the searched speaker."""

    model_config = ConfigDict(extra="forbid")

    first_turns: int | None = Field(default=None, ge=1, description="Only the speaker's first N turns.")
    last_turns: int | None = Field(default=None, ge=1, description="Only the speaker's last N turns.")

    @model_validator(mode="after")
    def _one_of(self) -> Within:
        if (self.first_turns is None) == (self.last_turns is None):
            raise ValueError("within needs exactly one of first_turns or last_turns")
        return self


class Check(BaseModel):
    """A deterministic rule; see the module docstring for the YAML contract."""

    model_config = ConfigDict(extra="forbid")

    kind: CheckKind = Field(description="phrases | regex | first_response | response_gap | silence | overlap")
    speaker: Literal["agent", "customer", "any"] = Field(default="agent", description="Whose turns are searched.")
    forbid: dict[str, list[str]] = Field(default_factory=dict, description="Any match answers 'no'.")
    require: dict[str, list[str]] = Field(default_factory=dict, description="No match answers 'no'.")
    within: Within | None = Field(default=None, description="Only the speaker's first/last N turns.")
    unless: dict[str, list[str]] = Field(default_factory=dict, description="Matches inside these do not count.")
    max_seconds: float | None = Field(default=None, ge=0, description="Limit for the timing kinds.")

    @field_validator("forbid", "require", "unless", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> dict[str, list[str]]:
        return _as_map(value)

    @model_validator(mode="after")
    def _consistent(self) -> Check:
        if self.kind in PHRASE_KINDS:
            if bool(self.forbid) == bool(self.require):
                raise ValueError(f"a {self.kind} check has 'forbid' or 'require' (exactly one of them)")
            lists = self.forbid or self.require
            if not any(p.strip() for items in lists.values() for p in items):
                raise ValueError("the phrase lists are empty")
            if self.max_seconds is not None:
                raise ValueError(f"max_seconds is for the timing kinds {list(TIMING_KINDS)}, not {self.kind}")
            if self.kind == "regex":
                for pattern in [p for items in (*lists.values(), *self.unless.values()) for p in items]:
                    try:
                        re.compile(pattern)
                    except re.error as exc:
                        raise ValueError(f"the regex {pattern!r} does not compile: {exc}") from exc
        else:
            if self.forbid or self.require or self.unless or self.within:
                raise ValueError(f"a {self.kind} check takes max_seconds and speaker, not phrase lists")
            if self.max_seconds is None and self.kind != "overlap":
                raise ValueError(f"a {self.kind} check needs max_seconds")
        return self

    @property
    def lists(self) -> dict[str, list[str]]:
        """The forbid or the require lists (whichever the check has)."""
        return self.forbid or self.require

    def phrases_for(self, lists: dict[str, list[str]], language: str | None) -> list[str]:
        """The phrases of ``lists`` that apply to a conversation in ``language`` (all lists when unknown)."""
        key = language_key(language)
        chosen = [v for k, v in lists.items() if key is None or k in (ALL_LANGUAGES, key)]
        return [p for items in chosen for p in items if p.strip()]


def parse_check(raw: Any, *, where: str) -> Check:
    """Validate a YAML ``check:`` mapping; raises :class:`RubricError` naming ``where`` and each problem."""
    if not isinstance(raw, dict):
        raise RubricError(f"{where}: 'check' must be a mapping with at least 'kind'")
    try:
        return Check.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            (f"check.{'.'.join(map(str, e['loc']))}: " if e["loc"] else "check: ") + e["msg"].removeprefix(
                "Value error, ") for e in exc.errors())
        raise RubricError(f"{where}: {problems}") from exc
