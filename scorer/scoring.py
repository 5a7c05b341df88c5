"""Turn judgements into a score card: weighted 0-100 over applicable criteria, auto-fail, per-category sub-scores.

``na`` answers and unscored judgements are left out of both the earned and the possible weight. An auto-fail
criterion answered with its failing answer sets the whole score to 0 (the category sub-scores are kept).
"""

from __future__ import annotations

from collections.abc import Sequence

from scorer.types import CategoryScore, Judgement, Rubric, ScoreCard

__all__ = ["score_card"]


def _percent(earned: float, possible: float) -> float | None:
    return round(100.0 * earned / possible, 2) if possible > 0 else None


def score_card(
    conversation_id: str, rubric: Rubric, judge_id: str, judgements: Sequence[Judgement]
) -> ScoreCard:
    """Compute the score card of one conversation from its judgements (one per criterion)."""
    by_id = {j.criterion_id: j for j in judgements}
    earned = possible = 0.0
    categories: dict[str, CategoryScore] = {}
    auto_failed_by: list[str] = []
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
            auto_failed_by.append(criterion.id)
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
        categories=categories,
        judgements=list(judgements),
    )
