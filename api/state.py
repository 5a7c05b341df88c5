"""The service's process-wide state: settings, the lazily opened store, and how queued work gets to a worker.

Without ``broker_url`` the in-process worker threads score; with it, chunks are published to Celery and a
dispatcher re-publishes anything a failed publish or a dead worker left behind.
"""

from __future__ import annotations

import logging
import sys

from api.jobs.alerts import AlertSender
from api.jobs.broker import Dispatcher, Publisher
from api.jobs.inprocess import InProcessWorker
from api.jobs.runtime import JobRuntime, LazyStore, RequestGate
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.jobs import set_chunk_status

__all__ = ["ServiceState"]

log = logging.getLogger(__name__)
# While another thread runs Python (in-process worker threads scoring, or with Celery the dispatcher publishing and
# the other requests' threads and event loop), a request thread that released the interpreter lock for database
# I/O waits up to the switch interval to get it back, at every statement. 1 ms instead of Python's 5 ms keeps that
# wait short; the other threads only lose a little throughput to the extra switching.
_SWITCH_INTERVAL = 0.001


class ServiceState:
    """Created by ``create_app``; ``start()``/``stop()`` run in the app's lifespan (no I/O before that)."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = LazyStore(settings, store)
        self.runtime = JobRuntime(settings, self.store)
        self.gate = RequestGate()
        self.runtime.gate = self.gate
        self.publisher = Publisher(settings) if settings.broker_url else None
        self.worker: InProcessWorker | None = None
        self.dispatcher: Dispatcher | None = None
        self.alerts: AlertSender | None = None
        # (rubric id, version or None) pairs seen stored. Stored rubric versions are never deleted, so a hit spares
        # ingest a lookup; the newest version itself is still read in the ingest transaction.
        self.known_rubrics: set[tuple[str, str | None]] = set()
        self._switch_interval = sys.getswitchinterval()

    @property
    def mode(self) -> str:
        return "celery" if self.publisher is not None else "in-process"

    def start(self) -> None:
        try:
            self.store.get()
        except Exception as exc:  # serve anyway: requests answer 503 until the database is back
            log.error("database not available at startup: %s", exc)
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, _SWITCH_INTERVAL))
        if self.publisher is not None:
            self.dispatcher = Dispatcher(self.store, self.publisher)
            self.dispatcher.start()
        elif self.settings.worker_enabled:
            self.worker = InProcessWorker(self.runtime)
            self.worker.start()
            self.alerts = AlertSender(self.store.get, self.settings)  # Celery workers send them in that mode
            self.alerts.start()

    def stop(self) -> None:
        if self.alerts is not None:
            self.alerts.stop()
        if self.worker is not None:
            self.worker.stop()
        sys.setswitchinterval(self._switch_interval)
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.publisher is not None:
            self.publisher.close()
        self.runtime.close()

    def initial_status(self) -> str:
        """Status new chunks are written with: ``pending`` until published to a broker, else ``queued``."""
        return "pending" if self.publisher is not None else "queued"

    def check_broker(self) -> None:
        """Raise :class:`api.jobs.broker.BrokerUnavailable` (→ 503) before anything is written."""
        if self.publisher is not None:
            self.publisher.check()

    def hand_over(self, chunk_ids: list[int]) -> None:
        """After the transaction committed: have the dispatcher thread publish the chunks (broker) — the request
        does not wait for the broker nor for a second transaction — or wake the in-process worker. A failed
        publish leaves the chunks pending in the database; the dispatcher publishes them when the broker is back."""
        if self.dispatcher is not None and self.dispatcher.alive:
            self.dispatcher.submit(chunk_ids)
        elif self.publisher is not None:  # not started (no lifespan): publish from the caller's thread
            try:
                self.publisher.publish(chunk_ids)
            except Exception as exc:
                log.warning("publishing %d chunk(s) failed (kept pending, will be retried): %s", len(chunk_ids), exc)
                return
            set_chunk_status(self.store.get(), chunk_ids, "queued", only_from=("pending",))
        elif self.worker is not None:
            self.worker.wake()
