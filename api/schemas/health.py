"""Health schemas: liveness and readiness with a check per dependency."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["Check", "Health", "Readiness"]


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class Check(BaseModel):
    """One dependency's state. ``ok`` is null when the check does not apply (e.g. Label Studio not configured)."""

    ok: bool | None
    required: bool = Field(description="Whether the service is not ready without it.")
    detail: str


class Readiness(BaseModel):
    """Ready when every required check passes (HTTP 200), else HTTP 503 with the same body."""

    status: Literal["ready", "not_ready"]
    mode: Literal["in-process", "celery"] = Field(description="Where scoring jobs run.")
    checks: dict[str, Check]
