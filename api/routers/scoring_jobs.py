"""``/v1/scoring-jobs``: (re-)score a filter of stored conversations with a rubric version and judge; progress."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from api.deps import AdminKey, ReaderKey, SettingsDep, StateDep, StoreDep
from api.routers._shared import (
    IdempotencyKey,
    idempotency_scope,
    replay_conflict,
    request_hash,
    resolve_judge,
    resolve_rubric,
)
from api.schemas.common import AUTH_ERRORS, ErrorOut, errors
from api.schemas.jobs import JobCreate, JobOut
from scorer.store import Store
from scorer.store.ingest import recall_response, remember_response
from scorer.store.jobs import JobView, create_job, get_job
from scorer.store.queries import select_conversations

__all__ = ["job_out", "router"]

router = APIRouter(prefix="/v1/scoring-jobs", tags=["scoring jobs"], responses=AUTH_ERRORS)
ROUTE = "POST /v1/scoring-jobs"
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The job's id.")]


def job_out(view: JobView) -> JobOut:
    processed = view.done + view.failed
    return JobOut(
        id=view.id, kind=view.kind, status=view.status, rubric_id=view.rubric_id, rubric_version=view.rubric_version,
        judge=view.judge, total=view.total, done=view.done, failed=view.failed,
        progress=min(1.0, processed / view.total) if view.total else 1.0, chunks=view.chunks, workers=view.workers,
        errors=view.errors, created_at=view.created_at, started_at=view.started_at, finished_at=view.finished_at,
        usage=view.usage, max_cost_usd=view.params.get("max_cost_usd"), concurrency=view.concurrency)


def _read(store: Store, job_id: int) -> JobOut:
    view = get_job(store, job_id)
    if view is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no scoring job {job_id}")
    return job_out(view)


@router.post("", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED, summary="Start a scoring job",
             responses={404: {"model": ErrorOut, "description": "Unknown rubric or rubric version."},
                        **errors(400, 409, 413)})
def create_scoring_job(body: JobCreate, key: AdminKey, state: StateDep, store: StoreDep, settings: SettingsDep,
                       idempotency_key: IdempotencyKey = None) -> Any:
    """Select stored conversations by the filter and queue their scoring. What was scored before with the same
    transcript, rubric version and judge costs no model call, so re-running a job is cheap."""
    judge = resolve_judge(settings, body.judge)
    rubric = resolve_rubric(store, body.rubric_id, body.rubric_version)
    scope = idempotency_scope(key, ROUTE, idempotency_key) if idempotency_key else None
    fingerprint = request_hash(body.model_dump(mode="json"))
    if scope is not None:
        with store.session() as s:
            replay = recall_response(s, scope)
        if replay is not None:
            return _replay(store, replay.request_hash, fingerprint, replay.response)
    f = body.filter
    ids = select_conversations(store, conversation_ids=f.conversation_ids, channel=f.channel, language=f.language,
                               created_after=f.created_after, created_before=f.created_before, limit=f.limit)
    state.check_broker()
    try:
        with store.session() as s:
            job_id, chunk_ids = create_job(s, kind="rescore", rubric_id=rubric.id, rubric_version=rubric.version,
                                           judge=judge, conversation_ids=ids, chunk_size=settings.job_chunk_size,
                                           status=state.initial_status(), extra={"filter": f.model_dump(mode="json")},
                                           max_cost_usd=body.max_cost_usd)
            if scope is not None:
                remember_response(s, scope, route=ROUTE, request_hash=fingerprint, status_code=202,
                                  response={"job_id": job_id})
    except IntegrityError:  # the same key was used concurrently; answer like the first request
        with store.session() as s:
            replay = recall_response(s, scope) if scope else None
        if replay is None:
            raise
        return _replay(store, replay.request_hash, fingerprint, replay.response)
    state.hand_over(chunk_ids)
    return _read(store, job_id)


def _replay(store: Store, stored_hash: str, fingerprint: str, response: dict[str, Any]) -> JSONResponse:
    if stored_hash != fingerprint:
        raise replay_conflict()
    job = _read(store, int(response["job_id"]))
    return JSONResponse(job.model_dump(mode="json"), status_code=202, headers={"Idempotent-Replayed": "true"})


@router.get("/{job_id}", response_model=JobOut, summary="A scoring job's progress",
            responses={404: {"model": ErrorOut, "description": "No such job."}})
def read_scoring_job(job_id: JobId, store: StoreDep, key: ReaderKey) -> JobOut:
    return _read(store, job_id)
