"""``GET /v1/judgements``: judgements filtered by review need, criterion, rubric and review state; paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import OwnReviewerKey, StoreDep, agent_scope
from api.schemas.common import AUTH_ERRORS
from api.schemas.results import JudgementItem, JudgementPage, ReviewState
from scorer.store.queries import list_judgements

__all__ = ["router"]

router = APIRouter(prefix="/v1/judgements", tags=["judgements"], responses=AUTH_ERRORS)


@router.get("", response_model=JudgementPage, summary="List judgements (e.g. those that need review)")
def judgements(
    store: StoreDep, key: OwnReviewerKey,
    needs_review: Annotated[bool | None, Query(description="Only flagged (true) or unflagged (false) ones.")] = None,
    criterion: Annotated[str | None, Query(max_length=255, description="A criterion id.")] = None,
    rubric_id: Annotated[str | None, Query(max_length=255)] = None,
    rubric_version: Annotated[str | None, Query(max_length=64)] = None,
    review_state: Annotated[ReviewState | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JudgementPage:
    """Reviewers see every judgement; an ``agent`` key sees those of its own agent's conversations."""
    items, total = list_judgements(store, needs_review=needs_review, criterion=criterion, rubric_id=rubric_id,
                                   rubric_version=rubric_version, state=review_state, page=page, page_size=page_size,
                                   agent_id=agent_scope(key))
    out = [JudgementItem(
        conversation_id=i.conversation_id, rubric_id=i.rubric_id, rubric_version=i.rubric_version, judge=i.judge,
        criterion_id=i.judgement.criterion_id, status=i.judgement.status, answer=i.judgement.answer,
        reason=i.judgement.reason, confidence=i.judgement.confidence, confidence_kind=i.judgement.confidence_kind,
        evidence=i.judgement.evidence, needs_review=i.judgement.needs_review,
        review_reasons=i.judgement.review_reasons, review_state=i.review_state,  # type: ignore[arg-type]
    ) for i in items]
    return JudgementPage(items=out, page=page, page_size=page_size, total=total,
                         next_page=page + 1 if page * page_size < total else None)
