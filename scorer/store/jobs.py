"""Scoring jobs in the ``jobs`` table: a job row and its chunks (rows of kind ``score_chunk``), claimed by workers.

A job is split into chunks of a few conversations so several workers can share it. A worker *claims* a chunk with
one conditional UPDATE (so exactly one claimer wins, on SQLite and PostgreSQL alike), keeps a heartbeat while it
works, and records progress as absolute counts. A chunk whose heartbeat stops (the worker was killed) is claimed
again after ``stale_seconds``; re-running it costs no model call for what was already stored, because the pipeline
reads stored score cards back. Statuses: ``pending`` (written, not yet handed to a broker), ``queued``, ``running``,
``done``, ``failed``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, CursorResult, Insert, Update, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from scorer.store._job_view import _MAX_ERRORS, CHUNK, FINISHED, JobView, _now, get_job
from scorer.store.models import JobRow
from scorer.store.repository import Store

__all__ = [
    "CHUNK",
    "FINISHED",
    "ChunkWork",
    "JobView",
    "claim_chunk",
    "claim_next_chunk",
    "create_job",
    "dispatchable_chunks",
    "finish_chunk",
    "get_job",
    "heartbeat",
    "job_cost",
    "new_token",
    "release_chunk",
    "report_progress",
    "set_chunk_status",
]

def _changed(session: Session, statement: Update) -> int:
    """Run an UPDATE; how many rows it changed."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return result.rowcount if isinstance(result, CursorResult) else 0


def new_token(worker: str) -> str:
    """A claim token: the worker's name and a random suffix, unique per claim."""
    return f"{worker}#{uuid.uuid4().hex[:8]}"


@dataclass
class ChunkWork:
    """A claimed chunk: what to score and the token that proves the claim."""

    chunk_id: int
    job_id: int
    token: str
    rubric_id: str
    rubric_version: str
    judge: str
    conversation_ids: list[str]
    max_cost_usd: float | None = None
    prior_usage: dict[str, Any] | None = None


def create_job(
    executor: Session | Connection, *, kind: str, rubric_id: str, rubric_version: str, judge: str,
    conversation_ids: Sequence[str], chunk_size: int, status: str = "queued", extra: dict[str, Any] | None = None,
    max_cost_usd: float | None = None,
) -> tuple[int, list[int]]:
    """Add a job and its chunks in the caller's transaction; returns the job id and chunk ids. With
    ``max_cost_usd``, workers stop starting conversations once the job's model calls cost that much.

    Three Core statements (INSERT … RETURNING the job, one INSERT … RETURNING for all its chunks, the job's chunk
    list), not ORM flushes: this is on the ingest path (docs/performance.md)."""
    conn = executor.connection() if isinstance(executor, Session) else executor
    common: dict[str, Any] = {"rubric_id": rubric_id, "rubric_version": rubric_version, "judge": judge}
    if max_cost_usd is not None:
        common["max_cost_usd"] = max_cost_usd
    ids = list(conversation_ids)
    params = {**common, **(extra or {})}
    job_id: int = conn.execute(_insert_returning_id(), {
        "kind": kind, "status": status if ids else "done", "params": params, "total": len(ids),
        "finished_at": None if ids else _now()}).scalar_one()
    chunks = [{"kind": CHUNK, "status": status, "total": len(part),
               "params": {**common, "parent": job_id, "conversation_ids": part}}
              for part in (ids[i:i + chunk_size] for i in range(0, len(ids), chunk_size))]
    chunk_ids: list[int] = []
    if chunks:
        chunk_ids = list(conn.scalars(_insert_returning_id(), chunks))
    conn.execute(_set_params(), {"job_id": job_id, "params": {**params, "chunks": chunk_ids}})
    return job_id, chunk_ids


@cache
def _insert_returning_id() -> Insert:
    """Built once (building a statement costs more CPU than running it); ids in the order of the parameters."""
    return insert(JobRow).returning(JobRow.id, sort_by_parameter_order=True)


@cache
def _set_params() -> Update:
    return update(JobRow).where(JobRow.id == bindparam("job_id")).values(params=bindparam("params"))


def _claimable(stale_before: datetime) -> Any:
    return or_(JobRow.status.in_(("pending", "queued")),
               and_(JobRow.status == "running",
                    or_(JobRow.heartbeat_at.is_(None), JobRow.heartbeat_at < stale_before)))


def _held(work: ChunkWork) -> tuple[Any, ...]:
    """The condition that the claim still stands."""
    return JobRow.id == work.chunk_id, JobRow.worker == work.token, JobRow.status == "running"


def claim_chunk(store: Store, chunk_id: int, worker: str, stale_seconds: float) -> ChunkWork | None:
    """Claim this chunk if nobody holds it (or its holder went silent); None when it is done or held."""
    now = _now()
    token = new_token(worker)
    with store.session() as s:
        claimed = _changed(s, update(JobRow).where(
            JobRow.id == chunk_id, JobRow.kind == CHUNK, _claimable(now - timedelta(seconds=stale_seconds)),
        ).values(status="running", worker=token, heartbeat_at=now, done=0, failed=0, error=None, started_at=now))
        if claimed != 1:
            return None
        row = s.get_one(JobRow, chunk_id)
        parent = row.params["parent"]
        _changed(s, update(JobRow).where(JobRow.id == parent, JobRow.status.in_(("pending", "queued")))
                 .values(status="running", started_at=now))
        p = row.params
        return ChunkWork(row.id, parent, token, p["rubric_id"], p["rubric_version"], p["judge"],
                         list(p["conversation_ids"]), p.get("max_cost_usd"), (row.stats or {}).get("usage"))


