"""``/v1/imports/{format}``: send a helpdesk export, a message-per-row CSV or a call transcript as the request
body; it is converted with the same importers as ``rubricate import`` and ingested like ``POST /v1/conversations``
(stored, scoring queued). Sending the same export again is harmless: conversations are keyed by their ids."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import IngestKey, StateDep
from api.errors import invalid
from api.routers.conversations import _ingest
from api.schemas.common import AUTH_ERRORS, ErrorOut, errors
from api.schemas.conversations import IngestRequest
from api.schemas.imports import ImportResult, SkippedOut
from api.state import ServiceState
from scorer.importers import (
    DEFAULT_AGENT_RULE,
    DEFAULT_MERGE_GAP,
    FORMATS,
    AgentRule,
    CsvOptions,
    Skipped,
    SpeechOptions,
    read_format,
)
from scorer.store.keys import ApiKey
from scorer.types import Conversation

__all__ = ["router"]

router = APIRouter(prefix="/v1/imports", tags=["imports"], responses=AUTH_ERRORS)
ImportFormat = Enum("ImportFormat", {name: name for name in FORMATS}, type=str)  # type: ignore[misc]
BODY_TYPES = ("text/csv", "application/json", "application/x-ndjson", "text/vtt", "application/octet-stream")
MAX_SHOWN = 20


class ImportParams(BaseModel):
    """The query parameters of an import, as the CLI options of ``rubricate import``."""

    rubric_id: str
    rubric_version: str | None = None
    judge: str | None = None
    columns: str | None = None
    agent_values: str | None = None
    customer_values: str | None = None
    bot_values: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    include_notes: bool = False
    agent_speaker: list[str] = []
    agent_rule: AgentRule = DEFAULT_AGENT_RULE
    conversation_id: str | None = None
    started_at: datetime | None = None
    merge_gap: float = DEFAULT_MERGE_GAP


def _read(fmt: str, body: bytes, params: ImportParams, limit: int) -> tuple[list[Conversation], list[Skipped]]:
    csv = CsvOptions.from_strings(params.columns, params.agent_values, params.customer_values, params.bot_values,
                                  params.encoding, params.delimiter)
    speech = SpeechOptions(conversation_id=params.conversation_id, agent_speakers=tuple(params.agent_speaker),
                           agent_rule=params.agent_rule, started_at=params.started_at, merge_gap=params.merge_gap)
    conversations: list[Conversation] = []
    skipped: list[Skipped] = []
    for item in read_format(fmt, body, csv=csv, speech=speech, include_notes=params.include_notes):
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        conversations.append(item)
        if len(conversations) > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"the file holds more than {limit} conversations "
                                "(RUBRICATE_MAX_BATCH): split it, or convert it with `rubricate import` and send "
                                "batches")
    return conversations, skipped


def _import(fmt: str, body: bytes, params: ImportParams, key: ApiKey, state: ServiceState) -> ImportResult:
    conversations, skipped = _read(fmt, body, params, state.settings.max_batch)
    if not conversations:
        reasons = "; ".join(str(s) for s in skipped[:MAX_SHOWN]) or "the file is empty"
        raise invalid(["body"], f"no conversation could be read from this {fmt} file: {reasons}")
    request = IngestRequest(rubric_id=params.rubric_id, rubric_version=params.rubric_version, judge=params.judge,
                            conversations=conversations)  # type: ignore[arg-type]
    result = _ingest(request, key, state, None)
    return ImportResult(**result.model_dump(), format=fmt,
                        skipped=[SkippedOut(location=s.location, reason=s.reason, conversation_id=s.conversation_id)
                                 for s in skipped])


@router.post(
    "/{format}", response_model=ImportResult, status_code=status.HTTP_202_ACCEPTED,
    summary="Import a helpdesk export, CSV or call transcript; scoring is queued",
    responses={404: {"model": ErrorOut, "description": "Unknown rubric or rubric version."},
               **errors(400, 413)},
    openapi_extra={"requestBody": {"required": True, "description": "The file, as it is.", "content": {
        t: {"schema": {"type": "string", "format": "binary"}} for t in BODY_TYPES}}},
)
async def import_file(
    format: Annotated[ImportFormat, Path(description="csv, zendesk, intercom, freshdesk, whisperx or webvtt.")],
    request: Request, key: IngestKey, state: StateDep,
    rubric_id: Annotated[str, Query(min_length=1, max_length=255, description="A stored rubric.")],
    rubric_version: Annotated[str | None, Query(max_length=64)] = None,
    judge: Annotated[str | None, Query(max_length=255)] = None,
    columns: Annotated[str | None, Query(max_length=2000, description="csv: FIELD=COLUMN,…")] = None,
    agent_values: Annotated[str | None, Query(max_length=2000, description="csv: values meaning agent.")] = None,
    customer_values: Annotated[str | None, Query(max_length=2000)] = None,
    bot_values: Annotated[str | None, Query(max_length=2000)] = None,
    encoding: Annotated[str | None, Query(max_length=40, description="csv: when not UTF-8/UTF-16.")] = None,
    delimiter: Annotated[str | None, Query(max_length=2)] = None,
    include_notes: Annotated[bool, Query(description="Helpdesks: internal notes into metadata.")] = False,
    agent_speaker: Annotated[list[str] | None, Query(description="Transcripts: the agent's speaker label(s).")]
    = None,
    agent_rule: Annotated[AgentRule, Query(description="Transcripts without agent_speaker: greeting or first.")]
    = DEFAULT_AGENT_RULE,
    conversation_id: Annotated[str | None, Query(alias="id", max_length=255,
                                                 description="Transcripts: the call's id (required).")] = None,
    started_at: Annotated[datetime | None, Query(description="Transcripts: when the call began.")] = None,
    merge_gap: Annotated[float, Query(gt=0, le=3600)] = DEFAULT_MERGE_GAP,
) -> Any:
    """Convert the file in the body with the ``format``'s importer and ingest the conversations as
    ``POST /v1/conversations`` does. The answer lists the accepted and refused conversations, the scoring job,
    and every row, comment or segment the importer skipped with its position and reason."""
    if encoding is not None:
        try:  # a codec that exists but encodes nothing (e.g. "undefined") is as unusable as an unknown one
            "x".encode(encoding).decode(encoding)
        except (LookupError, UnicodeError, ValueError):
            raise invalid(["query", "encoding"], f"unknown encoding {encoding!r}") from None
    params = ImportParams(rubric_id=rubric_id, rubric_version=rubric_version, judge=judge, columns=columns,
                          agent_values=agent_values, customer_values=customer_values, bot_values=bot_values,
                          encoding=encoding, delimiter=delimiter, include_notes=include_notes,
                          agent_speaker=agent_speaker or [], agent_rule=agent_rule, conversation_id=conversation_id,
                          started_at=started_at, merge_gap=merge_gap)
    body = await request.body()
    return await run_in_threadpool(_import, format.value, body, params, key, state)
