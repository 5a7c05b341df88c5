"""The one place a routing policy is built: configured defaults, per-criterion calibrated thresholds, and criteria
whose wording changed since they were calibrated (never auto-accepted until re-validated). The CLI, the service's
workers and every other caller use :func:`build_policy`, so they route the same judgement the same way."""

from __future__ import annotations

from dataclasses import dataclass, field

from scorer.routing import RoutingPolicy
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.calibrations import NEVER_AUTO_ACCEPT, thresholds_for, unvalidated_changes
from scorer.types import Rubric

__all__ = ["PolicyPlan", "build_policy"]


@dataclass(frozen=True)
class PolicyPlan:
    """The policy to route with, and the criteria held for review because they changed since calibration."""

    policy: RoutingPolicy
    unvalidated: list[str] = field(default_factory=list)


def build_policy(settings: Settings, rubric: Rubric, judge_id: str, store: Store | None = None) -> PolicyPlan:
    """The routing policy for ``rubric`` judged by ``judge_id``; without a store only the configured defaults."""
    policy = RoutingPolicy(threshold=settings.review_threshold, audit_rate=settings.audit_rate,
                           audit_seed=settings.audit_seed)
    if store is None:
        return PolicyPlan(policy)
    policy.thresholds.update(thresholds_for(store, rubric, judge_id))
    unvalidated = unvalidated_changes(store, rubric, judge_id)
    for criterion_id in unvalidated:
        policy.thresholds[criterion_id] = NEVER_AUTO_ACCEPT
    return PolicyPlan(policy, unvalidated)
