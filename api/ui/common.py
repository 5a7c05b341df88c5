"""What every dashboard page needs: the store, the resolved filters of the request, the filter form's choices,
and the page errors (rendered as HTML for people, JSON for scripts)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from api.ui.render import render
from api.ui.session import CsrfError, LoginRequired, Viewer, current_viewer, login_redirect_url, wants_html
from scorer.store import Store
from scorer.store.dashboard.choices import choices
from scorer.store.dashboard.filters import FilterError, Filters, Scope, resolve

__all__ = ["PageError", "choices", "install_handlers", "scope_for", "store_of"]

class PageError(Exception):
    """A page that cannot be shown (unknown agent or conversation, or not this viewer's): status and message."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def store_of(request: Request) -> Store:
    return request.app.state.service.store.get()  # type: ignore[no-any-return]


def scope_for(request: Request, viewer: Viewer, session: Session) -> Scope:
    """The request's filters resolved for the viewer (an agent key is bound to its agent)."""
    return resolve(session, Filters.from_params(request.query_params), bound_agent=viewer.agent_id,
                   exact=not request.app.state.settings.ui_rollups)


async def _login_required(request: Request, exc: Exception) -> Response:
    if wants_html(request):
        return RedirectResponse(login_redirect_url(request), status_code=303)
    return JSONResponse({"detail": "log in at /ui/login, or send `Authorization: Bearer <key>` with a reviewer, "
                                   "admin or agent key"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _page_error(request: Request, exc: Exception) -> Response:
    status_code = exc.status_code if isinstance(exc, PageError) else 400
    if not request.url.path.startswith("/ui") or not wants_html(request):
        return JSONResponse({"detail": str(exc)}, status_code=status_code)
    return render(request, "error.html", status_code, message=str(exc), code=status_code,
                  viewer=await _viewer_or_none(request))


async def _viewer_or_none(request: Request) -> Viewer | None:
    """Who is looking, for the error page's navigation and logout; None without a valid session."""
    try:
        return await current_viewer(request)
    except (LoginRequired, HTTPException):
        return None


def _page_for_people(previous: Any) -> Any:
    """Errors FastAPI raises itself (no such page, a form field too long) as the dashboard's error page for a
    browser on ``/ui``; everything else keeps the API's JSON handler (``previous``)."""

    async def handler(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/ui") or not wants_html(request):
            return await previous(request, exc)  # type: ignore[no-any-return]
        if isinstance(exc, RequestValidationError):
            problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'request'}: {e.get('msg')}"
                                 for e in exc.errors())
            return render(request, "error.html", 422, message=f"the form could not be read ({problems}); go back, "
                          "correct it and send it again", code=422, viewer=await _viewer_or_none(request))
        code = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        message = (f"there is no dashboard page at {request.url.path}" if code == 404
                   else str(getattr(exc, "detail", exc)))
        return render(request, "error.html", code, message=message, code=code, viewer=await _viewer_or_none(request))

    return handler


def install_handlers(app: Any) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    for error in (PageError, FilterError, CsrfError):
        app.add_exception_handler(error, _page_error)
    for raised in (StarletteHTTPException, RequestValidationError):  # after the API's own handlers (create_app)
        app.add_exception_handler(raised, _page_for_people(app.exception_handlers[raised]))
