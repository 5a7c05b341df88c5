"""Active learning: queue, beside what routing sends to review, the items a review would teach the judge most.

Reason ``learn``: among scored judgements that routing did not flag (so no reviewer would see them), the ones the
judge is least sure of — the smallest margin between its two most likely answers — and, first of all, those where
two judges stored for the same conversation and criterion gave different answers. The random ``audit`` sample is
queued as before and is what agreement estimates are read from, so these chosen items do not bias them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import select

from scorer.store.models import ConversationRow, JudgementRow, ReviewQueueRow, RubricVersionRow, ScoreCardRow
from scorer.store.repository import Store

__all__ = ["LEARN", "enqueue_learning", "uncertainty"]

LEARN = "learn"


def uncertainty(probabilities: Mapping[str, float] | None, confidence: float | None) -> float:
    """1 − (margin between the two most likely answers); without probabilities, 1 − confidence. Higher = less sure."""
    if probabilities and len(probabilities) >= 2:
        top = sorted(probabilities.values(), reverse=True)
        return float(1 - (top[0] - top[1]))
    return float(1 - (confidence if confidence is not None else 0.0))


def enqueue_learning(store: Store, rubric_id: str, rubric_version: str, count: int) -> int:
    """Queue up to ``count`` unflagged judgements with reason ``learn`` (disagreements first, then the least sure);
    returns how many were added."""
    if count <= 0:
        return 0
    with store.session() as s:
        rows = s.execute(
            select(JudgementRow, ConversationRow.id, ReviewQueueRow.id)
            .join(ScoreCardRow, JudgementRow.score_card_id == ScoreCardRow.id)
            .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
            .join(ConversationRow, ScoreCardRow.conversation_id == ConversationRow.id)
            .outerjoin(ReviewQueueRow, ReviewQueueRow.judgement_id == JudgementRow.id)
            .where(RubricVersionRow.rubric_id == rubric_id, RubricVersionRow.version == rubric_version,
                   JudgementRow.status == "scored")
        ).all()
        answers: dict[tuple[int, str], set[str]] = defaultdict(set)
        for judgement, conversation_id, _ in rows:
            answers[(conversation_id, judgement.criterion_id)].add(str(judgement.answer))
        queued = {(c, j.criterion_id) for j, c, q in rows if q is not None}
        candidates = [(j, c) for j, c, q in rows if q is None and not j.needs_review and (c, j.criterion_id)
                      not in queued]
        candidates.sort(key=lambda jc: (-len(answers[(jc[1], jc[0].criterion_id)]),
                                        -uncertainty(jc[0].payload.get("probabilities"), jc[0].confidence),
                                        jc[0].id))
        chosen, seen = [], set()
        for judgement, conversation_id in candidates:
            key = (conversation_id, judgement.criterion_id)
            if key in seen:
                continue  # one judge's item per conversation and criterion is enough to learn from
            seen.add(key)
            chosen.append(judgement)
            if len(chosen) >= count:
                break
        for judgement in chosen:
            s.add(ReviewQueueRow(judgement_id=judgement.id, reasons=[LEARN], audit=False))
        return len(chosen)
