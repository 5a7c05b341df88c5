"""``/ui/disputes``: the disputes agents opened and their outcomes, where a QA lead finds what is open and an agent
follows their own (the dashboard's view of ``GET /v1/disputes``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.ui.common import PageError, store_of
from api.ui.render import render
from api.ui.session import ViewerDep
from scorer.store.disputes import list_disputes

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

STATUSES = ("open", "upheld", "overturned")
SHOWN = 500
"""The newest disputes listed on the page (the API lists every one)."""


@router.get("/disputes", summary="Disputes and their outcomes")
def disputes_page(request: Request, viewer: ViewerDep, status: str = "") -> Response:
    if status and status not in STATUSES:
        raise PageError(400, f"status={status[:40]!r}: use one of {', '.join(STATUSES)}, or leave it out for all")
    found = list_disputes(store_of(request), status=status or None, agent_id=viewer.agent_id)
    return render(request, "disputes.html", viewer=viewer, disputes=found[:SHOWN], total=len(found),
                  status=status, statuses=STATUSES, shown=SHOWN, params={}, active="disputes")
