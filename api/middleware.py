"""ASGI middleware: the request body size limit (413 before the body is read in full) and the count of requests in
flight that lets the in-process worker step aside for them."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.jobs.runtime import RequestGate

__all__ = ["ActivityMiddleware", "BodyLimitMiddleware"]


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
