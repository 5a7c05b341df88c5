"""Alerts: outgoing webhooks when a scorecard's auto-fail applies, when a score falls below the threshold, and
when a dispute is resolved. Signed like Stripe's webhooks::

    X-Rubricate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>

This module decides *what* to send (pure); :mod:`scorer.store.alerts` records deliveries and attempts, and the
worker (:mod:`api.jobs.alerts`) delivers them with retries and backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scorer.settings import Settings
from scorer.types import Conversation, Rubric, ScoreCard

__all__ = ["EVENTS", "SIGNATURE_HEADER", "AlertTarget", "alert_target", "card_alerts", "dashboard_link",
           "payload", "signature", "verify_signature"]

SIGNATURE_HEADER = "X-Rubricate-Signature"
EVENTS = ("auto_fail", "score_below", "dispute_resolved")


@dataclass(frozen=True)
class AlertTarget:
    """Where alerts of one rubric go and when they fire (the rubric's ``alerts`` over the settings)."""

    url: str
    score_below: float
    on_auto_fail: bool = True
    on_dispute_resolved: bool = True


def alert_target(settings: Settings, rubric: Rubric | None) -> AlertTarget | None:
    """The rubric's alert target (its ``alerts:`` block, falling back to RUBRICATE_ALERT_*); None when no URL."""
    own = rubric.alerts if rubric is not None else None
    url = (own.url if own else None) or settings.alert_url
    if not url:
        return None
    return AlertTarget(
        url=url, score_below=own.score_below if own and own.score_below is not None else settings.alert_score_below,
        on_auto_fail=own.on_auto_fail if own else True,
        on_dispute_resolved=own.on_dispute_resolved if own else True)


def dashboard_link(settings: Settings, conversation_id: str) -> str:
    """The dashboard page of a conversation."""
    base = (settings.dashboard_url or f"http://{settings.api_host}:{settings.api_port}").rstrip("/")
    return f"{base}/ui/conversations/{quote(conversation_id, safe='')}"


def card_alerts(card: ScoreCard, conversation: Conversation, target: AlertTarget, settings: Settings
                ) -> list[tuple[str, dict[str, Any]]]:
    """(event, payload) for each alert a fresh scorecard fires: ``auto_fail`` and/or ``score_below``."""
    if card.status != "scored":
        return []
    events = []
    if card.auto_failed and target.on_auto_fail:
        events.append("auto_fail")
    if card.score is not None and card.score < target.score_below:
        events.append("score_below")
    return [(event, payload(event, card.conversation_id, conversation.agent_id, conversation.agent_name,
                            card.score, settings, rubric_id=card.rubric_id, rubric_version=card.rubric_version,
                            auto_failed_by=card.auto_failed_by, threshold=target.score_below))
            for event in events]


def payload(event: str, conversation_id: str, agent_id: str | None, agent_name: str | None, score: float | None,
            settings: Settings, **extra: Any) -> dict[str, Any]:
    """The JSON body of one alert."""
    return {"type": event, "conversation_id": conversation_id, "agent": {"id": agent_id, "name": agent_name},
            "score": score, "link": dashboard_link(settings, conversation_id), "sent_by": "rubricate", **extra}


def signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Rubricate-Signature`` header value for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify_signature(secret: str, body: bytes, header: str, *, tolerance: float = 300.0,
                     now: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC of ``"<t>.<body>"`` and check ``t`` is recent."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs((time.time() if now is None else now) - t) <= tolerance
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))
