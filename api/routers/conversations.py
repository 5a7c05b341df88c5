"""``/v1/conversations``: ingest one conversation or a batch (scoring is queued), and read a score card.

Ingest is all-or-nothing per item and atomic per request: the accepted conversations, their scoring job and the
idempotency record are committed in one transaction, so a request either fully happened or did not happen at all.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from api.deps import IngestKey, OwnReaderKey, StateDep, StoreDep, agent_scope
from api.errors import SURROGATE
from api.routers._shared import (
    IdempotencyKey,
    idempotency_scope,
    replay_conflict,
    request_hash,
    resolve_judge,
    resolve_rubric,
)
from api.schemas.common import AUTH_ERRORS, ErrorOut, errors, utc
from api.schemas.conversations import AcceptedItem, IngestRequest, IngestResult, RejectedItem
from api.schemas.links import INGEST_LINKS
from api.schemas.results import JudgementOut, ScorecardOut
from api.state import ServiceState
from scorer.evidence import with_turn_labels
from scorer.io import json_depth, printable
from scorer.settings import Settings
from scorer.store.ingest import recall_response, remember_response, store_conversations
from scorer.store.jobs import create_job
from scorer.store.keys import ApiKey
from scorer.store.queries import find_card, newest_rubric_version
from scorer.types import MAX_ID_CHARS, Conversation, Review

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/conversations", tags=["conversations"], responses=AUTH_ERRORS)
ROUTE = "POST /v1/conversations"


def _reason(exc: ValidationError) -> str:
    return with_turn_labels("; ".join(f"{'.'.join(map(str, e['loc'])) or 'conversation'}: "
                                      f"{SURROGATE if e['type'] == 'string_unicode' else e['msg']}"
                                      for e in exc.errors()))


def _limit_problem(conversation: Conversation, settings: Settings) -> str | None:
    """Why the conversation is over a configured limit (id length, metadata nesting), else None."""
    if len(conversation.id) > settings.max_id_length:
        return (f"id: {len(conversation.id)} characters, over the limit of {settings.max_id_length} "
                "(RUBRICATE_MAX_ID_LENGTH)")
    if json_depth(conversation.metadata) + 1 > settings.max_json_depth:
        return f"metadata: nested more than {settings.max_json_depth} levels deep (RUBRICATE_MAX_JSON_DEPTH)"
    return None


def _check_items(raw_items: list[Any], settings: Settings, single: bool
                 ) -> tuple[list[tuple[int, Conversation]], list[RejectedItem], dict[int, int]]:
    """Validate each item: the good ones (first copy of each id), the rejected ones with reasons, and repeats
    (index → index of the first copy with the same transcript)."""
    good: list[tuple[int, Conversation]] = []
    rejected: list[RejectedItem] = []
    first: dict[str, tuple[int, str]] = {}
    repeats: dict[int, int] = {}
    for index, raw in enumerate(raw_items):
        raw_id = raw.get("id") if isinstance(raw, dict) else getattr(raw, "id", None)
        try:
            conversation = raw if isinstance(raw, Conversation) else Conversation.model_validate(raw)
        except ValidationError as exc:
            shown = printable(str(raw_id))[:MAX_ID_CHARS] if raw_id is not None else None
            rejected.append(RejectedItem(index=index, id=shown, reason=printable(_reason(exc))))
            continue
        problem = _limit_problem(conversation, settings)
        if problem is not None:
            rejected.append(RejectedItem(index=index, id=conversation.id, reason=problem))
            continue
        limit = settings.max_transcript_chars
        size = sum(len(turn.text) for turn in conversation.turns)
        if size > limit:
            reason = (f"the transcript has {size} characters, over the limit of {limit} "
                      "(RUBRICATE_MAX_TRANSCRIPT_CHARS)")
            if single:
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, reason)
            rejected.append(RejectedItem(index=index, id=conversation.id, reason=reason))
            continue
        digest = conversation.content_hash()
        if conversation.id in first:
            earlier, earlier_digest = first[conversation.id]
            if earlier_digest == digest:
                repeats[index] = earlier
            else:
                rejected.append(RejectedItem(index=index, id=conversation.id, reason=(
                    f"id {conversation.id!r} appears earlier in this request (index {earlier}) with a different "
                    "transcript; send one version")))
            continue
        first[conversation.id] = (index, digest)
        good.append((index, conversation))
    return good, rejected, repeats


@router.post(
    "", response_model=IngestResult, status_code=status.HTTP_202_ACCEPTED,
    summary="Ingest a conversation or a batch; scoring is queued",
    responses={202: {"description": "Accepted; the links lead to the score card and the job.", "links": INGEST_LINKS},
               404: {"model": ErrorOut, "description": "Unknown rubric or rubric version."},
               **errors(400, 409, 413)},
)
async def ingest(body: IngestRequest, key: IngestKey, state: StateDep, idempotency_key: IdempotencyKey = None) -> Any:
    """Store conversations (keyed by their ``id``) and queue their scoring against a stored rubric version.

    Bad items are refused with their index and the reason while the good ones are accepted; when no item is good
    the answer is 422. A conversation sent again with the same transcript creates no second row, and with the
    same ``Idempotency-Key`` the first response is returned as it was.
    """
    return await run_in_threadpool(_ingest, body, key, state, idempotency_key)


def _ingest(body: IngestRequest, key: ApiKey, state: ServiceState, idempotency_key: str | None) -> Any:
    """The ingest itself, in one worker thread (database calls block)."""
    settings, store = state.settings, state.store.get()
    items = body.items()
    if len(items) > settings.max_batch:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"{len(items)} conversations in one request; "
                            f"the limit is {settings.max_batch} (RUBRICATE_MAX_BATCH): split the batch")
    judge = resolve_judge(settings, body.judge)
    if (body.rubric_id, body.rubric_version) not in state.known_rubrics:
        resolve_rubric(store, body.rubric_id, body.rubric_version)  # 404 when not stored
        state.known_rubrics.add((body.rubric_id, body.rubric_version))
    scope = idempotency_scope(key, ROUTE, idempotency_key) if idempotency_key else None
    fingerprint = request_hash(body.model_dump(mode="json")) if scope is not None else ""  # kept with the key only
    if scope is not None:
        with store.session() as s:
            replay = recall_response(s, scope)
        if replay is not None:
            return _replay(replay.request_hash, fingerprint, replay.status_code, replay.response)
    good, rejected, repeats = _check_items(items, settings, body.conversations is None)
    if not good:
        raise _nothing_accepted(rejected, body.conversations is None)
    state.check_broker()
    for attempt in (1, 2):  # a concurrent request may insert the same new id or key first; then look again
        try:
            result, chunk_ids = _commit(state, body, judge, good, rejected, repeats, scope, fingerprint)
            break
        except IntegrityError:
            if attempt == 2:
                raise
            if scope is not None:
                with store.session() as s:
                    replay = recall_response(s, scope)
                if replay is not None:
                    return _replay(replay.request_hash, fingerprint, replay.status_code, replay.response)
    if chunk_ids:
        state.hand_over(chunk_ids)
    return result


def _nothing_accepted(rejected: list[RejectedItem], single: bool) -> RequestValidationError:
    """422 listing every refused item (``loc`` ends with its index)."""
    field = ["conversation"] if single else ["conversations"]
    return RequestValidationError([{"loc": ["body", *field, *([] if single else [r.index])], "msg": r.reason,
                                    "type": "value_error"} for r in rejected])


def _replay(stored_hash: str, fingerprint: str, code: int, response: dict[str, Any]) -> JSONResponse:
    if stored_hash != fingerprint:
        raise replay_conflict()
    return JSONResponse(response, status_code=code, headers={"Idempotent-Replayed": "true"})


def _commit(state: ServiceState, body: IngestRequest, judge: str, good: list[tuple[int, Conversation]],
            rejected: list[RejectedItem], repeats: dict[int, int], scope: str | None, fingerprint: str
            ) -> tuple[IngestResult, list[int]]:
    store = state.store.get()
    with store.transaction() as s:  # Core statements on one connection: no ORM unit of work on this path
        version = body.rubric_version or newest_rubric_version(s, body.rubric_id)
        if version is None:  # cannot happen while rubric versions are never deleted; say so plainly if it does
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown rubric {body.rubric_id!r}")
        outcomes = store_conversations(s, [c for _, c in good], rubric_id=body.rubric_id, rubric_version=version,
                                       judge=judge)
        to_score = [o.conversation_id for o in outcomes if o.needs_scoring]
        job_id, chunk_ids = (None, []) if not to_score else create_job(
            s, kind="ingest", rubric_id=body.rubric_id, rubric_version=version, judge=judge,
            conversation_ids=to_score, chunk_size=state.settings.job_chunk_size, status=state.initial_status())
        accepted = [AcceptedItem(index=index, id=c.id, outcome=o.outcome)
                    for (index, c), o in zip(good, outcomes, strict=True)]
        accepted += [AcceptedItem(index=index, id=_by_index(accepted, first).id,
                                  outcome="duplicate_in_request") for index, first in repeats.items()]
        result = IngestResult(rubric_id=body.rubric_id, rubric_version=version, judge=judge, job_id=job_id,
                              accepted=sorted(accepted, key=lambda a: a.index), rejected=rejected)
        if scope is not None:
            remember_response(s, scope, route=ROUTE, request_hash=fingerprint,
                              status_code=status.HTTP_202_ACCEPTED, response=result.model_dump(mode="json"))
    return result, chunk_ids


def _by_index(accepted: list[AcceptedItem], index: int) -> AcceptedItem:
    return next(a for a in accepted if a.index == index)


@router.get(
    "/{conversation_id}/scorecard", response_model=ScorecardOut, summary="A conversation's newest score card",
    responses={404: {"model": ErrorOut, "description": "Unknown conversation (for an agent key: or another agent's), "
                                                       "or not scored yet."}},
)
def scorecard(
    conversation_id: Annotated[str, Path(max_length=255)], store: StoreDep, key: OwnReaderKey,
    rubric_id: Annotated[str | None, Query(max_length=255)] = None,
    rubric_version: Annotated[str | None, Query(max_length=64)] = None,
    judge: Annotated[str | None, Query(max_length=255)] = None,
) -> ScorecardOut:
    """Judgements with located evidence, confidence, review state and each judgement's full history. An ``agent``
    key reads only its own agent's conversations; any other answers 404 as if unknown."""
    agent = agent_scope(key)
    stored = find_card(store, conversation_id, rubric_id=rubric_id, rubric_version=rubric_version, judge=judge,
                       agent_id=agent)
    if stored is None:
        found = store.get_conversation(conversation_id)
        known = found is not None and (agent is None or found.agent_id == agent)
        raise HTTPException(status.HTTP_404_NOT_FOUND, (
            f"conversation {conversation_id!r} has no score card yet: its scoring job is queued or running"
            if known else f"unknown conversation {conversation_id!r}; send it with POST /v1/conversations"))
    card = stored.card
    rubric = store.get_rubric(card.rubric_id, card.rubric_version)
    questions = {c.id: c.question for c in rubric.criteria} if rubric else {}
    judgements = []
    for j in card.judgements:
        history = [r.model_copy(update={"created_at": utc(r.created_at)})
                   for r in store.history(card.conversation_id, j.criterion_id, card.rubric_version)]
        judgements.append(JudgementOut(
            criterion_id=j.criterion_id, status=j.status, answer=j.answer, reason=j.reason, confidence=j.confidence,
            confidence_kind=j.confidence_kind, evidence=j.evidence, needs_review=j.needs_review,
            review_reasons=j.review_reasons, review_state=stored.review_states[j.criterion_id],  # type: ignore[arg-type]
            question=questions.get(j.criterion_id, ""), rationale=j.rationale, judge_id=j.judge_id,
            model_id=j.model_id, prompt_version=j.prompt_version, current_answer=_current(j.answer, history),
            history=history))
    return ScorecardOut(
        conversation_id=card.conversation_id, rubric_id=card.rubric_id, rubric_version=card.rubric_version,
        judge=card.judge, score=card.score, status=card.status, excluded_reason=card.excluded_reason,
        excluded_confidence=card.excluded_confidence,
        auto_failed=card.auto_failed, auto_failed_by=card.auto_failed_by,
        provisional=card.provisional, pending_auto_fail=card.pending_auto_fail,
        categories=card.categories, stale=stored.stale, created_at=card.created_at, judgements=judgements,
        usage=card.usage)


def _current(ai_answer: str | None, history: list[Review]) -> str | None:
    """The newest standing reviewer decision's answer (deleted annotations do not count), else the AI's."""
    removed: set[tuple[str, str | None]] = set()
    for event in reversed(history):
        if event.kind == "deleted":
            removed.add((event.source, event.external_id))
        elif (event.source, event.external_id) in removed or event.kind == "ai":
            continue
        elif event.answer is not None:
            return event.answer
    return ai_answer
