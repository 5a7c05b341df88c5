"""The auth matrix, generated from the app's routes: every route × (no key, a key of a role it does not admit,
a revoked key, a key it admits). A route that declares no role and is not listed as public fails the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.auth import PUBLIC_ROUTES, api_routes, roles_of
from api.main import create_app
from scorer.store.keys import ROLES, create_key, revoke_key
from tests._api_fixtures import Api, make_settings, open_api

DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def _routes() -> list[tuple[str, str, frozenset[str] | None]]:
    app = create_app(make_settings(Path("/nonexistent")))  # building the app does no I/O
    return [(method, path, roles_of(route)) for method, path, route in api_routes(app)]


ROUTES = _routes()


def test_every_route_declares_roles_or_is_public() -> None:
    undeclared = [(m, p) for m, p, roles in ROUTES if roles is None and p not in PUBLIC_ROUTES]
    assert not undeclared, f"routes without a role (add Depends(require(...)) or list in PUBLIC_ROUTES): {undeclared}"
    assert any(roles for _, _, roles in ROUTES), "no protected routes found"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_api(make_settings(tmp_path_factory.mktemp("auth"), worker_enabled=False)) as api:
        yield api


def _call(api: Api, method: str, path: str, headers: dict[str, str]) -> int:
    url = re.sub(r"\{[^}]+\}", "1", path)
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return api.client.request(method, url, headers=headers, **body).status_code  # type: ignore[arg-type]


PROTECTED = [(m, p, roles) for m, p, roles in ROUTES if roles is not None]


@pytest.mark.parametrize(("method", "path", "roles"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_matrix(api: Api, method: str, path: str, roles: frozenset[str]) -> None:
    assert _call(api, method, path, {}) == 401
    assert _call(api, method, path, {"Authorization": "Bearer rk_00000000_not-a-key"}) == 401
    assert _call(api, method, path, {"Authorization": "Basic dXNlcjpwYXNz"}) == 401
    record, revoked = create_key(api.store, "admin")
    revoke_key(api.store, record.id)
    assert _call(api, method, path, {"Authorization": f"Bearer {revoked}"}) == 401
    assert "admin" in roles
    for role in ROLES:
        status = _call(api, method, path, api.auth(role))
        if role in roles:
            assert status not in (401, 403), f"{role} should be admitted to {method} {path}"
        else:
            assert status == 403, f"{role} should get 403 on {method} {path}, got {status}"


def test_403_names_the_roles_needed(api: Api) -> None:
    r = api.client.get("/v1/judgements", headers=api.auth("ingest"))
    detail = r.json()["detail"]
    assert r.status_code == 403 and "admin or agent or reviewer" in detail and "has role ingest" in detail


def test_public_routes_need_no_key(api: Api) -> None:
    assert api.client.get("/healthz").status_code == 200
    assert api.client.get("/readyz").status_code in (200, 503)
    assert set(PUBLIC_ROUTES) <= {p for _, p, _ in ROUTES}
    assert DOCS & {p for _, p, _ in ROUTES} == set()  # docs are starlette routes, not API routes
