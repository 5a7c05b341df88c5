"""Helpers the write routes share: resolving the rubric and judge of a request, and idempotency keys."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Header, HTTPException, status

from api.errors import invalid
from scorer.judges._registry import split_spec
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.keys import ApiKey
from scorer.types import Rubric

__all__ = ["IdempotencyKey", "idempotency_scope", "replay_conflict", "request_hash", "resolve_judge", "resolve_rubric"]

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200,
    description="Any unique string (e.g. a UUID). A retry with the same key and body returns the first response "
                "without doing anything again; the same key with a different body is refused (409).")]


def resolve_rubric(store: Store, rubric_id: str, version: str | None) -> Rubric:
    """The stored rubric version; 404 saying how to store it."""
    rubric = store.get_rubric(rubric_id, version)
    if rubric is None:
        what = f"rubric {rubric_id!r}" + (f" at version {version!r}" if version else "")
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown {what}; store it first with POST /v1/rubrics")
    return rubric


def resolve_judge(settings: Settings, spec: str | None) -> str:
    """The judge to use: the server's default, or one the server allows clients to name (422 otherwise)."""
    if spec is None or spec == settings.judge:
        return settings.judge
    if spec not in settings.allowed_judges:
        allowed = ", ".join([settings.judge, *settings.allowed_judges])
        raise invalid(["body", "judge"], f"judge {spec!r} is not enabled on this server (allowed: {allowed}; an "
                                          "operator can add judges with RUBRICATE_ALLOWED_JUDGES)")
    split_spec(spec)
    return spec


def idempotency_scope(key: ApiKey, route: str, header: str) -> str:
    """The stored key: the client's key scoped to the API key and the route, hashed to a fixed length."""
    return hashlib.sha256(f"{key.id}\n{route}\n{header}".encode()).hexdigest()


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def replay_conflict() -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, "this Idempotency-Key was used with a different request body; "
                         "use a new key for a new request")
