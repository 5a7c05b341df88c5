"""Dashboard sessions: an API key typed once into the login form becomes a signed, HttpOnly session cookie.

The cookie holds the key's id (never the key) signed with ``RUBRICATE_UI_SECRET`` (or a random secret made when
the app starts, which ends every session at a restart); each request re-reads the key, so a revoked key logs out at
once. POSTs carry a CSRF token: a signed random value in its own cookie, echoed in the form (double submit), and
the ``Origin`` header, when the browser sends one, must be this server.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from scorer._errors import RubricateError
from scorer.store.keys import ApiKey, get_key, verify_key

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "UI_ROLES", "CsrfError", "LoginRequired", "Sessions", "Viewer",
           "ViewerDep", "current_viewer",
           "login_redirect_url", "sessions_of", "wants_html"]

SESSION_COOKIE = "rubricate_session"
CSRF_COOKIE = "rubricate_csrf"
UI_ROLES = ("admin", "reviewer", "agent")
"""Roles that may open the dashboard; ``agent`` keys see only their own agent's pages."""


class LoginRequired(Exception):
    """No valid session: browsers are sent to the login page, other clients get 401."""


class CsrfError(RubricateError):
    """A form was posted without the CSRF token of this browser (reload the page and try again)."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the key behind the session. ``agent_id`` is set for agent-bound keys only."""

    key: ApiKey

    @property
    def agent_id(self) -> str | None:
        return self.key.agent_id if self.key.role == "agent" else None

    @property
    def label(self) -> str:
        return self.key.name or f"{self.key.role} key rk_{self.key.prefix}…"


class Sessions:
    """Signs and reads the session and CSRF cookies."""

    def __init__(self, secret: str | None, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret or secrets.token_urlsafe(32), salt="rubricate-ui")
        self.max_age = max_age_seconds

    def _cookie(self, request: Request, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/ui", httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")

    def start(self, request: Request, response: Response, key: ApiKey) -> None:
        self._cookie(request, response, SESSION_COOKIE, self._serializer.dumps({"k": key.id}), self.max_age)

    def end(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/ui")

    def key_id(self, request: Request) -> int | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return None
        return data.get("k") if isinstance(data, dict) and isinstance(data.get("k"), int) else None

    # CSRF -------------------------------------------------------------------------------------------------
    def csrf_token(self, request: Request) -> str:
        """This browser's CSRF token (a new one when it has none; :meth:`keep_csrf` sets the cookie)."""
        raw = request.cookies.get(CSRF_COOKIE, "")
        try:
            self._serializer.loads(raw, salt="csrf")
            return raw
        except BadSignature:
            return str(self._serializer.dumps(secrets.token_urlsafe(16), salt="csrf"))

    def keep_csrf(self, request: Request, response: Response, token: str) -> None:
        if request.cookies.get(CSRF_COOKIE) != token:
            self._cookie(request, response, CSRF_COOKIE, token, 7 * 24 * 3600)

    def check_csrf(self, request: Request, submitted: str | None) -> None:
        """Refuse a POST whose form token is missing or not this browser's, or that comes from another origin."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
            raise CsrfError(f"this form was posted from {origin}, not from this server; open the dashboard "
                            "directly and try again")
        cookie = request.cookies.get(CSRF_COOKIE)
        if not submitted or not cookie or not secrets.compare_digest(submitted, cookie):
            raise CsrfError("the form's security token is missing or stale; reload the page and try again")
        try:
            self._serializer.loads(cookie, salt="csrf")
        except BadSignature as exc:
            raise CsrfError("the form's security token is invalid; reload the page and try again") from exc


def sessions_of(request: Request) -> Sessions:
    return request.app.state.ui_sessions  # type: ignore[no-any-return]


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def login_redirect_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/ui/login?{urlencode({'next': target})}"


async def current_viewer(request: Request) -> Viewer:
    """The viewer of a valid session with a dashboard role; :class:`LoginRequired` otherwise. Scripts may send
    ``Authorization: Bearer <key>`` instead of a session (e.g. to fetch a CSV export); a key of another role
    gets 403."""
    sessions = sessions_of(request)
    store = await run_in_threadpool(request.app.state.service.store.get)
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        key = await run_in_threadpool(verify_key, store, credentials.strip())
        if key is None:
            raise LoginRequired
        if key.role not in UI_ROLES:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the dashboard needs a key with role "
                                f"{' or '.join(UI_ROLES)}; key rk_{key.prefix}… has role {key.role}")
        return Viewer(key)
    key_id = sessions.key_id(request)
    if key_id is None:
        raise LoginRequired
    found = await run_in_threadpool(get_key, store, key_id)
    if found is None or not found.active or found.role not in UI_ROLES:
        raise LoginRequired
    return Viewer(found)


current_viewer.roles = frozenset(UI_ROLES)  # type: ignore[attr-defined]  # found by api.auth.roles_of


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
