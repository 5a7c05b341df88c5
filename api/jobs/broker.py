"""Scale-out on Celery (Redis broker): the Celery app, publishing chunks, and the dispatcher that re-publishes.

The task runs exactly the work function the in-process worker runs (:func:`api.jobs.runner.work_on`). The
database stays the source of truth: a chunk is written ``pending`` in the request's transaction, becomes
``queued`` once its message is published, and the dispatcher re-publishes chunks whose publish failed and chunks
whose worker went silent, so a message lost with a dead broker or a killed worker never loses work.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from api.jobs.runner import work_on
from api.jobs.runtime import JobRuntime, LazyStore
from scorer._errors import RubricateError, StorageError
from scorer._extras import require
from scorer.settings import Settings
from scorer.store.jobs import dispatchable_chunks, set_chunk_status
from scorer.store.rollup import settle

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["TASK", "BrokerUnavailable", "Dispatcher", "Publisher", "make_celery"]

log = logging.getLogger(__name__)
TASK = "rubricate.score_chunk"
BROKER_TRUSTED_SECONDS = 1.0
"""``Publisher.check()`` pings the broker only when it has not answered (a ping or a publish) for this long: a
request does not pay a Redis round trip each, and what is accepted while a broker that just died is still trusted
is not lost (its chunks stay ``pending`` in the database until a dispatcher publishes them)."""
SUBMIT_BATCH_SECONDS = 0.05
"""How long the dispatcher gathers submitted chunks before publishing them: one broker connection and one status
update (one commit) for all the requests of that window instead of one each."""


class BrokerUnavailable(RubricateError):
    """The broker (Redis) could not be reached."""


def _sanitized(url: str) -> str:
    """The broker URL without its password (kombu's helper; kombu comes with the `workers` extra)."""
    if not url:
        return url
    return str(require("kombu.utils.url", "workers", "Celery workers").maybe_sanitize_url(url))


def make_celery(settings: Settings, runtime: JobRuntime | None = None) -> Celery:
    """A Celery app for ``settings.broker_url`` with the scoring task registered (workers load judges lazily)."""
    if not settings.broker_url:
        raise BrokerUnavailable("RUBRICATE_BROKER_URL is not set: Celery workers need a Redis URL such as "
                                "redis://127.0.0.1:6379/0 (without one, `rubricate serve` scores in-process)")
    timeout = settings.broker_timeout_seconds
    celery = require("celery", "workers", "Celery workers (RUBRICATE_BROKER_URL)")
    app = celery.Celery("rubricate", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.broker_queue, task_acks_late=True, task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1, worker_concurrency=settings.worker_concurrency, worker_pool="threads",
        worker_hijack_root_logger=False, task_serializer="json", accept_content=["json"],
        broker_connection_timeout=timeout, broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_connect_timeout": timeout, "socket_timeout": timeout,
                                  "visibility_timeout": 3600},
    )
    holder: dict[str, JobRuntime] = {"runtime": runtime} if runtime else {}
    lock = threading.Lock()

    def get_runtime() -> JobRuntime:
        with lock:
            if "runtime" not in holder:
                holder["runtime"] = JobRuntime(settings)
            return holder["runtime"]

    @app.task(name=TASK, bind=True, acks_late=True)
    def score_chunk(self: Any, chunk_id: int) -> str:
        worker = f"{self.request.hostname or 'celery'}:{os.getpid()}"
        try:
            outcome = work_on(get_runtime(), worker, chunk_id=chunk_id)
        except StorageError as exc:  # database away: try again; a claimed chunk is re-published once stale
            log.warning("chunk %s: %s; retrying", chunk_id, exc)
            raise self.retry(exc=exc, countdown=settings.job_heartbeat_seconds, max_retries=None) from exc
        return "nothing to do (finished or held by another worker)" if outcome is None else outcome.status

    return app


