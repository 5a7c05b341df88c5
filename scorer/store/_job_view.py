"""A scoring job as its callers see it: the job row with its chunks' progress, usage and concurrency summed
(``get_job``); the chunk mechanics are in ``scorer.store.jobs``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from scorer.store.models import JobRow
from scorer.store.repository import Store

__all__ = ["JobView", "get_job"]

CHUNK = "score_chunk"  # the kind of a chunk row (scorer.store.jobs re-exports it)
FINISHED = ("done", "failed")
_MAX_ERRORS = 50


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass
class JobView:
    """A job with its progress summed over its chunks."""

    id: int
    kind: str
    status: str
    rubric_id: str
    rubric_version: str
    judge: str
    total: int
    done: int
    failed: int
    chunks: dict[str, int]
    workers: list[str]
    errors: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] | None = None
    concurrency: dict[str, Any] = field(default_factory=dict)


def get_job(store: Store, job_id: int) -> JobView | None:
    """The job (not a chunk) with progress summed over its chunks."""
    with store.session() as s:
        job = s.get(JobRow, job_id)
        if job is None or job.kind == CHUNK:
            return None
        chunks = list(s.scalars(select(JobRow).where(JobRow.id.in_(job.params.get("chunks", [])))))
    counts: dict[str, int] = {}
    for c in chunks:
        counts[c.status] = counts.get(c.status, 0) + 1
    status = job.status
    chunked = "chunks" in job.params  # a job without chunks (a provider batch) keeps its own status
    if chunked and status not in FINISHED and chunks and all(c.status in FINISHED for c in chunks):
        status = "failed" if all(c.status == "failed" for c in chunks) else "done"
    if chunked and status not in FINISHED:
        if counts.get("running") or counts.get("done") or counts.get("failed"):
            status = "running"
        elif counts and counts.get("pending") == len(chunks):
            status = "pending"
        else:
            status = "queued"
    errors = [line for c in chunks if c.error for line in c.error.splitlines()][:_MAX_ERRORS]
    workers = sorted({c.worker.split("#")[0] for c in chunks if c.worker})
    usage, concurrency = _summed_stats(chunks)
    p = job.params
    return JobView(
        id=job.id, kind=job.kind, status=status, rubric_id=p.get("rubric_id", ""),
        rubric_version=p.get("rubric_version", ""), judge=p.get("judge", ""), total=job.total,
        done=sum(c.done for c in chunks) if chunked else job.done,
        failed=sum(c.failed for c in chunks) if chunked else job.failed, chunks=counts, workers=workers,
        errors=errors, created_at=_aware(job.created_at) or _now(), started_at=_aware(job.started_at),
        finished_at=_aware(job.finished_at), params={k: v for k, v in p.items() if k not in ("chunks",)},
        usage=usage, concurrency=concurrency,
    )


def _summed_stats(chunks: Sequence[JobRow]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The job's usage (summed over chunks) and each worker's newest hosted-call concurrency numbers."""
    from scorer.usage import Usage, total

    used = [Usage.model_validate(c.stats["usage"]) for c in chunks if c.stats and c.stats.get("usage")]
    newest: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for c in chunks:
        if c.stats and c.stats.get("concurrency") and c.worker:
            worker, seen = c.worker.split("#")[0], _aware(c.heartbeat_at) or _now()
            if worker not in newest or newest[worker][0] < seen:
                newest[worker] = (seen, c.stats["concurrency"])
    return (total(used).model_dump() if used else None), {w: stats for w, (_, stats) in newest.items()}
