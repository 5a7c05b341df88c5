"""The agent scorecard ``/ui/agents/{agent_id}`` with its coaching view, and its exports (self-contained HTML,
CSV)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.ui.common import PageError, choices, scope_for, store_of
from api.ui.render import NEUTRAL, STATIC, chart, query_string, render, templates
from api.ui.session import Viewer, ViewerDep
from scorer.store.dashboard.agents import AgentCard, agent_card
from scorer.store.dashboard.filters import Scope

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


def _card(request: Request, viewer: Viewer, agent_id: str) -> tuple[Scope, AgentCard, dict[str, list[Any]]]:
    if viewer.agent_id is not None and agent_id != viewer.agent_id:
        raise PageError(404, f"no agent {agent_id!r} among the conversations you may see")
    with store_of(request).session() as s:
        scope = scope_for(request, viewer, s)
        card = agent_card(s, scope, agent_id)
        options = choices(s, scope)
    if card is None:
        raise PageError(404, f"no conversations of agent {agent_id!r} scored with rubric "
                             f"{scope.filters.rubric or '(none stored)'}")
    return scope, card, options


def _context(request: Request, viewer: Viewer, agent_id: str) -> dict[str, Any]:
    scope, card, options = _card(request, viewer, agent_id)
    team = {w.key: w.average for w in card.team_weeks}
    keys = sorted({w.key for w in card.weeks} | set(team))
    mine = {w.key: w.average for w in card.weeks}
    trend = chart("line", [f"{date.fromisoformat(k):%d %b}" for k in keys], [
        {"label": card.name or card.agent_id, "data": [mine.get(k) for k in keys]},
        {"label": f"team {card.team}" if card.team else "team", "data": [team.get(k) for k in keys],
         "color": NEUTRAL}], y_max=100)
    categories = chart("bar", [c for c, _, _ in card.categories],
                       [{"label": "category score", "data": [v for _, v, _ in card.categories]}], y_max=100)
    params = scope.filters.params(agent=None)
    return {"viewer": viewer, "base": "", "scope": scope, "card": card, "options": options, "trend": trend,
            "categories": categories, "params": params, "agent_params": scope.filters.params(agent=agent_id),
            "active": "agents"}


@router.get("/agents/{agent_id:path}/export.html", summary="The scorecard as one self-contained HTML file")
def agent_export_html(request: Request, agent_id: str, viewer: ViewerDep) -> Response:
    context = _context(request, viewer, agent_id)
    inline = {name: (STATIC / name).read_text(encoding="utf-8") for name in ("app.css", "chart.umd.js", "app.js")}
    context["base"] = str(request.base_url).rstrip("/")  # links in a saved file lead back to this server
    html = templates().get_template("agent_export.html").render(inline=inline, query=query_string, **context)
    name = f"scorecard-{_slug(agent_id)}.html"
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/agents/{agent_id:path}/export.csv", summary="The scorecard's criteria as CSV")
def agent_export_csv(request: Request, agent_id: str, viewer: ViewerDep) -> Response:
    scope, card, _ = _card(request, viewer, agent_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["agent_id", "agent_name", "team", "period_start", "period_end", "rubric", "criterion_id",
                     "category", "judged", "passed", "failed", "na", "unscored", "pass_rate",
                     "previous_pass_rate", "change"])
    for now, before in card.criteria:
        rate = now.pass_rate
        previous = before.pass_rate if before else None
        writer.writerow([card.agent_id, card.name or "", card.team or "", scope.start or "", scope.end or "",
                         scope.filters.rubric or "", now.criterion_id, now.category, now.judged, now.passed,
                         now.failed, now.na, now.unscored, _fmt(rate), _fmt(previous),
                         _fmt(rate - previous if rate is not None and previous is not None else None)])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="scorecard-{_slug(agent_id)}.csv"'})


# after the exports: an agent id may hold a "/", so this route takes the rest of the path
@router.get("/agents/{agent_id:path}", summary="An agent's scorecard")
def agent_page(request: Request, agent_id: str, viewer: ViewerDep) -> Response:
    return render(request, "agent.html", **_context(request, viewer, agent_id))


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:80] or "agent"