def claim_next_chunk(store: Store, worker: str, stale_seconds: float) -> ChunkWork | None:
    """Claim the oldest claimable chunk, if any (the in-process worker's loop)."""
    stale_before = _now() - timedelta(seconds=stale_seconds)
    with store.session() as s:
        candidates = list(s.scalars(select(JobRow.id).where(JobRow.kind == CHUNK, _claimable(stale_before))
                                    .order_by(JobRow.id).limit(8)))
    for chunk_id in candidates:
        work = claim_chunk(store, chunk_id, worker, stale_seconds)
        if work is not None:
            return work
    return None


def report_progress(store: Store, work: ChunkWork, done: int, failed: int,
                    stats: dict[str, Any] | None = None) -> bool:
    """Record progress (and the chunk's usage/concurrency ``stats``) and beat the heart; False when the claim was
    lost (another worker took the chunk over)."""
    values: dict[str, Any] = {"done": done, "failed": failed, "heartbeat_at": _now()}
    if stats is not None:
        values["stats"] = stats
    with store.session() as s:
        return _changed(s, update(JobRow).where(*_held(work)).values(**values)) == 1


def job_cost(store: Store, job_id: int) -> float | None:
    """US dollars the job's model calls cost so far, summed over its chunks (None when a price is unknown)."""
    from scorer.usage import Usage, total

    with store.session() as s:
        job = s.get(JobRow, job_id)
        ids = job.params.get("chunks", []) if job is not None else []
        rows = list(s.scalars(select(JobRow.stats).where(JobRow.id.in_(ids))))
    return total(Usage.model_validate(r["usage"]) for r in rows if r and r.get("usage")).cost_usd


def heartbeat(store: Store, work: ChunkWork) -> bool:
    """Mark the claim alive; False when it was lost."""
    with store.session() as s:
        return _changed(s, update(JobRow).where(*_held(work)).values(heartbeat_at=_now())) == 1


def release_chunk(store: Store, work: ChunkWork) -> None:
    """Give a chunk back (a worker shutting down): it is queued again at once instead of after going stale."""
    with store.session() as s:
        _changed(s, update(JobRow).where(*_held(work)).values(status="queued", heartbeat_at=None))


def finish_chunk(store: Store, work: ChunkWork, done: int, failed: int, errors: Sequence[str],
                 status: str = "done", stats: dict[str, Any] | None = None) -> bool:
    """Mark the chunk finished and, when it was the last one, its job; False when the claim was lost."""
    now = _now()
    values: dict[str, Any] = {"status": status, "done": done, "failed": failed, "finished_at": now,
                              "heartbeat_at": now, "error": "\n".join(errors[:_MAX_ERRORS]) or None}
    if stats is not None:
        values["stats"] = stats
    with store.session() as s:
        job = s.get_one(JobRow, work.job_id, with_for_update=True)  # one finisher at a time sees all chunks
        ok = _changed(s, update(JobRow).where(*_held(work)).values(**values)) == 1
        if not ok:
            return False
        chunks = list(s.scalars(select(JobRow).where(JobRow.id.in_(job.params.get("chunks", [])))))
        if all(c.status in FINISHED for c in chunks) and job.status not in FINISHED:
            job.done, job.failed = sum(c.done for c in chunks), sum(c.failed for c in chunks)
            job.status = "failed" if all(c.status == "failed" for c in chunks) else "done"
            job.finished_at = now
        return True


def set_chunk_status(store: Store, chunk_ids: Sequence[int], status: str, *, only_from: Sequence[str]) -> None:
    """Move chunks between ``pending`` and ``queued`` (after a publish succeeded or failed)."""
    if not chunk_ids:
        return
    with store.session() as s:
        _changed(s, update(JobRow).where(JobRow.id.in_(list(chunk_ids)), JobRow.status.in_(list(only_from)))
                 .values(status=status, heartbeat_at=_now()))
        if status == "queued":
            parents = {params["parent"] for params in  # the params column only: no ORM objects to build
                       s.scalars(select(JobRow.params).where(JobRow.id.in_(list(chunk_ids))))}
            _changed(s, update(JobRow).where(JobRow.id.in_(parents), JobRow.status == "pending")
                     .values(status="queued"))


def dispatchable_chunks(store: Store, *, pending_after: float, stale_seconds: float) -> list[int]:
    """Chunks a broker must be given (again): pending ones older than ``pending_after`` seconds (a publish that
    failed or never happened) and running ones whose worker went silent, which are put back to ``queued`` here."""
    now = _now()
    with store.session() as s:
        pending = list(s.scalars(select(JobRow.id).where(
            JobRow.kind == CHUNK, JobRow.status == "pending",
            JobRow.created_at < now - timedelta(seconds=pending_after)).order_by(JobRow.id).limit(500)))
        stale = list(s.scalars(select(JobRow.id).where(
            JobRow.kind == CHUNK, JobRow.status == "running",
            or_(JobRow.heartbeat_at.is_(None), JobRow.heartbeat_at < now - timedelta(seconds=stale_seconds)))
            .order_by(JobRow.id).limit(500)))
        requeued = []
        for chunk_id in stale:
            if _changed(s, update(JobRow).where(JobRow.id == chunk_id, JobRow.status == "running",
                                                _claimable(now - timedelta(seconds=stale_seconds)))
                        .values(status="queued", heartbeat_at=now)) == 1:
                requeued.append(chunk_id)
    return pending + requeued
