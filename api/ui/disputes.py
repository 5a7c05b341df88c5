"""``/ui/disputes``: the disputes agents opened and their outcomes, where a QA lead finds what is open and an agent
follows their own (the dashboard's view of ``GET /v1/disputes``), newest first, a page at a time (paged in SQL)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.ui.common import PageError, store_of
from api.ui.render import render
from api.ui.session import ViewerDep
from scorer.store.dashboard.listing import PAGE_SIZE, page_number
from scorer.store.disputes import count_disputes, list_disputes

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

STATUSES = ("open", "upheld", "overturned")


@router.get("/disputes", summary="Disputes and their outcomes")
def disputes_page(request: Request, viewer: ViewerDep, status: str = "") -> Response:
    if status and status not in STATUSES:
        raise PageError(400, f"status={status[:40]!r}: use one of {', '.join(STATUSES)}, or leave it out for all")
    page = page_number(request.query_params.get("page"))  # a 400 for a page that cannot be read, like the list
    store = store_of(request)
    total = count_disputes(store, status=status or None, agent_id=viewer.agent_id)
    found = list_disputes(store, status=status or None, agent_id=viewer.agent_id, limit=PAGE_SIZE,
                          offset=(page - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(request, "disputes.html", viewer=viewer, disputes=found, total=total, status=status,
                  statuses=STATUSES, page=page, pages=pages, params={"status": status}, active="disputes")
