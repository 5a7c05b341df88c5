"""The default worker: threads inside the API process that take chunks from the ``jobs`` table.

Nothing but the database is needed. Started and stopped by the app's lifespan; ``wake()`` lets a request that
just queued work skip the polling delay. A chunk left behind by a killed process is taken over once its heartbeat
is older than ``job_stale_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time

from api.jobs.runner import work_on, worker_name
from api.jobs.runtime import JobRuntime

__all__ = ["InProcessWorker"]

log = logging.getLogger(__name__)


class InProcessWorker:
    """``concurrency`` threads claiming and scoring chunks until stopped."""

    def __init__(self, runtime: JobRuntime) -> None:
        self.runtime = runtime
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self.last_poll = 0.0
        self.last_error: str | None = None

    def start(self) -> None:
        for index in range(self.runtime.settings.worker_concurrency):
            thread = threading.Thread(target=self._loop, name=f"rubricate-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Look for work now (called after new work was queued)."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads) and not self._stop.is_set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the conversation at hand, give unfinished chunks back, and stop."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        name = worker_name("inprocess")
        poll = self.runtime.settings.worker_poll_seconds
        while not self._stop.is_set():
            self.last_poll = time.time()
            try:
                outcome = work_on(self.runtime, name, stop=self._stop)
                self.last_error = None
            except Exception as exc:  # database away: keep trying, the chunk is retried when it goes stale
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("in-process worker: %s; retrying in %.1f s", self.last_error, poll)
                outcome = None
            if outcome is None:
                self._wake.wait(poll)
                self._wake.clear()
