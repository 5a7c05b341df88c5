"""Read the conversations review sampling may pick, and queue the picks (every judgement of the conversation, with
the ``sample:*`` reason and the reviewer it is assigned to). Already-reviewed conversations are never candidates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from scorer.conditions import field_values
from scorer.sampling import Candidate, Pick, assign_reviewers
from scorer.store.models import (
    ConversationRow,
    JudgementRow,
    ReviewEventRow,
    ReviewQueueRow,
    RubricVersionRow,
    ScoreCardRow,
)
from scorer.store.queries import scored_cards
from scorer.store.repository import Store
from scorer.types import Conversation, Rubric

__all__ = ["QueuedPick", "candidates", "queue_picks"]


@dataclass(frozen=True)
class QueuedPick:
    """A queued pick: the conversation, why, who reviews it and how many judgements were queued."""

    pick: Pick
    reviewer: str | None
    judgements: int


def _newest_cards(s, rubric: Rubric, judge: str | None):  # type: ignore[no-untyped-def]
    query = scored_cards(rubric.id, rubric.version, judge,
                         ScoreCardRow.id, ConversationRow.external_id, ConversationRow.payload)
    newest: dict[str, tuple[int, dict]] = {}  # type: ignore[type-arg]
    for card_id, external_id, payload in s.execute(query):
        newest[external_id] = (card_id, payload)
    return newest


def candidates(store: Store, rubric: Rubric, *, balance: Sequence[str] = (), judge: str | None = None
               ) -> list[Candidate]:
    """Scored (not excluded) conversations of the rubric version that no human has reviewed or been sent yet."""
    with store.session() as s:
        newest = _newest_cards(s, rubric, judge)
        in_review = set(s.scalars(
            select(ConversationRow.external_id)
            .join(ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id)
            .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
            .join(JudgementRow, JudgementRow.score_card_id == ScoreCardRow.id)
            .join(ReviewQueueRow, ReviewQueueRow.judgement_id == JudgementRow.id)
            .where(RubricVersionRow.version == rubric.version)))
        in_review |= set(s.scalars(select(ReviewEventRow.conversation_id).where(
            ReviewEventRow.rubric_version == rubric.version, ReviewEventRow.source != "ai")))
    out = []
    for external_id, (_, payload) in newest.items():
        if external_id in in_review:
            continue
        conversation = Conversation.model_validate(payload)
        fields = {name: ",".join(field_values(conversation, name)) or "?" for name in balance}
        out.append(Candidate(external_id, conversation.agent_id, conversation.started_at, conversation.csat, fields))
    return out


def queue_picks(store: Store, rubric: Rubric, picks: Sequence[Pick], *, reviewers: Sequence[str] = (),
                judge: str | None = None) -> list[QueuedPick]:
    """Queue every judgement of each picked conversation; conversations are dealt to ``reviewers`` in turn
    (:func:`scorer.sampling.assign_reviewers`)."""
    queued: list[QueuedPick] = []
    with store.session() as s:
        newest = _newest_cards(s, rubric, judge)
        for pick, reviewer in zip(picks, assign_reviewers(picks, reviewers), strict=True):
            card_id = newest[pick.conversation_id][0]
            added = 0
            for judgement_id in s.scalars(select(JudgementRow.id).where(JudgementRow.score_card_id == card_id)):
                if s.scalar(select(ReviewQueueRow.id).where(ReviewQueueRow.judgement_id == judgement_id)) is None:
                    s.add(ReviewQueueRow(judgement_id=judgement_id, reasons=[pick.reason], audit=False,
                                         assignee=reviewer))
                    added += 1
            queued.append(QueuedPick(pick, reviewer, added))
    return queued
