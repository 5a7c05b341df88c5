"""What a worker process holds while it scores: the store (opened lazily), loaded judges, and the bounds on judge
calls (a semaphore for concurrency, a pacer for calls per minute) shared by every thread of the process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scorer.judges import Judge, get_judge
from scorer.policy import build_policy
from scorer.routing import RoutingPolicy
from scorer.settings import Settings
from scorer.store import Store
from scorer.types import Conversation, Criterion, Judgement, Rubric

if TYPE_CHECKING:
    from scorer.spam import SpamFilter

__all__ = ["BoundedJudge", "JobRuntime", "LazyStore", "Pacer", "RequestGate"]

log = logging.getLogger(__name__)


class LazyStore:
    """Opens the store on first use, so a process can start while the database is down and recover after."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self._settings = settings
        self._store = store
        self._owned = store is None
        self._lock = threading.Lock()

    def get(self) -> Store:
        """The store; raises :class:`scorer._errors.StorageError` when the database cannot be opened."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = Store(self._settings.resolved_database_url(),
                                        auto_migrate=self._settings.auto_migrate)
        return self._store

    @property
    def opened(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        if self._store is not None and self._owned:
            self._store.close()
            self._store = None


class Pacer:
    """Spaces calls at least ``60 / per_minute`` seconds apart across threads (no limit when None)."""

    def __init__(self, per_minute: float | None) -> None:
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class RequestGate:
    """Tracks HTTP requests in flight so background scoring in the same process can step aside for them.

    Python threads share one interpreter lock: a worker thread busy scoring slows every request of the process.
    The in-process worker calls :meth:`wait_quiet` before each conversation: it starts one only after no request
    has been running for ``quiet`` seconds, so ingest keeps its latency and scoring catches up in the gaps. A
    worker never waits longer than ``max_wait`` (it is slowed under sustained load, never starved); for sustained
    load beyond what one process can score, run Celery workers instead.
    """

    def __init__(self) -> None:
        self._active = 0
        self._last = 0.0
        self._changed = threading.Condition()

    def enter(self) -> None:
        with self._changed:
            self._active += 1

    def leave(self) -> None:
        with self._changed:
            self._active -= 1
            self._last = time.monotonic()
            self._changed.notify_all()

    @property
    def active(self) -> int:
        return self._active

    def wait_quiet(self, quiet: float, max_wait: float) -> None:
        deadline = time.monotonic() + max_wait
        with self._changed:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                if not self._active:
                    calm = now - self._last
                    if calm >= quiet:
                        return
                    self._changed.wait(min(quiet - calm, deadline - now))
                else:
                    self._changed.wait(deadline - now)


class BoundedJudge(Judge):
    """A judge whose calls go through the process's semaphore and pacer; same id, same answers."""

    def __init__(self, inner: Judge, semaphore: threading.BoundedSemaphore, pacer: Pacer) -> None:
        self.id = inner.id
        self.inner = inner
        self.reads_wording = inner.reads_wording
        self.independent_questions = inner.independent_questions
        self._semaphore = semaphore
        self._pacer = pacer

    def prepare(self, conversations: Sequence[Conversation]) -> None:
        self.inner.prepare(conversations)

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        with self._semaphore:
            self._pacer.wait()
            return self.inner.judge(conversation, criteria)


class JobRuntime:
    """Per-process scoring resources. Judges are loaded once per spec and shared by the worker threads."""

    def __init__(self, settings: Settings, store: LazyStore | None = None) -> None:
        self.settings = settings
        self.store = store or LazyStore(settings)
        self.semaphore = threading.BoundedSemaphore(settings.judge_concurrency)
        self.pacer = Pacer(settings.judge_calls_per_minute)
        self.gate: RequestGate | None = None  # set by the API for its in-process worker
        self._judges: dict[tuple[str, str], BoundedJudge] = {}
        self._lock = threading.Lock()

    def judge(self, spec: str, rubric: Rubric) -> BoundedJudge:
        """The judge for ``spec`` (loaded on first use; learned and ensemble judges per rubric version)."""
        key = (spec, rubric.version if spec.startswith(("learned", "ensemble")) else "")
        with self._lock:
            if key not in self._judges:
                options = self.settings.judge_options(rubric.version)
                self._judges[key] = BoundedJudge(get_judge(spec, options), self.semaphore, self.pacer)
            return self._judges[key]

    def spam_filter(self) -> SpamFilter | None:
        """The learned spam filter eligibility asks after its rules, when one was trained (reloaded when retrained)."""
        from scorer.spam import load_spam_filter

        return load_spam_filter(self.settings)

    def policy(self, store: Store, rubric: Rubric, judge_id: str) -> RoutingPolicy:
        """Routing exactly as the CLI does it (:func:`scorer.policy.build_policy`)."""
        return build_policy(self.settings, rubric, judge_id, store).policy

    def close(self) -> None:
        self.store.close()
