"""Provider-batch jobs: one row of kind ``provider_batch`` in the ``jobs`` table, its state in the JSON ``params``
(no migration): the rubric version, judge and judge options (never the API key), the conversations, and every
batch submitted for it (provider batch id, input file, conversation ids, status, whether it was collected).

Status: ``running`` while a batch is open or unscored conversations are waiting to be submitted again, ``done``
when every conversation is stored scored (or excluded) or was given up after ``max_attempts`` submissions (stored
unscored with its last reason, so routing sends it to review), ``cancelled`` after ``--batch-cancel`` (never
resumed, never found again by :func:`find_open_job`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from scorer._errors import RubricateError
from scorer.judges import JudgeOptions
from scorer.store import Store
from scorer.store.models import JobRow
from scorer.types import Rubric

__all__ = ["FINISHED", "KIND", "BatchJob", "SubmittedBatch", "create_job", "find_open_job", "input_key", "load_job",
           "save_job"]

KIND = "provider_batch"
FINISHED = ("done", "cancelled")


class SubmittedBatch(BaseModel):
    """One provider batch recorded on a job."""

    id: str = Field(description="The provider's batch id.")
    input_file_id: str = Field(description="The uploaded JSONL file.")
    conversation_ids: list[str] = Field(description="The conversations it asks about (the lines' custom_id).")
    status: str = Field(default="validating", description="The provider's status when last looked at.")
    request_counts: dict[str, int] = Field(default_factory=dict, description="total, completed, failed.")
    collected: bool = Field(default=False, description="Its replies went through the pipeline into the store.")
    submitted_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(), description="ISO time, UTC.")


class BatchJob(BaseModel):
    """A provider-batch job as kept in its row's ``params``."""

    id: int = Field(default=0, description="The job's row id.")
    status: str = Field(default="running", description="running, done or cancelled.")
    rubric_id: str = Field(description="The rubric scored against.")
    rubric_version: str = Field(description="Its version.")
    judge: str = Field(description="The judge id, e.g. litellm/openai/gpt-4o-mini.")
    provider: str = Field(description="The litellm provider the batches go to.")
    options: dict[str, Any] = Field(description="The judge options, without the API key.")
    include_excluded: bool = Field(default=False, description="--include-excluded was given.")
    input_key: str = Field(description="A digest of the conversation ids: the same command finds this job.")
    conversation_ids: list[str] = Field(description="Every conversation of the job, in input order.")
    batches: list[SubmittedBatch] = Field(default_factory=list, description="Every batch submitted, oldest first.")
    hashes: dict[str, str] = Field(default_factory=dict, description="Conversation → digest of its last request.")
    reasons: dict[str, str] = Field(default_factory=dict, description="Conversation → why it is still unscored.")
    max_attempts: int | None = Field(default=None, ge=1, description="Submissions per conversation before it is "
                                     "given up; None (a job from before the cap): the batch_attempts setting.")
    attempts: dict[str, int] = Field(default_factory=dict, description="Conversation → times it was submitted.")
    given_up: dict[str, str] = Field(default_factory=dict, description="Conversation → its last reason, for the "
                                     "conversations not submitted again after max_attempts.")

    def judge_options(self) -> JudgeOptions:
        """The options the judge was created with at submission."""
        return JudgeOptions.model_validate(self.options)

    @property
    def open_batches(self) -> list[SubmittedBatch]:
        """Batches not collected yet."""
        return [b for b in self.batches if not b.collected]


def input_key(conversation_ids: Sequence[str]) -> str:
    """A digest of a set of conversation ids."""
    return hashlib.sha256("\n".join(sorted(set(conversation_ids))).encode()).hexdigest()[:24]


def create_job(store: Store, *, rubric: Rubric, judge: str, provider: str, options: JudgeOptions,
               include_excluded: bool, conversation_ids: Sequence[str], max_attempts: int) -> BatchJob:
    """Record a new job (no batch yet) and return it."""
    job = BatchJob(rubric_id=rubric.id, rubric_version=rubric.version, judge=judge, provider=provider,
                   options=options.model_dump(mode="json", exclude={"api_key"}), include_excluded=include_excluded,
                   input_key=input_key(conversation_ids), conversation_ids=list(conversation_ids),
                   max_attempts=max_attempts)
    with store.session() as s:
        row = JobRow(kind=KIND, status="running", total=len(job.conversation_ids),
                     params=job.model_dump(mode="json", exclude={"id", "status"}), started_at=datetime.now(UTC))
        s.add(row)
        s.flush()
        job.id = row.id
    return job


def save_job(store: Store, job: BatchJob, *, done: int | None = None, failed: int | None = None) -> None:
    """Write the job's state back (a new ``params`` value, so the JSON column is updated)."""
    with store.session() as s:
        row = s.get_one(JobRow, job.id)
        row.params = job.model_dump(mode="json", exclude={"id", "status"})
        row.status = job.status
        if done is not None:
            row.done = done
        if failed is not None:
            row.failed = failed
        if job.status in FINISHED and row.finished_at is None:
            row.finished_at = datetime.now(UTC)


def load_job(store: Store, job_id: int) -> BatchJob:
    """The provider-batch job with this id; a clear error when there is none."""
    with store.session() as s:
        row = s.get(JobRow, job_id)
        if row is None or row.kind != KIND:
            raise RubricateError(f"job {job_id} is not a provider-batch job (see `rubricate score --batch`)")
        return BatchJob.model_validate({**row.params, "id": row.id, "status": row.status})


def find_open_job(store: Store, rubric: Rubric, judge: str, conversation_ids: Sequence[str]) -> BatchJob | None:
    """The running job of the same rubric version, judge and conversations, if there is one (newest first)."""
    key = input_key(conversation_ids)
    with store.session() as s:
        rows = list(s.scalars(select(JobRow).where(JobRow.kind == KIND, JobRow.status == "running")
                              .order_by(JobRow.id.desc())))
        for row in rows:
            p = row.params
            if (p.get("rubric_version"), p.get("judge"), p.get("input_key")) == (rubric.version, judge, key):
                return BatchJob.model_validate({**p, "id": row.id, "status": row.status})
    return None
