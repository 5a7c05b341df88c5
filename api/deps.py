"""FastAPI dependencies: settings, the service state and the store (opened lazily), and the role-checked API key.

Everything comes from ``app.state`` (set by :func:`api.main.create_app`); nothing is read at import time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool

from api.auth import require
from api.state import ServiceState
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.keys import ApiKey

__all__ = [
    "AdminKey",
    "IngestKey",
    "ReaderKey",
    "ReviewerKey",
    "SettingsDep",
    "StateDep",
    "StoreDep",
    "get_settings",
    "get_state",
    "get_store",
]


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_state(request: Request) -> ServiceState:
    return request.app.state.service  # type: ignore[no-any-return]


async def get_store(request: Request) -> Store:
    """The store (opened in a worker thread if the database was away at startup); a database that cannot be
    opened becomes a 503 (see :mod:`api.errors`). Dependencies without I/O are ``async`` to save thread hops."""
    lazy = request.app.state.service.store
    return lazy.get() if lazy.opened else await run_in_threadpool(lazy.get)  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
StateDep = Annotated[ServiceState, Depends(get_state)]
StoreDep = Annotated[Store, Depends(get_store)]
IngestKey = Annotated[ApiKey, Depends(require("ingest"))]
ReviewerKey = Annotated[ApiKey, Depends(require("reviewer"))]
ReaderKey = Annotated[ApiKey, Depends(require("ingest", "reviewer"))]
OwnReaderKey = Annotated[ApiKey, Depends(require("ingest", "reviewer", "agent"))]
"""Readers of conversations' results, and ``agent`` keys for their own agent's conversations (see agent_scope)."""
OwnReviewerKey = Annotated[ApiKey, Depends(require("reviewer", "agent"))]
AdminKey = Annotated[ApiKey, Depends(require())]


def agent_scope(key: ApiKey) -> str | None:
    """The agent id an ``agent`` key is bound to (None for other roles, which see every agent); 403 for an agent
    key bound to no agent."""
    if key.role != "agent":
        return None
    if not key.agent_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this agent key is bound to no agent id; create one with "
                            "`rubricate keys create --role agent --agent <id>`")
    return key.agent_id
