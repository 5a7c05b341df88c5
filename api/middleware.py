"""ASGI middleware: security headers on every response, the request body size limit (413 before the body is read in
full) and the count of requests in flight that lets the in-process worker step aside for them."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.jobs.runtime import RequestGate

__all__ = ["CSP", "ActivityMiddleware", "BodyLimitMiddleware", "SecurityHeadersMiddleware"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
"""Everything from this origin only (the dashboard's assets ship in the package); inline styles are allowed for
chart libraries, inline scripts are not."""
_DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' "
             "'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
             "object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
"""FastAPI's interactive /docs and /redoc pages load Swagger UI / ReDoc from a CDN with an inline script."""
_DOCS = ("/docs", "/redoc", "/docs/oauth2-redirect")
_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"), (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()")]
_KEYED = (b"authorization", b"x-rubricate-secret", b"cookie")


class SecurityHeadersMiddleware:
    """Add security headers to every HTTP response (errors included): nosniff, no framing, no referrer, a CSP, and
    ``Cache-Control: no-store`` on every response to a request that carries a key, a secret or a cookie, and on
    every ``/v1/`` response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        request_headers = {name.lower() for name, _ in scope.get("headers") or []}
        keyed = path.startswith("/v1/") or any(name in request_headers for name in _KEYED)
        csp = (_DOCS_CSP if path in _DOCS else CSP).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
                headers += [*_HEADERS, (b"content-security-policy", csp)]
                if keyed:
                    headers += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                else:
                    headers += [(k, v) for k, v in message.get("headers", []) if k.lower() == b"cache-control"]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_REPLACED = {name for name, _ in _HEADERS} | {b"content-security-policy", b"cache-control", b"pragma"}


class ActivityMiddleware:
    """Count HTTP requests in flight on a :class:`RequestGate` (probes excluded)."""

    def __init__(self, app: ASGIApp, gate: RequestGate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in ("/healthz", "/readyz"):
            await self.app(scope, receive, send)
            return
        self.gate.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gate.leave()


class _TooLarge(HTTPException):
    """Raised while the body streams in; FastAPI passes HTTPExceptions through its body parsing unchanged."""


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413: by Content-Length at once, else while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send, int(length))
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(413, _too_large(seen, self.max_bytes))
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, send: Send, size: int) -> None:
        body: dict[str, Any] = {"detail": _too_large(size, self.max_bytes)}
        response = JSONResponse(body, status_code=413)
        await response({"type": "http"}, _no_receive, send)


def _too_large(size: int, limit: int) -> str:
    return (f"the request body ({size} bytes or more) is over the limit of {limit} bytes "
            "(RUBRICATE_MAX_BODY_BYTES); send smaller batches")


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
