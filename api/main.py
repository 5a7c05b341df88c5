"""The FastAPI app factory. Routers are included here; state (settings, store) lives on ``app.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.routers import health, webhooks
from scorer.settings import Settings
from scorer.store import Store

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment). The store is opened on startup."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = store or Store(settings.resolved_database_url(), auto_migrate=settings.auto_migrate)
        try:
            yield
        finally:
            if store is None:
                app.state.store.close()

    app = FastAPI(
        title="rubricate",
        version="0.1.0",
        description="Score support conversations against a QA rubric; review what the AI is unsure about.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(health.router)
    app.include_router(webhooks.router)
    return app
