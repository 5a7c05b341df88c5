"""``/ui/login`` (a form taking an API key) and ``/ui/logout``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from api.ui.render import render
from api.ui.session import UI_ROLES, sessions_of
from scorer.store.keys import verify_key

__all__ = ["router"]

router = APIRouter(prefix="/ui", include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the dashboard (no scheme, no host, no ``//``) is followed after login."""
    if target and target.startswith("/ui") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/login", summary="The login form")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next) or "", error=None)


@router.post("/login", summary="Log in with an API key")
def login(request: Request, api_key: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "") -> Response:
    sessions = sessions_of(request)
    sessions.check_csrf(request, csrf_token)
    key = verify_key(request.app.state.service.store.get(), api_key.strip()) if api_key.strip() else None
    if key is None:
        return render(request, "login.html", 401, next=_safe_next(next) or "",
                      error="That key is unknown or revoked. Create one with `rubricate keys create --role reviewer`.")
    if key.role not in UI_ROLES:
        return render(request, "login.html", 403, next=_safe_next(next) or "",
                      error=f"A key of role {key.role} cannot open the dashboard; use a reviewer, admin or agent key.")
    home = f"/ui/agents/{quote(key.agent_id, safe='')}" if key.role == "agent" and key.agent_id else "/ui/"
    response = RedirectResponse(_safe_next(next) or home, status_code=303)
    sessions.start(request, response, key)
    return response


@router.post("/logout", summary="Log out")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    sessions = sessions_of(request)
    sessions.check_csrf(request, csrf_token)
    response = RedirectResponse("/ui/login", status_code=303)
    sessions.end(response)
    return response
