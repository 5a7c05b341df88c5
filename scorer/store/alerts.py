"""Alert deliveries and every attempt at them. An alert is recorded once (``dedupe_key``) and stays ``pending``
until a receiver answers 2xx (``delivered``); each failed attempt is recorded and pushes ``next_attempt_at`` back
(exponential backoff). After the configured number of attempts it is ``failed`` — and can be re-queued with
``rubricate alerts retry``, so nothing is lost while a receiver is down."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from scorer.alerts import alert_target, card_alerts, payload
from scorer.settings import Settings
from scorer.store.disputes import Dispute
from scorer.store.programme_models import AlertAttemptRow, AlertDeliveryRow
from scorer.store.repository import Store
from scorer.types import Conversation, Rubric, ScoreCard

__all__ = ["Delivery", "due_deliveries", "enqueue_alert", "fire_card_alerts", "fire_dispute_alerts", "list_deliveries",
           "record_attempt", "requeue_failed"]


@dataclass(frozen=True)
class Delivery:
    """An alert delivery with its attempts (status code or error of each)."""

    id: int
    event: str
    conversation_id: str
    url: str
    body: bytes
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    history: tuple[tuple[int, int | None, str | None, datetime], ...] = ()


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def enqueue_alert(store: Store, *, url: str, event: str, conversation_id: str, payload: dict[str, Any],
                  dedupe_key: str) -> bool:
    """Record an alert to deliver; False when the same alert (``dedupe_key``) was recorded before."""
    try:
        with store.session() as s:
            if s.scalar(select(AlertDeliveryRow.id).where(AlertDeliveryRow.dedupe_key == dedupe_key)) is not None:
                return False
            s.add(AlertDeliveryRow(dedupe_key=dedupe_key[:255], event=event, conversation_id=conversation_id,
                                   url=url, payload=payload, status="pending", attempts=0,
                                   next_attempt_at=datetime.now(UTC)))
        return True
    except IntegrityError:
        return False


def body_of(row: AlertDeliveryRow) -> bytes:
    """The exact bytes sent (and signed): compact JSON with sorted keys."""
    return json.dumps(row.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _out(row: AlertDeliveryRow, history: list[AlertAttemptRow] | None = None) -> Delivery:
    return Delivery(row.id, row.event, row.conversation_id, row.url, body_of(row), row.status, row.attempts,
                    row.last_error, row.created_at, row.delivered_at,
                    tuple((a.attempt, a.status_code, a.error, a.created_at) for a in history or []))


def due_deliveries(store: Store, limit: int = 50, now: datetime | None = None) -> list[Delivery]:
    """Pending deliveries whose next attempt is due, oldest first."""
    now = now or datetime.now(UTC)
    with store.session() as s:
        rows = s.scalars(select(AlertDeliveryRow).where(AlertDeliveryRow.status == "pending")
                         .order_by(AlertDeliveryRow.next_attempt_at, AlertDeliveryRow.id).limit(limit * 4)).all()
        return [_out(r) for r in rows if _naive(r.next_attempt_at) <= _naive(now)][:limit]


def record_attempt(store: Store, delivery_id: int, *, status_code: int | None, error: str | None,
                   max_attempts: int, backoff: float, backoff_max: float) -> str:
    """Record one attempt; returns the delivery's new status (delivered, pending or failed)."""
    now = datetime.now(UTC)
    with store.session() as s:
        row = s.get_one(AlertDeliveryRow, delivery_id)
        row.attempts += 1
        number = 1 + (s.scalar(select(func.count()).select_from(AlertAttemptRow)
                               .where(AlertAttemptRow.delivery_id == row.id)) or 0)
        s.add(AlertAttemptRow(delivery_id=row.id, attempt=number, status_code=status_code, error=error,
                              created_at=now))
        if error is None and status_code is not None and 200 <= status_code < 300:
            row.status, row.delivered_at, row.last_error = "delivered", now, None
        else:
            row.last_error = error or f"HTTP {status_code}"
            delay = min(backoff * 2 ** (row.attempts - 1), backoff_max)
            row.next_attempt_at = now + timedelta(seconds=delay)
            row.status = "failed" if row.attempts >= max_attempts else "pending"
        return row.status


def requeue_failed(store: Store) -> int:
    """Give failed deliveries another round of attempts (after the receiver was fixed); returns how many."""
    with store.session() as s:
        result = s.execute(update(AlertDeliveryRow).where(AlertDeliveryRow.status == "failed")
                           .values(status="pending", attempts=0, next_attempt_at=datetime.now(UTC)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_deliveries(store: Store, *, status: str | None = None, limit: int = 100) -> list[Delivery]:
    """The newest deliveries with every attempt."""
    query = select(AlertDeliveryRow)
    if status:
        query = query.where(AlertDeliveryRow.status == status)
    with store.session() as s:
        rows = s.scalars(query.order_by(AlertDeliveryRow.id.desc()).limit(limit)).all()
        attempts: dict[int, list[AlertAttemptRow]] = {}
        for a in s.scalars(select(AlertAttemptRow).where(AlertAttemptRow.delivery_id.in_([r.id for r in rows]))
                           .order_by(AlertAttemptRow.id)):
            attempts.setdefault(a.delivery_id, []).append(a)
        return [_out(r, attempts.get(r.id)) for r in rows]


def fire_card_alerts(store: Store, settings: Settings, rubric: Rubric, conversation: Conversation,
                     card: ScoreCard) -> int:
    """Record the alerts a fresh scorecard fires (auto-fail, score below the threshold); returns how many are new."""
    target = alert_target(settings, rubric)
    if target is None:
        return 0
    fired = 0
    for event, body in card_alerts(card, conversation, target, settings):
        key = f"{event}:{card.conversation_id}:{card.rubric_version}:{card.judge}:{conversation.content_hash()}"
        fired += enqueue_alert(store, url=target.url, event=event, conversation_id=card.conversation_id,
                               payload=body, dedupe_key=key)
    return fired


def fire_dispute_alerts(store: Store, settings: Settings, rubric: Rubric, disputes: list[Dispute]) -> int:
    """Record a ``dispute_resolved`` alert for each resolved dispute; returns how many are new."""
    target = alert_target(settings, rubric)
    if target is None or not target.on_dispute_resolved:
        return 0
    fired = 0
    for d in disputes:
        conversation = store.get_conversation(d.conversation_id)
        body = payload("dispute_resolved", d.conversation_id, d.agent_id,
                       conversation.agent_name if conversation else None, d.score_after, settings,
                       rubric_id=d.rubric_id, rubric_version=d.rubric_version,
                       dispute={"id": d.id, "criterion_id": d.criterion_id, "status": d.status,
                                "disputed_answer": d.disputed_answer, "decided_answer": d.decided_answer,
                                "score_before": d.score_before, "score_after": d.score_after})
        fired += enqueue_alert(store, url=target.url, event="dispute_resolved", conversation_id=d.conversation_id,
                               payload=body, dedupe_key=f"dispute_resolved:{d.id}")
    return fired
