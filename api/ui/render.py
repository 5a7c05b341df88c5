"""Rendering: the Jinja2 templates (autoescaped), number formats, chart data, and the transcript with its evidence
spans wrapped in ``<mark>`` (user text is always escaped; only our own tags are markup)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from scorer.evidence import turn_label
from scorer.types import Conversation, ScoreCard

__all__ = ["NEUTRAL", "STATIC", "ChartSpec", "Segment", "chart", "highlight_turns", "query_string", "render",
           "templates"]

NEUTRAL = "#94a3b8"
"""Counts and comparisons (conversations per week, the team's line) are drawn in this grey, not in a colour that
reads as a verdict."""
HERE = Path(__file__).parent
STATIC = HERE / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _pct(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f} %"


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _usd(value: float | None) -> str:
    """Dollars: cents above a dollar, four decimals below (a conversation often costs a fraction of a cent)."""
    if value is None:
        return "unknown"
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.4f}"


def _when(value: datetime | date | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):  # stored in UTC (SQLite hands them back without the offset)
        utc = value.astimezone(UTC) if value.tzinfo else value
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _segment(value: object) -> str:
    """One path segment of a URL: an id with ``#``, ``?``, ``%``, ``/`` or spaces stays one segment."""
    return quote(str(value), safe="")


def query_string(params: dict[str, Any], **overrides: Any) -> str:
    merged = {**params, **overrides}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


@cache
def templates() -> Jinja2Templates:
    """The page templates (built on first use, not at import)."""
    built = Jinja2Templates(directory=str(HERE / "templates"))
    built.env.filters.update(pct=_pct, num=_num, when=_when, usd=_usd, seg=_segment, turn_label=turn_label)
    built.env.globals.update(query=query_string)
    return built


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from ``templates/name`` with the viewer and the CSRF token; sets the CSRF cookie and the CSP."""
    sessions = request.app.state.ui_sessions
    token = sessions.csrf_token(request)
    response = templates().TemplateResponse(request, name, {"csrf_token": token, **context}, status_code=status_code)
    sessions.keep_csrf(request, response, token)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@dataclass(frozen=True)
class ChartSpec:
    """What a ``<canvas data-chart>`` is drawn from: the JSON (rendered as is by ``{{ spec }}``) and whether there is
    anything to draw (an empty chart shows a sentence instead of bare axes)."""

    json: Markup
    empty: bool

    def __html__(self) -> Markup:
        return self.json


def chart(kind: str, labels: list[str], datasets: list[dict[str, Any]], *, links: list[str] | None = None,
          y_max: float | None = None, percent: bool = False, empty: bool | None = None) -> ChartSpec:
    """The JSON a ``<canvas data-chart>`` is drawn from by static/app.js (Chart.js); ``links`` make points clickable.
    ``<`` is escaped so the JSON cannot end its ``<script>`` element. ``empty`` defaults to: no label, or no value
    in any dataset."""
    spec = {"type": kind, "labels": labels, "datasets": datasets, "links": links or [], "yMax": y_max,
            "percent": percent}
    if empty is None:
        empty = not labels or all(v is None for d in datasets for v in d["data"])
    return ChartSpec(Markup(json.dumps(spec, ensure_ascii=False).replace("<", "\\u003c")), empty)


@dataclass
class Segment:
    """A piece of a turn's text: plain, or covered by evidence of the listed criteria."""

    text: str
    criteria: list[str]
    anchors: list[str]

    def html(self, failing: set[str]) -> Markup:
        text = escape(self.text)
        starts = Markup("").join(Markup('<span class="anchor" id="{}"></span>').format(a) for a in self.anchors)
        if not self.criteria:
            return starts + text
        kind = "miss" if any(c in failing for c in self.criteria) else "hit"
        return starts + Markup('<mark class="{}" title="evidence for {}"><a href="#j-{}">{}</a></mark>').format(
            kind, ", ".join(self.criteria), self.criteria[0], text)


def highlight_turns(conversation: Conversation, card: ScoreCard | None,
                    failing: set[str]) -> tuple[list[Markup], dict[tuple[str, int], str]]:
    """Each turn's text as HTML with evidence in ``<mark>`` (linking to its judgement), and the anchor id of each
    (criterion, evidence index) for the links back. Spans whose quote no longer matches the text are skipped."""
    spans: dict[int, list[tuple[int, int, str, str]]] = {}
    anchors: dict[tuple[str, int], str] = {}
    for judgement in card.judgements if card else []:
        for index, ev in enumerate(judgement.evidence):
            turns = conversation.turns
            if ev.turn >= len(turns) or turns[ev.turn].text[ev.start:ev.end] != ev.quote or ev.end <= ev.start:
                continue
            anchor = f"ev-{judgement.criterion_id}-{index}"
            anchors[(judgement.criterion_id, index)] = anchor
            spans.setdefault(ev.turn, []).append((ev.start, ev.end, judgement.criterion_id, anchor))
    out = []
    for number, turn in enumerate(conversation.turns):
        marks = spans.get(number, [])
        cuts = sorted({0, len(turn.text), *(s for s, _, _, _ in marks), *(e for _, e, _, _ in marks)})
        html = Markup("")
        for start, end in itertools.pairwise(cuts):
            covering = [c for s, e, c, _ in marks if s <= start and end <= e]
            starting = [a for s, _, _, a in marks if s == start]
            html += Segment(turn.text[start:end], list(dict.fromkeys(covering)), starting).html(failing)
        out.append(html)
    return out, anchors
