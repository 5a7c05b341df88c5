"""Result schemas: a conversation's score card, judgement listings and AI-vs-human agreement."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import UtcDatetime
from scorer.types import CategoryScore, Evidence, Review
from scorer.usage import Usage

__all__ = ["AgreementOut", "CriterionAgreement", "JudgementOut", "JudgementPage", "JudgementSummary",
           "ReviewState", "ScorecardOut"]

ReviewState = Literal["not_routed", "routed", "queued", "pushed", "reviewed"]


class JudgementSummary(BaseModel):
    """A judgement as listed: the answer, its confidence, located evidence and review state."""

    criterion_id: str
    status: Literal["scored", "unscored"]
    answer: str | None
    reason: str | None = Field(default=None, description="Why it is unscored.")
    confidence: float | None
    confidence_kind: str
    evidence: list[Evidence] = Field(description="Quotes located in the transcript (turn and character offsets).")
    needs_review: bool
    review_reasons: list[str]
    review_state: ReviewState = Field(description="not_routed (accepted as is), routed (flagged, not in the review "
                                                  "queue yet), queued, pushed (in Label Studio) or reviewed.")


class JudgementOut(JudgementSummary):
    """A judgement in a score card, with the rubric's question, the answer in force and the full history."""

    question: str = ""
    rationale: str = ""
    judge_id: str = ""
    model_id: str = ""
    prompt_version: str = ""
    current_answer: str | None = Field(description="The newest reviewer decision's answer, else the AI's answer.")
    history: list[Review] = Field(description="The AI's answer and every reviewer decision, oldest first.")


class ScorecardOut(BaseModel):
    """A conversation's newest score card."""

    conversation_id: str
    rubric_id: str
    rubric_version: str
    judge: str
    score: float | None = Field(description="Weighted 0-100 over applicable criteria; 0 when auto-failed.")
    status: Literal["scored", "excluded"] = Field(
        default="scored", description="``excluded``: the rubric's eligibility rules left it unscored (no judgements).")
    excluded_reason: str | None = Field(default=None, description="Why it was excluded: too_short, bot_only, "
                                        "auto_reply, spam, tag:<tag>, field:<name>, learned:spam.")
    excluded_confidence: float | None = Field(default=None, description="For learned:spam, the spam filter's "
                                              "P(spam); None for exclusions by rule.")
    auto_failed: bool
    auto_failed_by: list[str]
    provisional: bool = Field(default=False, description="An auto-fail criterion failed with an answer not sure "
                                                         "enough to zero the score; it awaits a reviewer.")
    pending_auto_fail: list[str] = Field(default_factory=list, description="The auto-fail criteria awaiting review; "
                                         "a reviewer's confirmation applies them (score 0).")
    categories: dict[str, CategoryScore]
    stale: bool = Field(description="True when the conversation was changed after this card was made (a new card "
                                    "is on its way).")
    created_at: UtcDatetime
    judgements: list[JudgementOut]
    usage: Usage | None = Field(default=None, description="Model calls, tokens (cached prompt tokens included) and "
                                "cost in US dollars spent on this card; None when the judge made no model call.")


class JudgementItem(JudgementSummary):
    """A judgement in a listing, with where it belongs."""

    conversation_id: str
    rubric_id: str
    rubric_version: str
    judge: str


class JudgementPage(BaseModel):
    """One page of judgements, oldest first."""

    items: list[JudgementItem]
    page: int
    page_size: int
    total: int
    next_page: int | None = Field(description="The next page's number; null on the last page.")


class CriterionAgreement(BaseModel):
    """How often reviewers confirmed the AI on one criterion (overall and on the unbiased audit sample)."""

    criterion_id: str
    reviewed: int
    agreement: float | None = Field(description="Share of reviews confirming the AI's answer; null when none.")
    audit_reviewed: int
    audit_agreement: float | None = Field(description="The same over the random audit sample only.")


class AgreementOut(BaseModel):
    """AI-vs-human agreement per criterion for one rubric version, from the review history."""

    rubric_id: str
    rubric_version: str
    criteria: list[CriterionAgreement]
