"""Disputes: an agent contests a judgement (``POST /v1/conversations/{id}/disputes``); reviewers list them
(``GET /v1/disputes?status=open``); the outcome comes back through ``rubricate review pull``.

An ``agent`` key may dispute and see only its own agent's conversations; reviewers see every dispute.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from api.auth import require
from api.deps import SettingsDep, StoreDep, agent_scope
from api.schemas.common import AUTH_ERRORS, ErrorOut, errors
from scorer.store.disputes import Dispute, DisputeError, list_disputes, open_dispute
from scorer.store.keys import ApiKey

__all__ = ["router"]

router = APIRouter(tags=["disputes"], responses=AUTH_ERRORS)
DisputeKey = Annotated[ApiKey, Depends(require("agent", "reviewer"))]
AgentKey = Annotated[ApiKey, Depends(require("agent"))]
MAX_LIMIT = 1000
"""The largest ``limit`` of ``GET /v1/disputes``."""


class DisputeIn(BaseModel):
    """What the agent disputes and why."""

    criterion_id: str = Field(min_length=1, max_length=255, description="The criterion whose judgement is disputed.")
    comment: str = Field(min_length=1, max_length=5000, description="Why the agent thinks the judgement is wrong; "
                         "the reviewer sees it with the transcript.")


@router.post(
    "/v1/conversations/{conversation_id}/disputes", response_model=Dispute, status_code=status.HTTP_201_CREATED,
    summary="Dispute a judgement of a conversation",
    responses={404: {"model": ErrorOut, "description": "Unknown conversation (for this agent) or criterion."},
               409: {"model": ErrorOut, "description": "The judgement already has an open dispute."},
               **errors(400, 422)},
)
def create_dispute(conversation_id: Annotated[str, Path(max_length=255)], body: DisputeIn, store: StoreDep,
                   settings: SettingsDep, key: AgentKey) -> Dispute:
    """Open a dispute: the judgement goes to human review with reason ``dispute`` and this comment. Refused after
    the dispute window (``RUBRICATE_DISPUTE_WINDOW_DAYS``, default 14 days after scoring)."""
    try:
        return open_dispute(store, conversation_id, body.criterion_id, body.comment, agent_id=agent_scope(key),
                            window_days=settings.dispute_window_days)
    except DisputeError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


@router.get("/v1/disputes", response_model=list[Dispute], summary="List disputes (e.g. the open ones)")
def disputes(store: StoreDep, key: DisputeKey,
             status_: Annotated[Literal["open", "upheld", "overturned"] | None,
                                Query(alias="status", description="Only disputes in this state.")] = None,
             limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="At most this many disputes "
                                                "(leave it out for every one).")] = None,
             offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Skip this many of the newest first "
                                          "(with `limit`, the next page is `offset + limit`).")] = 0,
             ) -> list[Dispute]:
    """Newest first. Reviewers see every dispute; an agent key sees its own, with their outcomes. ``limit`` and
    ``offset`` page the list (in SQL); the response is the same list of disputes."""
    return list_disputes(store, status=status_, agent_id=agent_scope(key), limit=limit, offset=offset)


@router.get("/v1/disputes/{dispute_id}", response_model=Dispute, summary="One dispute and its outcome",
            responses={404: {"model": ErrorOut, "description": "Unknown dispute (for this agent)."}})
def dispute(dispute_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="The dispute's id.")], store: StoreDep,
            key: DisputeKey) -> Dispute:
    found = list_disputes(store, dispute_id=dispute_id, agent_id=agent_scope(key))
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown dispute {dispute_id}")
    return found[0]
