"""``POST /v1/labeling/webhook``: Label Studio's fast path for reviewers' decisions.

Authenticated by a shared secret in the ``X-Rubricate-Secret`` header (401 otherwise, nothing stored). The
annotation goes through the same code as ``rubricate review pull``, so a webhook and a pull of the same annotation
store it once. Deletions are left to the next pull, which sees which annotations are gone. Payloads are never
logged whole (they carry a project token).
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, status
from pydantic import BaseModel

from api.deps import SettingsDep, StoreDep
from api.schemas.common import errors
from api.schemas.webhooks import WebhookPayload

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/labeling", tags=["labeling"])


class WebhookResult(BaseModel):
    """What the webhook did with the payload."""

    action: str
    stored: int
    unchanged: int
    rejected: int


def _check_secret(settings: SettingsDep,
                  x_rubricate_secret: Annotated[str | None, Header(max_length=1000)] = None) -> None:
    """The shared secret is checked before the payload is looked at."""
    if not settings.webhook_secret:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "webhooks are not configured: set "
                            "RUBRICATE_WEBHOOK_SECRET; `rubricate review pull` works without them")
    if not x_rubricate_secret or not hmac.compare_digest(x_rubricate_secret.encode(),
                                                         settings.webhook_secret.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong or missing X-Rubricate-Secret header")


@router.post("/webhook", response_model=WebhookResult, summary="Label Studio webhook (annotation events)",
             dependencies=[Depends(_check_secret)], responses=errors(422))
def label_studio_webhook(payload: WebhookPayload, settings: SettingsDep, store: StoreDep) -> WebhookResult:
    """Store the reviewer's decisions of an ANNOTATION_CREATED/UPDATED event; other events are acknowledged."""
    from labeling.sync import PullResult, ingest_task

    action = payload.action
    annotation, task = payload.annotation, payload.task
    if action not in ("ANNOTATION_CREATED", "ANNOTATION_UPDATED") or annotation is None or task is None:
        return WebhookResult(action=action, stored=0, unchanged=0, rejected=0)
    title = payload.project.title if payload.project else ""
    rubric_id, _, version = title.removeprefix("rubricate ").partition("@")
    version = version.split(" · ")[0]  # a reviewer's own project (review sampling) is "<id>@<version> · <name>"
    rubric = store.get_rubric(rubric_id, version) if version else None
    if rubric is None:
        log.warning("webhook for project %r, which is not a rubricate project; ignored", title)
        return WebhookResult(action=action, stored=0, unchanged=0, rejected=0)
    result = PullResult()
    ingest_task(store, rubric, {**task.model_dump(exclude_none=True),
                                "annotations": [annotation.model_dump(exclude_none=True)]}, result)
    from scorer.store.alerts import fire_dispute_alerts
    from scorer.store.disputes import resolve_disputes

    fire_dispute_alerts(store, settings, rubric, resolve_disputes(store, rubric))  # a decided dispute, at once
    return WebhookResult(action=action, stored=result.stored, unchanged=result.unchanged,
                         rejected=len(result.rejected))
