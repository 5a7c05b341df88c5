"""The Label Studio webhook payload, validated (a malformed payload is a 422, never a 500).

Only the fields rubricate reads are typed; Label Studio sends more, which are kept and ignored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LsAnnotation", "LsProject", "LsResult", "LsTask", "LsValue", "WebhookPayload"]

_OPEN = ConfigDict(extra="allow")


class LsValue(BaseModel):
    """A result's value: the chosen answer, a comment, or an evidence span with its label."""

    model_config = _OPEN
    choices: list[str] | None = None
    text: list[str] | None = None
    labels: list[str] | None = None
    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=0)


class LsResult(BaseModel):
    """One control's result in an annotation."""

    model_config = _OPEN
    from_name: str = Field(default="", max_length=1000)
    value: LsValue = Field(default_factory=LsValue)


class LsAnnotation(BaseModel):
    """A reviewer's annotation of one task."""

    model_config = _OPEN
    id: int | str
    result: list[LsResult] = Field(default_factory=list)
    was_cancelled: bool = False
    completed_by: int | str | dict[str, Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class LsTask(BaseModel):
    """The task the annotation belongs to (its id links it to rubricate's queue)."""

    model_config = _OPEN
    id: int


class LsProject(BaseModel):
    """The Label Studio project ("rubricate <rubric id>@<version>")."""

    model_config = _OPEN
    title: str = Field(default="", max_length=1000)


class WebhookPayload(BaseModel):
    """What Label Studio POSTs for annotation events."""

    model_config = _OPEN
    action: str = Field(max_length=100)
    annotation: LsAnnotation | None = None
    task: LsTask | None = None
    project: LsProject | None = None
