"""The one work function both worker kinds run: claim a chunk, score its conversations, record progress, finish.

A chunk interrupted anywhere (worker killed, database gone, shutdown) is simply claimed again later and run from
its start: conversations already stored are read back by the pipeline without a model call, so nothing is scored
twice and nothing is lost.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType

from api.jobs.runtime import JobRuntime
from scorer._errors import RubricateError, StorageError
from scorer.judges._concurrency import limiter_stats
from scorer.pipeline import score_conversation
from scorer.store import Store
from scorer.store.alerts import fire_card_alerts
from scorer.store.jobs import (
    ChunkWork,
    claim_chunk,
    claim_next_chunk,
    finish_chunk,
    heartbeat,
    job_cost,
    release_chunk,
    report_progress,
)
from scorer.usage import Usage

__all__ = ["ChunkOutcome", "run_chunk", "work_on", "worker_name"]

log = logging.getLogger(__name__)
_QUIET_SECONDS = 0.03  # the in-process worker scores after this long without requests ...
_YIELD_SECONDS = 1.0  # ... or after waiting this long (never starved)


def worker_name(kind: str) -> str:
    """``kind@host:pid/thread``: shown in a job's ``workers`` list."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}/{threading.current_thread().name}"


@dataclass
class ChunkOutcome:
    """What happened to a claimed chunk."""

    chunk_id: int
    status: str  # done, failed, released (shutdown) or lost (another worker took it over)
    done: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class _Heartbeat:
    """A thread that keeps the claim alive while a long judge call runs; notices when the claim is lost."""

    def __init__(self, store: Store, work: ChunkWork, interval: float) -> None:
        self._store, self._work, self._interval = store, work, interval
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{work.chunk_id}", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not heartbeat(self._store, self._work):
                    self.lost = True
                    return
            except Exception as exc:  # the database is away; the claim goes stale and is taken over later
                log.warning("heartbeat of chunk %s failed: %s", self._work.chunk_id, exc)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()


def work_on(runtime: JobRuntime, worker: str, chunk_id: int | None = None,
            stop: threading.Event | None = None) -> ChunkOutcome | None:
    """Claim ``chunk_id`` (or the oldest claimable chunk) and run it; None when there was nothing to claim."""
    store = runtime.store.get()
    stale = runtime.settings.job_stale_seconds
    work = (claim_chunk(store, chunk_id, worker, stale) if chunk_id is not None
            else claim_next_chunk(store, worker, stale))
    if work is None:
        return None
    return run_chunk(runtime, store, work, stop)


def run_chunk(runtime: JobRuntime, store: Store, work: ChunkWork, stop: threading.Event | None = None
              ) -> ChunkOutcome:
    """Score every conversation of a claimed chunk. Storage errors propagate (the chunk is retried later)."""
    outcome = ChunkOutcome(work.chunk_id, "done")
    rubric = store.get_rubric(work.rubric_id, work.rubric_version)
    try:
        if rubric is None:
            raise RubricateError(f"rubric {work.rubric_id}@{work.rubric_version} is not stored any more")
        judge = runtime.judge(work.judge, rubric)
        spam = runtime.spam_filter()
    except StorageError:
        raise
    except RubricateError as exc:  # unknown judge, model missing: every conversation fails with the reason
        outcome.status, outcome.failed = "failed", len(work.conversation_ids)
        outcome.errors = [f"{cid}: {exc}" for cid in work.conversation_ids]
        finish_chunk(store, work, 0, outcome.failed, outcome.errors, status="failed")
        return outcome
    policy = runtime.policy(store, rubric, judge.id)
    usage = Usage.model_validate(work.prior_usage) if work.prior_usage else Usage()
    with _Heartbeat(store, work, runtime.settings.job_heartbeat_seconds) as beat:
        for position, conversation_id in enumerate(work.conversation_ids):
            stopped = _over_budget(store, work)
            if stopped:  # the job's budget is spent: start nothing more, say so for every conversation left
                rest = work.conversation_ids[position:]
                outcome.failed += len(rest)
                outcome.errors.extend(f"{cid}: not scored: {stopped}" for cid in rest)
                break
            if runtime.gate is not None:
                runtime.gate.wait_quiet(quiet=_QUIET_SECONDS, max_wait=_YIELD_SECONDS)
            if stop is not None and stop.is_set():
                release_chunk(store, work)
                outcome.status = "released"
                return outcome
            conversation = store.get_conversation(conversation_id)
            if conversation is None:
                outcome.failed += 1
                outcome.errors.append(f"{conversation_id}: the conversation is not stored")
            else:
                try:
                    card, cached = score_conversation(conversation, rubric, judge, store=store, policy=policy,
                                                      spam=spam)
                    if not cached:
                        fire_card_alerts(store, runtime.settings, rubric, conversation, card)
                    if not cached and card.usage is not None:
                        usage.add(card.usage)
                    outcome.done += 1
                except StorageError:
                    raise
                except Exception as exc:  # one conversation's trouble never stops the chunk
                    log.exception("could not score %s", conversation_id)
                    outcome.failed += 1
                    outcome.errors.append(f"{conversation_id}: {type(exc).__name__}: {exc}")
            if beat.lost or not report_progress(store, work, outcome.done, outcome.failed, _stats(usage)):
                outcome.status = "lost"
                return outcome
    if not finish_chunk(store, work, outcome.done, outcome.failed, outcome.errors, stats=_stats(usage)):
        outcome.status = "lost"
    return outcome


def _stats(usage: Usage) -> dict[str, object]:
    """What a chunk records for the job status: its model usage and this process's hosted-call concurrency."""
    return {"usage": usage.model_dump(), "concurrency": limiter_stats()}


def _over_budget(store: Store, work: ChunkWork) -> str | None:
    """Why no more conversations may be started (the job's ``max_cost_usd`` is spent), else None."""
    if work.max_cost_usd is None:
        return None
    spent = job_cost(store, work.job_id)
    if spent is None:
        return "the job's budget cannot be kept: the model's price is unknown (not in litellm's cost map)"
    if spent >= work.max_cost_usd:
        return f"the job's budget of ${work.max_cost_usd:.4f} is spent (${spent:.4f})"
    return None
