"""Reviewers' decisions as training and calibration data: the latest non-superseded human answer per item."""

from __future__ import annotations

from sqlalchemy import select

from eval.datasets import Dataset, LabelledConversation
from scorer.store import Store
from scorer.store.models import ConversationRow, JudgementRow, ReviewEventRow, ScoreCardRow
from scorer.types import Conversation, Judgement, Rubric

__all__ = ["dataset_from_reviews", "reviewed_judgements"]


def reviewed_judgements(store: Store, rubric: Rubric) -> list[tuple[Conversation, Judgement, str]]:
    """(conversation, AI judgement, human answer) for every reviewed judgement of the rubric version."""
    with store.session() as s:
        rows = s.execute(
            select(ReviewEventRow, JudgementRow.payload, ConversationRow.payload)
            .join(JudgementRow, ReviewEventRow.judgement_id == JudgementRow.id)
            .join(ScoreCardRow, JudgementRow.score_card_id == ScoreCardRow.id)
            .join(ConversationRow, ScoreCardRow.conversation_id == ConversationRow.id)
            .where(ReviewEventRow.rubric_version == rubric.version, ReviewEventRow.source != "ai",
                   ReviewEventRow.superseded.is_(False), ReviewEventRow.kind != "deleted")
            .order_by(ReviewEventRow.id)
        ).all()
    latest = {}
    for event, judgement, conversation in rows:
        latest[event.judgement_id] = (Conversation.model_validate(conversation), Judgement.model_validate(judgement),
                                      str(event.answer))
    return list(latest.values())


def dataset_from_reviews(store: Store, rubric: Rubric) -> Dataset:
    """Reviewed conversations as a labelled dataset (labels only where a reviewer decided)."""
    by_conversation: dict[str, LabelledConversation] = {}
    for conversation, judgement, answer in reviewed_judgements(store, rubric):
        item = by_conversation.setdefault(conversation.id, LabelledConversation(conversation, {}))
        item.labels[judgement.criterion_id] = answer
    return Dataset(list(by_conversation.values()), 0, "stored reviews")
