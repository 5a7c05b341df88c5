"""The overview ``/ui/`` and the criterion page ``/ui/criteria/{criterion_id}``."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from api.ui.common import PageError, choices, scope_for, store_of
from api.ui.lab import last_verdict
from api.ui.render import NEUTRAL, chart, query_string, render
from api.ui.session import ViewerDep
from scorer.store.dashboard.detail import criterion_view
from scorer.store.dashboard.overview import overview

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563", "#65a30d",
           "#9333ea", "#0d9488"]


@router.get("/", summary="Overview")
def overview_page(request: Request, viewer: ViewerDep) -> Response:
    if viewer.agent_id is not None:  # an agent's home is their own scorecard
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/ui/agents/{quote(viewer.agent_id, safe='')}{query}", status_code=303)
    with store_of(request).session() as s:
        scope = scope_for(request, viewer, s)
        data = overview(s, scope)
        options = choices(s, scope)
    params = scope.filters.params()
    weeks = data.weeks
    week_links = [f"/ui/conversations?{query_string(params, start=w.key, end=_week_end(w.key))}" for w in weeks]
    trend = chart("line", [w.label for w in weeks], [
        {"label": "average score", "data": [w.average for w in weeks], "yAxisID": "y", "order": 0},
        {"label": "conversations", "data": [w.conversations for w in weeks], "yAxisID": "y1", "type": "bar",
         "color": NEUTRAL, "order": 1}],  # counts in grey behind the score line: red would read as failure
        links=week_links, y_max=100)
    dist_links = [f"/ui/conversations?{query_string(params, status='scored', score_min=10 * i, score_max=10 * i + 10)}"
                  for i in range(10)]
    distribution = chart("bar", [f"{10 * i}–{10 * i + 10}" for i in range(10)],
                         [{"label": "conversations", "data": data.totals.distribution}], links=dist_links,
                         empty=not any(data.totals.distribution))
    categories = chart("bar", [c for c, _, _ in data.categories],
                       [{"label": "category score", "data": [v for _, v, _ in data.categories]}], y_max=100)
    agreement_weeks = sorted({w for series in data.agreement.values() for w, _, _ in series})
    agreement = chart("line", [f"{w:%d %b}" for w in agreement_weeks], [
        {"label": cid, "color": PALETTE[i % len(PALETTE)],
         "data": [next((c / (c + x) for w2, c, x in series if w2 == w and c + x), None) for w in agreement_weeks]}
        for i, (cid, series) in enumerate(sorted(data.agreement.items()))], y_max=1, percent=True)
    return render(request, "overview.html", viewer=viewer, scope=scope, params=params, data=data, options=options,
                  trend=trend, distribution=distribution, categories=categories, agreement=agreement,
                  has_agreement=bool(agreement_weeks), active="overview")


@router.get("/criteria/{criterion_id}", summary="One criterion over time")
def criterion_page(request: Request, criterion_id: str, viewer: ViewerDep) -> Response:
    with store_of(request).session() as s:
        scope = scope_for(request, viewer, s)
        view = criterion_view(s, scope, criterion_id)
        options = choices(s, scope)
    if view is None or scope.rubric is None:
        raise PageError(404, f"the rubric {scope.filters.rubric or '(none stored)'} has no criterion "
                             f"{criterion_id!r}")
    criterion = scope.rubric.criterion(criterion_id)
    params = scope.filters.params()
    # conversations are placed by the week they happened, reviews by the week they were made: one axis for both
    passed = dict(view.weeks)
    agreement = {w: (c, x) for w, c, x in view.agreement}
    weeks = sorted(set(passed) | set(agreement))
    links = [f"/ui/conversations?{query_string(params, start=w.isoformat(), end=_week_end(w.isoformat()))}"
             f"&{query_string({}, criterion=criterion_id, outcome='fail')}" for w in weeks]
    rates = chart("line", [f"{w:%d %b}" for w in weeks], [
        {"label": "pass rate (week of the conversation)",
         "data": [passed[w].pass_rate if w in passed else None for w in weeks]},
        {"label": "agreement with reviewers (week of the review)",
         "data": [_share(*agreement.get(w, (0, 0))) for w in weeks]}], links=links, y_max=1, percent=True)
    confirmed = sum(c for _, c, _ in view.agreement)
    corrected = sum(x for _, _, x in view.agreement)
    settings = request.app.state.settings
    lab = last_verdict(settings.lab_dir or settings.data_dir / "lab", criterion_id, criterion.question)
    return render(request, "criterion.html", viewer=viewer, scope=scope, params=params, view=view,
                  criterion=criterion, rates=rates, confirmed=confirmed, corrected=corrected, lab=lab,
                  default_threshold=settings.review_threshold, options=options, active="criteria")


def _share(confirmed: int, corrected: int) -> float | None:
    return confirmed / (confirmed + corrected) if confirmed + corrected else None


def _week_end(monday: str) -> str:
    return (date.fromisoformat(monday) + timedelta(days=6)).isoformat()
