"""API-key authentication and per-route roles.

Every route under ``/v1`` declares the roles it admits with ``Depends(require(...))``; ``admin`` is always
admitted. The routes that take no API key are listed in :data:`PUBLIC_ROUTES` with the reason, and the auth
matrix test fails for any route that is in neither, so a new route cannot ship unprotected by accident.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scorer.store.keys import ApiKey, remembered_key, verify_key

__all__ = ["PUBLIC_ROUTES", "api_routes", "document_roles", "require", "roles_of"]

PUBLIC_ROUTES: dict[str, str] = {
    "/healthz": "liveness probe",
    "/readyz": "readiness probe (reports reachability only)",
    "/v1/labeling/webhook": "Label Studio webhook, authenticated by the shared secret header",
    "/ui/login": "the dashboard's login form (CSRF-protected)",
    "/ui/logout": "ends the browser's dashboard session (CSRF-protected)",
}

_bearer = HTTPBearer(auto_error=False, description="An API key from `rubricate keys create --role ROLE`.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def require(*roles: str) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency admitting keys whose role is one of ``roles`` (or ``admin``); 401 or 403 otherwise."""
    allowed = frozenset(roles) | {"admin"}

    async def check_api_key(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> ApiKey:
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing API key: send the header "
                                "`Authorization: Bearer <key>` (create a key with `rubricate keys create "
                                "--role ROLE`)", headers=_CHALLENGE)
        lazy = request.app.state.service.store
        store = lazy.get() if lazy.opened else await run_in_threadpool(lazy.get)
        # A key verified in the last few seconds is answered on the event loop; the database is read in a thread.
        key = remembered_key(store, credentials.credentials) or await run_in_threadpool(
            verify_key, store, credentials.credentials)
        if key is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key",
                                headers=_CHALLENGE)
        if key.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this route needs a key with role "
                                f"{' or '.join(sorted(allowed))}; key rk_{key.prefix}… has role {key.role}")
        return key

    check_api_key.roles = allowed  # type: ignore[attr-defined]
    return check_api_key


def roles_of(route: APIRoute) -> frozenset[str] | None:
    """The roles a route admits, found in its dependency tree; None when it declares none."""
    stack: list[Any] = [route.dependant]
    while stack:
        dependant = stack.pop()
        roles = getattr(dependant.call, "roles", None)
        if roles is not None:
            return frozenset(roles)
        stack.extend(dependant.dependencies)
    return None


def document_roles(router: APIRouter) -> None:
    """Append the admitted roles to each protected route's description, with an ``x-roles`` extension (call before
    the router is included, so the app sees the final text)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and "x-roles" not in (route.openapi_extra or {}):
            roles = roles_of(route)
            if roles is not None:
                route.description = f"{route.description}\n\n**Roles:** {', '.join(sorted(roles))}".strip()
                route.openapi_extra = {**(route.openapi_extra or {}), "x-roles": sorted(roles)}


def api_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """(method, full path, route) of every API route of the app, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers
        for route in app.routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods or ()):
                    yield method, route.path, route
        return
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        if isinstance(original, APIRoute):
            for method in sorted(context.methods or ()):
                yield method, str(context.path), original
