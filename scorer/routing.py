"""Decide which judgements a human should review, and record why.

Reasons: ``low_confidence`` (below the criterion's threshold), ``judges_disagree`` (set by ensembles and sampling
judges), ``no_evidence`` (a passing answer without verified evidence; not for rules, whose "nothing matched" is the
finding), ``auto_fail`` (an auto-fail criterion failed and zeroed the score), ``auto_fail_pending`` (it failed
with an answer not sure enough to zero the score: the card is provisional until a reviewer confirms, see
``scorer.scoring``; always routed), ``unscored`` (the judge could not answer), and ``audit`` — a seeded random
sample of otherwise confident items, so the AI's accuracy can be estimated without the bias of routing only hard cases.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field

from scorer.types import NA, Criterion, Judgement

__all__ = ["DEFAULT_AUDIT_RATE", "DEFAULT_REVIEW_THRESHOLD", "REASONS", "SURE_JUDGES", "RoutingPolicy",
           "is_sure_failure", "route"]

DEFAULT_REVIEW_THRESHOLD = 0.8
"""Confidence needed to auto-accept an answer where no calibrated threshold exists."""
DEFAULT_AUDIT_RATE = 0.05
"""Share of otherwise confident judgements sampled for human audit."""

REASONS = ("low_confidence", "judges_disagree", "no_evidence", "auto_fail", "auto_fail_pending", "unscored",
           "audit")


SURE_JUDGES = ("rule",)
"""Judges whose answers are certain by construction (deterministic rules)."""


def is_sure_failure(criterion: Criterion, judgement: Judgement, threshold: float, *, reviewed: bool = False) -> bool:
    """True when ``judgement`` fails auto-fail ``criterion`` surely enough to zero the score: it comes from a rule,
    a human review (``reviewed``), or has a confidence at or above ``threshold``."""
    if not criterion.auto_fail or judgement.status != "scored" or judgement.answer is None:
        return False
    if not criterion.scale.is_failing(judgement.answer):
        return False
    if reviewed or judgement.judge_id in SURE_JUDGES:
        return True
    return judgement.confidence is not None and judgement.confidence >= threshold


class RoutingPolicy(BaseModel):
    """Thresholds and switches for routing; per-criterion thresholds come from calibration or config."""

    threshold: float = Field(default=DEFAULT_REVIEW_THRESHOLD, ge=0, le=1,
                             description="Default confidence needed to auto-accept.")
    thresholds: dict[str, float] = Field(default_factory=dict, description="Per-criterion thresholds.")
    audit_rate: float = Field(default=DEFAULT_AUDIT_RATE, ge=0, le=1)
    audit_seed: int = 0
    require_evidence: bool = True
    route_auto_fail: bool = True
    route_unscored: bool = True

    def threshold_for(self, criterion_id: str) -> float:
        return self.thresholds.get(criterion_id, self.threshold)

    def in_audit_sample(self, conversation_id: str, criterion_id: str, rubric_version: str) -> bool:
        """A deterministic, seeded draw: the same item is always in or out of the sample."""
        key = f"{self.audit_seed}|{conversation_id}|{criterion_id}|{rubric_version}".encode()
        draw = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64
        return draw < self.audit_rate


def route(
    judgement: Judgement, criterion: Criterion, policy: RoutingPolicy, *, conversation_id: str, rubric_version: str
) -> Judgement:
    """Return the judgement with ``needs_review`` and ``review_reasons`` set (existing reasons are kept)."""
    reasons = [r for r in judgement.review_reasons if r in REASONS]
    if judgement.status == "unscored":
        if policy.route_unscored:
            reasons.append("unscored")
    else:
        answer = judgement.answer or ""
        if judgement.confidence is None or judgement.confidence < policy.threshold_for(criterion.id):
            reasons.append("low_confidence")
        rule = judgement.judge_id in SURE_JUDGES  # a rule's "nothing matched" needs no quote, nor an audit
        passing = answer != NA and not criterion.scale.is_failing(answer)
        if policy.require_evidence and passing and not judgement.evidence and not rule:
            reasons.append("no_evidence")
        failing_auto_fail = criterion.auto_fail and criterion.scale.is_failing(answer)
        pending = failing_auto_fail and not is_sure_failure(criterion, judgement, policy.threshold_for(criterion.id))
        if pending:
            reasons.append("auto_fail_pending")  # not applied to the score until a reviewer confirms it
        elif policy.route_auto_fail and failing_auto_fail:
            reasons.append("auto_fail")
        if not reasons and not rule and policy.in_audit_sample(conversation_id, criterion.id, rubric_version):
            reasons.append("audit")
    unique = list(dict.fromkeys(reasons))
    return judgement.model_copy(update={"needs_review": bool(unique), "review_reasons": unique})
