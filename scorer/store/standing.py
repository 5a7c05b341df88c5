"""The answer that counts for a judgement: a reviewer's standing decision where there is one, else the AI's.

A decision *stands* when it is a human event of the judgement (``source`` other than ``ai``) that gives an answer
and is neither superseded (by a newer version of the same annotation) nor a deletion; the newest one counts. The
AI's answer stays in the judgement row and in its history; the dashboard's counts (rollups and exact queries) and
the card's score use the standing answer. The rule is written here once: in SQL (:func:`effective_answer`,
:func:`effective_status`) for the aggregates, in Python (:func:`stands`) for one card, which
:func:`rescore_card` re-scores with its standing answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from scorer.scoring import score_card
from scorer.store.models import JudgementRow, ReviewEventRow, RubricVersionRow, ScoreCardRow
from scorer.types import Judgement, Rubric

__all__ = ["AI_PENDING", "effective_answer", "effective_status", "rescore_card", "rescore_reviewed", "standing",
           "standing_answers", "standing_events", "stands"]

AI_PENDING = "ai_pending_auto_fail"
"""Card payload key: the auto-fail criteria the AI's answers left pending (not sure enough), kept from the first
re-score on, so a reviewer's decision that is later deleted leaves the AI's failing answer pending again."""


def standing(event: Any = ReviewEventRow) -> ColumnElement[bool]:
    """SQL: the review event ``event`` (the table or an alias of it) is a standing decision."""
    return and_(event.source != "ai", event.superseded.is_(False), event.kind != "deleted", event.answer.is_not(None))


def stands(event: ReviewEventRow) -> bool:
    """:func:`standing` for a loaded event."""
    return event.source != "ai" and not event.superseded and event.kind != "deleted" and event.answer is not None


@cache
def _standing_answer(judgement: Any) -> Any:
    """Correlated subquery: the answer of the judgement's newest standing decision, NULL when none (one probe of
    the index on review_events.judgement_id). Built once per process: statements are immutable, and building this
    one (an aliased entity) costs more than running it."""
    event = aliased(ReviewEventRow)
    return (select(event.answer).where(event.judgement_id == judgement.id, standing(event))
            .order_by(event.id.desc()).limit(1).scalar_subquery())


@cache
def effective_answer(judgement: Any = JudgementRow) -> ColumnElement[Any]:
    """SQL: the answer that counts for the outer query's judgement (the standing reviewer answer, else the AI's)."""
    return func.coalesce(_standing_answer(judgement), judgement.answer)


@cache
def effective_status(judgement: Any = JudgementRow) -> ColumnElement[Any]:
    """SQL: ``scored`` when the AI scored the judgement or a reviewer answered it, else the AI's status (a scored
    judgement, nearly all of them, costs no look-up here)."""
    return case((judgement.status == "scored", judgement.status),
                (_standing_answer(judgement).is_not(None), "scored"), else_=judgement.status)


def standing_events(session: Session, judgement_ids: list[int]) -> dict[int, Any]:
    """The standing decision of each of ``judgement_ids`` that has one: rows with ``answer``, ``evidence`` (dicts)
    and ``comment``."""
    out: dict[int, Any] = {}
    for lo in range(0, len(judgement_ids), 500):
        for row in session.execute(_STANDING_EVENTS, {"ids": judgement_ids[lo:lo + 500]}):
            out[row.judgement_id] = row  # oldest first: the newest wins
    return out


def standing_answers(session: Session, judgement_ids: list[int]) -> dict[int, str]:
    """The standing answer of each of ``judgement_ids`` that has one."""
    return {jid: row.answer for jid, row in standing_events(session, judgement_ids).items()}


_STANDING_EVENTS = (select(ReviewEventRow.judgement_id, ReviewEventRow.answer, ReviewEventRow.evidence,
                           ReviewEventRow.comment)
                    .where(ReviewEventRow.judgement_id.in_(bindparam("ids", expanding=True)), standing())
                    .order_by(ReviewEventRow.id))


def rescore_card(session: Session, card: ScoreCardRow, replaced_by: dict[str, Any], *,
                 rubric: Rubric | None = None, answers: dict[int, str] | None = None) -> bool:
    """Recompute ``card``'s score, auto-fail and categories with its judgements' standing reviewer answers (the
    AI's where none); True when the score, auto-fail or provisional state changed, and then the score it had is
    appended to the card's ``score_history`` with when and ``replaced_by`` (e.g. ``{"review": True}`` or
    ``{"dispute_id": 3}``). ``rubric``: the card's rubric version, ``answers``: :func:`standing_answers` of its
    judgements (both read from the store when not given).

    A reviewer's answer is sure: a failing answer of an auto-fail criterion applies it, a passing one lifts it. The
    AI's own answers keep their state: an auto-fail it applied stays applied, one it left pending stays pending."""
    if card.status == "excluded":
        return False
    if rubric is None:
        rubric = Rubric.model_validate(session.get_one(RubricVersionRow, card.rubric_version_id).definition)
    rows = list(card.judgements)
    if answers is None:
        answers = standing_answers(session, [j.id for j in rows])
    judgements = []
    for row in rows:
        stored = Judgement.model_validate(row.payload)
        answer = answers.get(row.id)
        judgements.append(stored if answer is None else stored.model_copy(
            update={"status": "scored", "answer": answer, "reason": None}))
    payload = dict(card.payload)
    pending = list(payload.get(AI_PENDING, payload.get("pending_auto_fail")) or [])
    recomputed = score_card(str(payload.get("conversation_id")), rubric, card.judge, judgements,
                            auto_fail_threshold=lambda cid: 2.0 if cid in pending else 0.0,
                            reviewed={row.criterion_id for row in rows if row.id in answers})
    changed = (recomputed.score, recomputed.auto_failed, recomputed.provisional) != (
        card.score, card.auto_failed, card.provisional)
    fields = {"score", "auto_failed", "auto_failed_by", "provisional", "pending_auto_fail", "categories"}
    payload.update(recomputed.model_dump(mode="json", include=fields))
    payload[AI_PENDING] = pending
    if changed:
        payload["score_history"] = [*payload.get("score_history", []), {
            "score": card.score, "replaced_at": datetime.now(UTC).isoformat(), **replaced_by}]
    if payload != card.payload:
        card.payload = payload
    card.score, card.auto_failed, card.provisional = recomputed.score, recomputed.auto_failed, recomputed.provisional
    return changed