class Publisher:
    """Hands chunks to the broker. ``check()`` pings it first so a request fails before anything is written."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = make_celery(settings)
        self.safe_url = _sanitized(settings.broker_url or "")
        self._redis: Any = None
        self._workers: tuple[float, int] = (0.0, 0)
        self._answered_at = float("-inf")  # monotonic time the broker last answered a ping or took a publish
        self.trusted_seconds = BROKER_TRUSTED_SECONDS

    def _client(self) -> Any:
        if self._redis is None and (self.settings.broker_url or "").startswith(("redis://", "rediss://")):
            import redis

            t = self.settings.broker_timeout_seconds
            self._redis = redis.Redis.from_url(self.settings.broker_url or "", socket_connect_timeout=t,
                                               socket_timeout=t)
        return self._redis

    def _unavailable(self, exc: Exception) -> BrokerUnavailable:
        return BrokerUnavailable(f"the job broker at {self.safe_url} is unreachable ({type(exc).__name__}: {exc})")

    def check(self, trusted_seconds: float | None = None) -> None:
        """Raise :class:`BrokerUnavailable` unless the broker answers, or answered within the last
        ``trusted_seconds`` (default :attr:`trusted_seconds`; 0 always asks it, as a readiness probe should)."""
        trusted = self.trusted_seconds if trusted_seconds is None else trusted_seconds
        if time.monotonic() - self._answered_at < trusted:
            return
        try:
            client = self._client()
            if client is not None:
                client.ping()
            else:
                with self.app.pool.acquire(block=True, timeout=self.settings.broker_timeout_seconds) as conn:
                    conn.ensure_connection(max_retries=0, timeout=self.settings.broker_timeout_seconds)
        except Exception as exc:
            self._answered_at = float("-inf")
            raise self._unavailable(exc) from exc
        self._answered_at = time.monotonic()

    def publish(self, chunk_ids: list[int]) -> None:
        """Send one message per chunk; raises :class:`BrokerUnavailable` (the chunks stay pending in the DB)."""
        if not chunk_ids:
            return
        try:
            with self.app.pool.acquire(block=True, timeout=self.settings.broker_timeout_seconds) as conn:
                conn.ensure_connection(max_retries=0, timeout=self.settings.broker_timeout_seconds)
                for chunk_id in chunk_ids:
                    self.app.send_task(TASK, args=[chunk_id], connection=conn, retry=False,
                                       queue=self.settings.broker_queue)
        except Exception as exc:
            self._answered_at = float("-inf")  # the next request's check() asks the broker again
            raise self._unavailable(exc) from exc
        self._answered_at = time.monotonic()

    def workers(self, cache_seconds: float = 15.0) -> int:
        """How many Celery workers answered a ping (cached for ``cache_seconds``)."""
        at, _ = self._workers
        if time.monotonic() - at > cache_seconds:
            replies = self.app.control.ping(timeout=1.0) or []
            self._workers = (time.monotonic(), len(replies))
        return self._workers[1]

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
        self.app.pool.force_close_all()


class Dispatcher:
    """A thread that hands chunks to the broker: the ones requests :meth:`submit` (published at once, many per
    broker connection and one status update), and, every ``interval``, the ones that are pending (a publish failed
    or never happened) or whose worker went silent; on the same pass it recomputes the dashboard rollup groups the
    workers' writes marked out of date.

    A request only commits its chunks as ``pending`` and submits them here, so its latency carries neither the
    broker round trip nor a second database transaction; if this process dies before publishing, the chunks are
    still pending in the database and any dispatcher (the API's or a worker's) publishes them later.
    """

    def __init__(self, store: LazyStore, publisher: Publisher, interval: float | None = None,
                 batch_seconds: float = SUBMIT_BATCH_SECONDS) -> None:
        self.store = store
        self.publisher = publisher
        settings = publisher.settings
        self.interval = interval or max(1.0, settings.job_heartbeat_seconds)
        self.batch_seconds = batch_seconds
        self.passes = 0  # publishes of submitted chunks so far (one per batch)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._submitted: list[int] = []
        self._thread = threading.Thread(target=self._loop, name="rubricate-dispatcher", daemon=True)

    def submit(self, chunk_ids: list[int]) -> None:
        """Publish these committed ``pending`` chunks soon, from the dispatcher's thread (returns at once)."""
        with self._lock:
            self._submitted.extend(chunk_ids)
        self._wake.set()

    def publish_submitted(self) -> int:
        """Publish what was submitted; a failure leaves the chunks pending for the periodic pass."""
        with self._lock:
            ids, self._submitted = self._submitted, []
        if not ids:
            return 0
        self.passes += 1
        try:
            self.publisher.publish(ids)
        except BrokerUnavailable as exc:
            log.warning("publishing %d chunk(s) failed (kept pending, will be retried): %s", len(ids), exc)
            return 0
        set_chunk_status(self.store.get(), ids, "queued", only_from=("pending",))
        return len(ids)

    def run_once(self) -> int:
        """Publish what needs publishing; returns how many chunks were handed to the broker."""
        settings = self.publisher.settings
        ids = dispatchable_chunks(self.store.get(), pending_after=self.interval,
                                  stale_seconds=settings.job_stale_seconds)
        if not ids:
            return 0
        try:
            self.publisher.publish(ids)
        except BrokerUnavailable:
            set_chunk_status(self.store.get(), ids, "pending", only_from=("queued",))
            raise
        set_chunk_status(self.store.get(), ids, "queued", only_from=("pending",))
        log.info("dispatcher re-published %d chunk(s)", len(ids))
        return len(ids)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _loop(self) -> None:
        sweep_at = time.monotonic() + self.interval
        while True:
            if self._wake.wait(max(0.0, sweep_at - time.monotonic())) and not self._stop.is_set():
                self._stop.wait(self.batch_seconds)  # gather what other requests submit meanwhile
            self._wake.clear()
            try:
                self.publish_submitted()  # also on the way out: nothing submitted is left unpublished
            except Exception as exc:  # database away: the chunks stay pending; the periodic pass retries
                log.warning("dispatcher: %s", exc)
            if self._stop.is_set():
                return
            if time.monotonic() >= sweep_at:
                sweep_at = time.monotonic() + self.interval
                try:
                    self.run_once()
                except Exception as exc:  # broker or database away: try again next round
                    log.warning("dispatcher: %s", exc)
                try:
                    self.settle_rollups()
                except Exception as exc:  # the next dashboard read settles them instead
                    log.warning("dispatcher: settling the dashboard rollups: %s", exc)

    def settle_rollups(self) -> int:
        """Recompute the dashboard rollup groups the workers' writes marked (so a dashboard read after a burst of
        scoring finds them current); returns how many groups."""
        with self.store.get().session() as session:
            return settle(session)
