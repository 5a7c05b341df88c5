"""The QA dashboard under ``/ui/``: server-rendered pages (Jinja2), charts from the Chart.js file shipped in
``static/``, a login that turns an API key into a signed session cookie. See docs/dashboard.md."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.ui import agents, conversations, disputes, login, pages
from api.ui.common import install_handlers
from api.ui.render import STATIC
from api.ui.session import Sessions
from scorer.settings import Settings

__all__ = ["mount_ui"]


def mount_ui(app: FastAPI, settings: Settings) -> None:
    """Add the dashboard's routes, static assets, session signer and error pages to ``app``."""
    app.state.ui_sessions = Sessions(settings.ui_secret, int(settings.ui_session_hours * 3600))
    install_handlers(app)
    for module in (login, pages, agents, conversations, disputes):
        app.include_router(module.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
