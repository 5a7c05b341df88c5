"""The answer that counts, computed plainly from the stored rows (the tests' reference for
``scorer.store.standing``): a reviewer's standing decision — the newest human event of a judgement that gives an
answer and is neither superseded nor deleted — else the AI's answer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scorer.store import Store
from scorer.store.dashboard.filters import Filters, resolve
from scorer.store.models import JudgementRow, ReviewEventRow, ScoreCardRow

__all__ = ["counted", "counted_answers"]


def counted(store: Store) -> dict[int, tuple[str, str | None]]:
    """(status, answer) that counts for each stored judgement."""
    with store.session() as s:
        out = {j.id: (j.status, j.answer) for j in s.scalars(select(JudgementRow))}
        for e in s.scalars(select(ReviewEventRow).order_by(ReviewEventRow.id)):
            if e.source != "ai" and not e.superseded and e.kind != "deleted" and e.answer is not None:
                out[e.judgement_id] = ("scored", e.answer)
    return out


def counted_answers(store: Store) -> list[tuple[Any, ...]]:
    """(criterion, passed, failed, middle, na, unscored) over the newest card of each conversation among the
    newest rubric's versions (all dates), as the overview's criteria should count them."""
    answers = counted(store)
    with store.session() as s:
        scope = resolve(s, Filters(all_dates=True), exact=True)
        if scope.rubric is None:
            return []
        newest: dict[int, int] = {}
        for card in s.scalars(select(ScoreCardRow).where(ScoreCardRow.rubric_version_id.in_(scope.version_ids))):
            newest[card.conversation_id] = max(card.id, newest.get(card.conversation_id, 0))
        current = {j.id: j.criterion_id for j in s.scalars(select(JudgementRow).where(
            JudgementRow.score_card_id.in_(list(newest.values()) or [-1])))}
    out = []
    for criterion in scope.rubric.criteria:
        tally = {"passed": 0, "failed": 0, "middle": 0, "na": 0, "unscored": 0}
        for jid, cid in current.items():
            status, answer = answers[jid]
            if cid != criterion.id:
                continue
            points = criterion.scale.points(answer) if answer in criterion.answers else None
            kind = ("unscored" if status != "scored" or answer not in criterion.answers else "na" if points is None
                    else "failed" if criterion.scale.is_failing(answer) else "passed" if points >= 1 else "middle")
            tally[kind] += 1
        out.append((criterion.id, *tally.values()))
    return out
