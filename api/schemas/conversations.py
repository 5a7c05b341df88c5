"""Ingest schemas: a conversation or a batch of up to ``max_batch`` in, per-item outcomes out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scorer.types import Conversation

__all__ = ["AcceptedItem", "IngestRequest", "IngestResult", "RejectedItem"]

_EXAMPLE_CONVERSATION: dict[str, Any] = {
    "id": "ticket-48213", "channel": "chat", "language": "en",
    "turns": [{"speaker": "customer", "text": "My parcel never arrived."},
              {"speaker": "agent", "text": "Hello, this is Sam from Parcelly. I'm sorry! I'll send a new one today."}],
    "metadata": {"queue": "delivery"},
    "agent_id": "A-17", "agent_name": "Sam Carter", "team": "Delivery", "started_at": "2026-11-03T09:14:00Z",
    "csat": 4, "tags": ["vip"],
}

Item = Annotated[Conversation | Any, Field(union_mode="left_to_right")]


class IngestRequest(BaseModel):
    """Conversations to store and score against a stored rubric. Send one as ``conversation`` or a batch as
    ``conversations``. Each conversation is keyed by its ``id`` (your ticket or call id): sending it again is
    harmless, and an ``Idempotency-Key`` header makes a retried request return the first response."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"rubric_id": "support-core", "conversation": _EXAMPLE_CONVERSATION},
        {"rubric_id": "support-core", "conversations": [_EXAMPLE_CONVERSATION]},
    ]})

    rubric_id: str = Field(min_length=1, max_length=255, description="A rubric stored with POST /v1/rubrics.")
    rubric_version: str | None = Field(default=None, max_length=64,
                                       description="A stored version; default: the newest stored.")
    judge: str | None = Field(default=None, max_length=255,
                              description="Judge spec; default: the server's RUBRICATE_JUDGE.")
    conversation: Item | None = Field(default=None, description="One conversation.")
    conversations: list[Item] | None = Field(default=None, description="A batch; bad items are reported by index "
                                             "and the good ones accepted.")

    @model_validator(mode="after")
    def _one_form(self) -> IngestRequest:
        if (self.conversation is None) == (self.conversations is None):
            raise ValueError("send exactly one of 'conversation' (one) or 'conversations' (a batch)")
        if self.conversations is not None and not self.conversations:
            raise ValueError("'conversations' is empty")
        return self

    def items(self) -> list[Any]:
        return [self.conversation] if self.conversations is None else list(self.conversations)


class AcceptedItem(BaseModel):
    """A conversation that was stored."""

    index: int = Field(description="Position in the request (0 for a single conversation).")
    id: str
    outcome: Literal["created", "updated", "unchanged", "already_scored", "duplicate_in_request"] = Field(
        description="created/updated: stored and queued; unchanged: same transcript, queued; already_scored: same "
                    "transcript already scored with this rubric version and judge, nothing queued.")


class RejectedItem(BaseModel):
    """A conversation that was refused, with why; nothing of it was stored."""

    index: int
    id: str | None = None
    reason: str = Field(examples=["turns: List should have at least 1 item after validation, not 0"])


class IngestResult(BaseModel):
    """What was accepted and refused, and the job that scores the accepted conversations."""

    rubric_id: str
    rubric_version: str
    judge: str
    job_id: int | None = Field(description="Scoring job (GET /v1/scoring-jobs/{job_id}); null when nothing "
                                           "needed scoring.")
    accepted: list[AcceptedItem]
    rejected: list[RejectedItem]
