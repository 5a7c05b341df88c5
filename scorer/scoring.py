"""Turn judgements into a score card: weighted 0-100 over applicable criteria, auto-fail, per-category sub-scores.

``na`` answers and unscored judgements are left out of both the earned and the possible weight. An auto-fail
criterion answered with its failing answer sets the whole score to 0 (the category sub-scores are kept) only when
the answer is *sure*: it comes from a rule, a human review (``reviewed``), or has a confidence at or above that
criterion's auto-accept threshold. An unsure failing answer leaves the score as computed, marks the card
``provisional`` and names the criterion in ``pending_auto_fail``; a reviewer's confirmation applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from scorer.routing import DEFAULT_REVIEW_THRESHOLD, is_sure_failure
from scorer.types import CategoryScore, Judgement, Rubric, ScoreCard

__all__ = ["score_card"]

def _percent(earned: float, possible: float) -> float | None:
    return round(100.0 * earned / possible, 2) if possible > 0 else None


def score_card(
    conversation_id: str,
    rubric: Rubric,
    judge_id: str,
    judgements: Sequence[Judgement],
    *,
    auto_fail_threshold: Callable[[str], float] | None = None,
    reviewed: Collection[str] = (),
) -> ScoreCard:
    """Compute the score card of one conversation from its judgements (one per criterion).

    ``auto_fail_threshold(criterion_id)`` is the confidence a failing answer needs to auto-fail (the routing
    policy's ``threshold_for``; ``DEFAULT_REVIEW_THRESHOLD`` when not given); ``reviewed`` names the criteria whose
    answers a human confirmed or corrected.
    """
    threshold = auto_fail_threshold or (lambda _criterion_id: DEFAULT_REVIEW_THRESHOLD)
    by_id = {j.criterion_id: j for j in judgements}
    earned = possible = 0.0
    categories: dict[str, CategoryScore] = {}
    auto_failed_by: list[str] = []
    pending: list[str] = []
    for criterion in rubric.criteria:
        category = categories.setdefault(
            criterion.category,
            CategoryScore(category=criterion.category, score=None, earned=0, possible=0, criteria=[]),
        )
        category.criteria.append(criterion.id)
        judgement = by_id.get(criterion.id)
        if judgement is None or judgement.status != "scored" or judgement.answer is None:
            continue
        if criterion.auto_fail and criterion.scale.is_failing(judgement.answer):
            sure = is_sure_failure(criterion, judgement, threshold(criterion.id), reviewed=criterion.id in reviewed)
            (auto_failed_by if sure else pending).append(criterion.id)
        points = criterion.scale.points(judgement.answer)
        if points is None:
            continue
        earned += points * criterion.weight
        possible += criterion.weight
        category.earned += points * criterion.weight
        category.possible += criterion.weight
    for category in categories.values():
        category.score = _percent(category.earned, category.possible)
    total = _percent(earned, possible)
    return ScoreCard(
        conversation_id=conversation_id,
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        judge=judge_id,
        score=0.0 if auto_failed_by else total,
        auto_failed=bool(auto_failed_by),
        auto_failed_by=auto_failed_by,
        provisional=bool(pending) and not auto_failed_by,
        pending_auto_fail=[] if auto_failed_by else pending,
        categories=categories,
        judgements=list(judgements),
    )
