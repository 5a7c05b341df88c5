"""Probes: ``GET /healthz`` (the process answers) and ``GET /readyz`` (database, worker or broker, Label Studio).

Neither needs an API key and neither reveals more than reachability.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Response, status
from sqlalchemy import text

from api.deps import StateDep
from api.schemas.health import Check, Health, Readiness
from api.state import ServiceState

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness probe")
def healthz() -> Health:
    return Health()


def _database(state: ServiceState) -> Check:
    try:
        with state.store.get().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Check(ok=True, required=True, detail="reachable")
    except Exception as exc:
        return Check(ok=False, required=True, detail=f"unreachable: {type(exc).__name__}: {exc}"[:500])


def _workers(state: ServiceState) -> dict[str, Check]:
    if state.publisher is not None:
        try:
            state.publisher.check(trusted_seconds=0)  # a probe asks the broker itself
        except Exception as exc:
            return {"broker": Check(ok=False, required=True, detail=str(exc)[:500]),
                    "worker": Check(ok=None, required=False, detail="unknown while the broker is unreachable")}
        count = state.publisher.workers()
        return {"broker": Check(ok=True, required=True, detail=f"reachable at {state.publisher.safe_url}"),
                "worker": Check(ok=count > 0, required=False, detail=f"{count} Celery worker(s) answered" + (
                    "" if count else "; jobs wait until `rubricate worker` runs"))}
    worker = state.worker
    if worker is None:
        return {"worker": Check(ok=None, required=False, detail="in-process worker disabled (RUBRICATE_WORKER_"
                                                                 "ENABLED=false); jobs wait for a worker")}
    detail = f"{state.settings.worker_concurrency} in-process thread(s)"
    if worker.last_error:
        detail += f"; last error: {worker.last_error}"
    return {"worker": Check(ok=worker.alive, required=True, detail=detail[:500])}


def _label_studio(state: ServiceState) -> Check:
    from labeling.server import is_healthy

    url = state.settings.label_studio_url
    if not url:
        record = state.settings.data_dir / "label-studio" / "server.json"
        try:
            url = f"http://127.0.0.1:{json.loads(record.read_text())['port']}"
        except (OSError, ValueError, KeyError):
            return Check(ok=None, required=False, detail="not configured (RUBRICATE_LABEL_STUDIO_URL) and not "
                                                         "started with `rubricate labeling up`")
    ok = is_healthy(url, timeout=2.0)
    return Check(ok=ok, required=False, detail=f"{url} " + ("answers" if ok else "does not answer; reviews wait"))


@router.get("/readyz", response_model=Readiness, summary="Readiness probe",
            responses={503: {"model": Readiness, "description": "A required dependency is unavailable."}})
def readyz(state: StateDep, response: Response) -> Readiness:
    checks = {"database": _database(state), **_workers(state), "label_studio": _label_studio(state)}
    ready = all(c.ok for c in checks.values() if c.required)
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(status="ready" if ready else "not_ready", mode=state.mode,  # type: ignore[arg-type]
                     checks=checks)
