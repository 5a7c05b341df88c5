"""The FastAPI app factory. Routers are included here; state (settings, store, workers) lives on ``app.state``.

Nothing happens at import time: ``create_app()`` builds the app, and its lifespan opens the database and starts
the in-process worker (or, with ``RUBRICATE_BROKER_URL``, the dispatcher that feeds Celery workers).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from api.auth import document_roles
from api.errors import install_error_handlers
from api.middleware import ActivityMiddleware, BodyLimitMiddleware, SecurityHeadersMiddleware
from api.routers import agreement, conversations, disputes, health, imports, judgements, rubrics, scoring_jobs, webhooks
from api.schemas.common import errors
from api.state import ServiceState
from api.ui import mount_ui
from scorer.settings import Settings
from scorer.store import Store

__all__ = ["create_app", "freeze_startup_heap"]

DESCRIPTION = """Score support conversations against a QA rubric; review what the AI is unsure about.

Authenticate with `Authorization: Bearer <key>` (keys come from `rubricate keys create --role ROLE`). Roles:
**ingest** sends conversations and reads results, **reviewer** reads judgements and agreement, **admin** may do
everything. Each route's description names the roles it admits. The QA dashboard is at `/ui/` (log in with a
reviewer, admin or agent key).
"""


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (modules, the app, settings, pools: ~150,000 objects) out of the cyclic
    garbage collector's reach. A full collection walked all of them, ~100-200 ms with the interpreter lock held on a
    busy machine, i.e. a pause for every request in flight; frozen, it walks only what requests leave behind."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment); ``store`` overrides the database."""
    settings = settings or Settings()
    service = ServiceState(settings, store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        freeze_startup_heap()
        try:
            yield
        finally:
            gc.unfreeze()
            await run_in_threadpool(service.stop)

    app = FastAPI(title="rubricate", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.service = service
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(ActivityMiddleware, gate=service.gate)
    app.add_middleware(SecurityHeadersMiddleware)  # added last = outermost: every response gets the headers
    for router in (health.router, rubrics.router, conversations.router, imports.router, scoring_jobs.router,
                   judgements.router, agreement.router, disputes.router):
        document_roles(router)
    app.include_router(health.router)
    app.include_router(rubrics.router)
    app.include_router(conversations.router)
    app.include_router(imports.router)
    app.include_router(scoring_jobs.router)
    app.include_router(judgements.router)
    app.include_router(agreement.router)
    app.include_router(disputes.router)
    app.include_router(webhooks.router, responses=errors(400, 401, 503))  # the statuses the webhook route gives
    mount_ui(app, settings)  # the QA dashboard under /ui/
    return app
