"""``GET /v1/agreement``: how often reviewers confirmed the AI, per criterion, from the review history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ReviewerKey, StoreDep
from api.routers._shared import resolve_rubric
from api.schemas.common import AUTH_ERRORS, ErrorOut
from api.schemas.results import AgreementOut, CriterionAgreement
from scorer.store.reviews import agreement as agreement_by_criterion

__all__ = ["router"]

router = APIRouter(prefix="/v1/agreement", tags=["review"], responses=AUTH_ERRORS)


@router.get("", response_model=AgreementOut, summary="AI-vs-human agreement per criterion",
            responses={404: {"model": ErrorOut, "description": "Unknown rubric or rubric version."}})
def agreement(
    store: StoreDep, key: ReviewerKey,
    rubric_id: Annotated[str, Query(min_length=1, max_length=255)],
    rubric_version: Annotated[str | None, Query(max_length=64, description="Default: the newest stored.")] = None,
) -> AgreementOut:
    """Per criterion of the rubric: reviews so far and the share that confirmed the AI's answer, overall and on the
    random audit sample (the unbiased estimate; routed items are the hard ones). Criteria without reviews show
    zero reviews."""
    rubric = resolve_rubric(store, rubric_id, rubric_version)
    stats = agreement_by_criterion(store, rubric.version)
    empty = {"reviewed": 0, "agreement": None, "audit_reviewed": 0, "audit_agreement": None}
    return AgreementOut(rubric_id=rubric.id, rubric_version=rubric.version, criteria=[
        CriterionAgreement(criterion_id=c.id, **stats.get(c.id, empty)) for c in rubric.criteria])
