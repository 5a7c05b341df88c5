"""The alert sender run by the worker: POST each due delivery, signed, record every attempt, back off on failure.

A receiver that is down only delays deliveries: they stay pending with a growing delay (capped) and go out when it
answers again. Runs as a thread next to the in-process worker and in ``rubricate worker``; ``rubricate alerts
deliver`` runs the same passes from the command line.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import httpx

from scorer.alerts import SIGNATURE_HEADER, signature
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.alerts import due_deliveries, record_attempt

__all__ = ["AlertSender", "deliver_due"]

log = logging.getLogger(__name__)


def deliver_due(store: Store, settings: Settings, client: httpx.Client, *, now: bool = False) -> dict[str, int]:
    """One pass over the due deliveries (``now``: every pending one, backoff or not); counts by resulting status."""
    counts: dict[str, int] = {}
    for delivery in due_deliveries(store, now=datetime.now(UTC) + timedelta(days=3650) if now else None):
        headers = {"Content-Type": "application/json", "User-Agent": "rubricate-alerts"}
        secret = settings.alert_secret
        if secret:
            headers[SIGNATURE_HEADER] = signature(secret, delivery.body)
        code: int | None = None
        error: str | None = None
        try:
            response = client.post(delivery.url, content=delivery.body, headers=headers)
            code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        status = record_attempt(store, delivery.id, status_code=code, error=error,
                                max_attempts=settings.alert_max_attempts, backoff=settings.alert_backoff_seconds,
                                backoff_max=settings.alert_backoff_max_seconds)
        if status != "delivered":
            log.info("alert %s to %s: %s (%s)", delivery.id, delivery.url, error or f"HTTP {code}", status)
        counts[status] = counts.get(status, 0) + 1
    return counts


class AlertSender:
    """A thread delivering alerts every ``alert_poll_seconds`` until stopped."""

    def __init__(self, store_getter: object, settings: Settings) -> None:
        self._get_store = store_getter
        self._settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rubricate-alerts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        with httpx.Client(timeout=self._settings.alert_timeout_seconds) as client:
            while not self._stop.is_set():
                try:
                    deliver_due(self._get_store(), self._settings, client)  # type: ignore[operator]
                except Exception as exc:  # database away: try again on the next pass
                    log.warning("alert sender: %s", exc)
                self._stop.wait(self._settings.alert_poll_seconds)