def rescore_reviewed(session: Session, replaced_by: dict[str, Any]) -> int:
    """:func:`rescore_card` every card with a standing reviewer answer (migration 0009: cards reviewed before a
    review re-scored its card); returns how many changed."""
    # a card changes only if a reviewer answered otherwise than the AI, or decided a pending auto-fail (provisional)
    differs = or_(JudgementRow.status != "scored", JudgementRow.answer.is_(None),
                  ReviewEventRow.answer != JudgementRow.answer, ScoreCardRow.provisional.is_(True))
    ids = sorted(set(session.scalars(select(JudgementRow.score_card_id).join(
        ReviewEventRow, ReviewEventRow.judgement_id == JudgementRow.id).join(
        ScoreCardRow, ScoreCardRow.id == JudgementRow.score_card_id).where(standing(), differs))))
    rubrics: dict[int, Rubric] = {}
    changed = 0
    for lo in range(0, len(ids), 500):  # 500 cards, their judgements and standing answers in three queries
        cards = session.scalars(select(ScoreCardRow).where(ScoreCardRow.id.in_(ids[lo:lo + 500]))
                                .options(selectinload(ScoreCardRow.judgements))).all()
        answers = standing_answers(session, [j.id for card in cards for j in card.judgements])
        for card in cards:
            if card.rubric_version_id not in rubrics:
                rubrics[card.rubric_version_id] = Rubric.model_validate(
                    session.get_one(RubricVersionRow, card.rubric_version_id).definition)
            changed += rescore_card(session, card, replaced_by, rubric=rubrics[card.rubric_version_id],
                                    answers=answers)
        session.flush()
        session.expunge_all()
    return changed
