"""Schemas shared by every resource: error bodies and the standard error responses routes declare."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

__all__ = ["AUTH_ERRORS", "STORAGE_ERRORS", "ErrorOut", "UtcDatetime", "ValidationErrorOut", "ValidationItem", "errors",
           "utc"]


def utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive value (SQLite hands those back) is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(utc)]
"""A datetime always carrying its offset (RFC 3339 ``date-time``), normalised to UTC."""


class ErrorOut(BaseModel):
    """An error: ``detail`` says what went wrong and what to do about it."""

    detail: str = Field(examples=["unknown rubric 'support-core'; POST it to /v1/rubrics first"])


class ValidationItem(BaseModel):
    """One problem with the request: where (``loc``), what (``msg``) and its kind (``type``)."""

    loc: list[str | int] = Field(description="Path to the offending value, e.g. [\"body\", \"conversations\", 3].")
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class ValidationErrorOut(BaseModel):
    """The request was understood but some of its values are invalid."""

    detail: list[ValidationItem]


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these status codes."""
    described = {
        400: "The body is not valid JSON.",
        401: "Missing, unknown or revoked API key (send `Authorization: Bearer <key>`).",
        403: "The API key's role may not use this route.",
        404: "Not found.",
        409: "The Idempotency-Key was used before with a different request.",
        413: "The body, the batch or a transcript is over the configured size limit.",
        422: "Some values of the request are invalid.",
        503: "A dependency (database or job broker) is unavailable; nothing was accepted. Retry later.",
    }
    return {code: {"model": ValidationErrorOut if code == 422 else ErrorOut, "description": described[code]}
            for code in codes}


AUTH_ERRORS = errors(401, 403, 422, 503)
STORAGE_ERRORS = errors(503)
