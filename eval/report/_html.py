"""A small page builder shared by the evaluation report and the rubric lab: one file, no external assets."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Section", "figure_to_data_uri", "render_page", "table_html"]

_CSS = """body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.8rem;display:block;overflow-x:auto}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.note{color:#666;font-size:.85rem}
.plots img{max-width:48%;margin:4px}.bad{color:#b00}.good{color:#070}"""


@dataclass
class Section:
    """A heading with HTML content and optional plots."""

    title: str
    html: str = ""
    images: list[str] = field(default_factory=list)


def figure_to_data_uri(figure: Any) -> str:
    """A matplotlib figure as an inline PNG; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _cell(value: Any) -> str:
    if value is None:
        return '<span class="note">—</span>'
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def table_html(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def render_page(title: str, sections: Sequence[Section], subtitle: str = "") -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
             f"<p class='note'>{html.escape(subtitle)}</p>"]
    for s in sections:
        images = "".join(f"<img src='{uri}'>" for uri in s.images)
        parts.append(f"<h2>{html.escape(s.title)}</h2>{s.html}<div class='plots'>{images}</div>")
    parts.append("</body></html>")
    return "".join(parts)
