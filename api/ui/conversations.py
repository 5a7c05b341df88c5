"""The conversation list ``/ui/conversations`` (+ ``.csv``) and one conversation ``/ui/conversations/{id}``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from api.ui.common import PageError, choices, scope_for, store_of
from api.ui.render import highlight_turns, render
from api.ui.session import ViewerDep, sessions_of
from scorer.store.dashboard.detail import conversation_view
from scorer.store.dashboard.listing import SORTS, ListQuery, iter_rows, list_page
from scorer.store.disputes import DisputeError, list_disputes, open_dispute

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

CSV_COLUMNS = ["conversation_id", "started_at", "agent_id", "agent_name", "team", "channel", "language", "csat",
               "score", "status", "auto_failed", "provisional", "rubric_version", "excluded_reason"]


@router.get("/conversations", summary="Conversations, filtered, sorted and paged")
def conversation_list(request: Request, viewer: ViewerDep) -> Response:
    q = ListQuery.from_params(request.query_params)
    with store_of(request).session() as s:
        scope = scope_for(request, viewer, s)
        rows, total = list_page(s, scope, q)
        options = choices(s, scope)
    params = {**scope.filters.params(), **q.params()}
    pages = max(1, -(-total // q.page_size))
    return render(request, "list.html", viewer=viewer, scope=scope, params=params, rows=rows, total=total, q=q,
                  pages=pages, sorts=list(SORTS), options=options, active="conversations")


@router.get("/conversations.csv", summary="The conversation list as CSV (every page)")
def conversation_csv(request: Request, viewer: ViewerDep) -> Response:
    q = ListQuery.from_params(request.query_params)
    store = store_of(request)
    with store.session() as s:  # resolve (and report bad filters) before the response starts
        scope = scope_for(request, viewer, s)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        with store.session() as s:
            for n, row in enumerate(iter_rows(s, scope, q), start=1):
                writer.writerow([row.conversation_id, row.started.isoformat() if row.started else "",
                                 row.agent_id or "", row.agent_name or "", row.team or "", row.channel,
                                 row.language or "", "" if row.csat is None else row.csat,
                                 "" if row.score is None else f"{row.score:.2f}", row.status,
                                 int(row.auto_failed), int(row.provisional), row.rubric_version,
                                 row.excluded_reason or ""])
                if n % 500 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="conversations.csv"'})


@router.get("/conversations/{conversation_id:path}", summary="One conversation with its evidence")
def conversation_page(request: Request, conversation_id: str, viewer: ViewerDep) -> Response:
    rubric = request.query_params.get("rubric") or None
    with store_of(request).session() as s:
        view = conversation_view(s, conversation_id, bound_agent=viewer.agent_id, rubric_id=rubric)
    if view is None:
        raise PageError(404, f"no conversation {conversation_id!r} among the conversations you may see")
    failing: set[str] = set()
    if view.card is not None and view.rubric is not None:
        scales = {c.id: c.scale for c in view.rubric.criteria}
        answers = {j.criterion_id: view.decided.get(j.criterion_id, j.answer) for j in view.card.judgements}
        failing = {cid for cid, answer in answers.items()  # a reviewer's standing answer counts over the AI's
                   if answer is not None and cid in scales and scales[cid].is_failing(answer)}
    turns, anchors = highlight_turns(view.conversation, view.card, failing)
    criteria = {c.id: c for c in view.rubric.criteria} if view.rubric else {}
    disputes = {}  # the newest dispute of each criterion (oldest first in, newest wins)
    for d in reversed(list_disputes(store_of(request), agent_id=viewer.agent_id,
                                    conversation_id=view.conversation.id)):
        disputes[d.criterion_id] = d
    return render(request, "conversation.html", viewer=viewer, view=view, c=view.conversation, turns=turns,
                  anchors=anchors, failing=failing, criteria=criteria, disputes=disputes,
                  can_dispute=viewer.agent_id is not None, params={}, active="conversations")


@router.post("/conversations/{conversation_id}/disputes", summary="An agent disputes a judgement")
def dispute_judgement(request: Request, conversation_id: str, viewer: ViewerDep,
                      criterion_id: Annotated[str, Form(max_length=255)] = "",
                      comment: Annotated[str, Form(max_length=10_000)] = "",
                      csrf_token: Annotated[str, Form()] = "") -> Response:
    """The dashboard's form for ``POST /v1/conversations/{id}/disputes``: same rules (own conversations only, one
    open dispute per judgement, the dispute window), then back to the judgement."""
    sessions_of(request).check_csrf(request, csrf_token)
    if viewer.agent_id is None:
        raise PageError(403, "only an agent key disputes judgements; reviewers decide them in Label Studio")
    comment = comment.replace("\r\n", "\n").strip()  # a browser sends a textarea's line breaks as CRLF
    if not comment:
        raise PageError(422, "say why the judgement is wrong: the comment is what the reviewer reads")
    if len(comment) > 5000:
        raise PageError(422, f"the comment has {len(comment):,} characters; keep it to 5,000")
    try:
        open_dispute(store_of(request), conversation_id, criterion_id, comment, agent_id=viewer.agent_id,
                     window_days=request.app.state.settings.dispute_window_days)
    except DisputeError as exc:
        raise PageError(exc.status, str(exc)) from exc
    return RedirectResponse(f"/ui/conversations/{quote(conversation_id, safe='')}#j-{quote(criterion_id, safe='')}",
                            status_code=303)
