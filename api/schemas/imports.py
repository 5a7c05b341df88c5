"""Import schemas: what an import of a helpdesk export, CSV or transcript accepted, refused and skipped."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.conversations import IngestResult

__all__ = ["ImportResult", "SkippedOut"]


class SkippedOut(BaseModel):
    """A row, comment, part, segment or record the importer left out, where it was and why."""

    location: str = Field(examples=["input:17", "input record 3 comment 2"],
                          description="Line (CSV, JSON Lines) or record/part position in the uploaded file.")
    reason: str = Field(examples=["speaker 'supervisor' is not a known value"])
    conversation_id: str | None = None


class ImportResult(IngestResult):
    """The ingest result (accepted, rejected, the scoring job) plus what the importer skipped."""

    format: str = Field(description="The import format used.")
    skipped: list[SkippedOut] = Field(description="Everything left out of the conversations, with the reason.")
