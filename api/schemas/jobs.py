"""Scoring-job schemas: a re-scoring request (a filter of stored conversations) and a job's progress."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import UtcDatetime
from scorer.types import Channel
from scorer.usage import Usage

__all__ = ["JobCreate", "JobFilter", "JobOut"]


class JobFilter(BaseModel):
    """Which stored conversations to score; every given field must match."""

    conversation_ids: list[str] | None = Field(default=None, max_length=10_000,
                                               description="External ids; default: all.")
    channel: Channel | None = None
    language: str | None = Field(default=None, max_length=32)
    created_after: UtcDatetime | None = Field(default=None, description="First stored at or after this time.")
    created_before: UtcDatetime | None = None
    limit: int = Field(default=10_000, ge=1, le=100_000, description="At most this many, oldest first.")


class JobCreate(BaseModel):
    """Score stored conversations with a rubric version and judge. Conversations already scored with the same
    transcript, rubric version and judge are read back without a model call."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"rubric_id": "support-core", "judge": "fake", "filter": {"channel": "email", "limit": 500}},
    ]})

    rubric_id: str = Field(min_length=1, max_length=255)
    rubric_version: str | None = Field(default=None, max_length=64, description="Default: the newest stored.")
    judge: str | None = Field(default=None, max_length=255, description="Default: the server's RUBRICATE_JUDGE.")
    filter: JobFilter = Field(default_factory=JobFilter)
    max_cost_usd: float | None = Field(default=None, ge=0, description="Budget: workers start no more "
                                       "conversations once the job's model calls cost this many US dollars "
                                       "(litellm's cost map); the rest are reported as not scored.")


class JobOut(BaseModel):
    """A scoring job and its progress (summed over the chunks workers claim)."""

    id: int
    kind: str = Field(description="ingest (from POST /v1/conversations) or rescore (POST /v1/scoring-jobs).")
    status: str = Field(description="pending (waiting for the broker), queued, running, done or failed.")
    rubric_id: str
    rubric_version: str
    judge: str
    total: int = Field(description="Conversations in the job.")
    done: int = Field(description="Conversations scored (or read back from earlier scoring).")
    failed: int = Field(description="Conversations that could not be scored; see errors.")
    progress: float = Field(ge=0, le=1)
    chunks: dict[str, int] = Field(description="Chunks of work by status.")
    workers: list[str] = Field(description="Workers that claimed part of the job.")
    errors: list[str] = Field(description="Up to 50 per-conversation errors, 'id: reason'.")
    usage: Usage | None = Field(default=None, description="Model calls, tokens and cost summed over the job "
                                "(conversations read back from earlier scoring cost nothing).")
    max_cost_usd: float | None = Field(default=None, description="The job's budget, if one was set.")
    concurrency: dict[str, dict[str, dict[str, int]]] = Field(
        default_factory=dict, description="Per worker, per model@server: the adaptive limit on hosted calls in "
        "flight (limit, lowest, maximum), calls made and calls throttled (429/5xx).")
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
