"""Calibration sessions in the database: which conversations, which reviewers, their Label Studio projects, and
every reviewer's answers — kept in tables of their own, apart from the review history, so a calibration answer never
changes an agent's score and never trains or calibrates a judge. Only :func:`record_consensus` (an explicit step)
writes the agreed answers into the review history, with source ``calibration``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scorer._errors import RubricateError
from scorer.store.models import ConversationRow, JudgementRow, ScoreCardRow
from scorer.store.programme_models import CalibrationAnswerRow, CalibrationSessionRow
from scorer.store.queries import scored_cards
from scorer.store.repository import Store
from scorer.store.reviews import record_review
from scorer.types import Review, Rubric

__all__ = ["Answer", "CalibrationSession", "SessionError", "ai_answers", "create_session", "get_session",
           "pick_conversations", "record_consensus", "save_answer", "session_answers", "set_projects"]


class SessionError(RubricateError):
    """A calibration session could not be created or found."""


@dataclass(frozen=True)
class CalibrationSession:
    name: str
    id: int
    rubric_id: str
    rubric_version: str
    judge: str | None
    reviewers: list[str]
    conversation_ids: list[str]
    projects: dict[str, Any]
    consensus: dict[str, Any] | None


@dataclass(frozen=True)
class Answer:
    """One reviewer's answer in a session."""

    reviewer: str
    conversation_id: str
    criterion_id: str
    answer: str
    comment: str | None


def _out(row: CalibrationSessionRow) -> CalibrationSession:
    return CalibrationSession(row.name, row.id, row.rubric_id, row.rubric_version, row.judge, list(row.reviewers),
                              list(row.conversation_ids), dict(row.projects), row.consensus)


def _cards(store: Store, rubric: Rubric, judge: str | None) -> dict[str, int]:
    """Newest scored card id per conversation of the rubric version."""
    query = scored_cards(rubric.id, rubric.version, judge, ScoreCardRow.id, ConversationRow.external_id)
    with store.session() as s:
        return {external_id: card_id for card_id, external_id in s.execute(query)}


def pick_conversations(store: Store, rubric: Rubric, n: int, *, seed: int = 0, judge: str | None = None) -> list[str]:
    """``n`` scored conversations of the rubric version, drawn with ``seed``."""
    ids = sorted(_cards(store, rubric, judge))
    if len(ids) < n:
        raise SessionError(f"only {len(ids)} scored conversation(s) for {rubric.id}@{rubric.version}; a session of "
                           f"{n} needs more: score some first, or ask for fewer with --conversations")
    return sorted(random.Random(seed).sample(ids, n))


def create_session(store: Store, name: str, rubric: Rubric, conversation_ids: list[str], reviewers: list[str],
                   judge: str | None) -> CalibrationSession:
    if len(set(reviewers)) < 2:
        raise SessionError("a calibration session needs at least two distinct reviewers (--reviewers ana,bogdan)")
    try:
        with store.session() as s:
            row = CalibrationSessionRow(name=name, rubric_id=rubric.id, rubric_version=rubric.version, judge=judge,
                                        reviewers=reviewers, conversation_ids=conversation_ids, projects={})
            s.add(row)
            s.flush()
            return _out(row)
    except IntegrityError as exc:
        raise SessionError(f"a calibration session named {name!r} exists; choose another --name") from exc


def set_projects(store: Store, session_id: int, projects: dict[str, Any]) -> None:
    with store.session() as s:
        s.get_one(CalibrationSessionRow, session_id).projects = projects


def get_session(store: Store, name: str) -> CalibrationSession:
    with store.session() as s:
        row = s.scalar(select(CalibrationSessionRow).where(CalibrationSessionRow.name == name))
        if row is None:
            names = s.scalars(select(CalibrationSessionRow.name).order_by(CalibrationSessionRow.id))
            known = ", ".join(names) or "none"
            raise SessionError(f"no calibration session {name!r} (known: {known}); start one with "
                               "`rubricate calibration start`")
        return _out(row)


def save_answer(store: Store, session_id: int, answer: Answer, external_id: str) -> bool:
    """Store or update one answer; True when it is new or changed."""
    with store.session() as s:
        row = s.scalar(select(CalibrationAnswerRow).where(
            CalibrationAnswerRow.session_id == session_id, CalibrationAnswerRow.reviewer == answer.reviewer,
            CalibrationAnswerRow.conversation_id == answer.conversation_id,
            CalibrationAnswerRow.criterion_id == answer.criterion_id))
        if row is None:
            s.add(CalibrationAnswerRow(session_id=session_id, reviewer=answer.reviewer,
                                       conversation_id=answer.conversation_id, criterion_id=answer.criterion_id,
                                       answer=answer.answer, comment=answer.comment, external_id=external_id))
            return True
        if (row.answer, row.comment, row.external_id) == (answer.answer, answer.comment, external_id):
            return False
        row.answer, row.comment, row.external_id = answer.answer, answer.comment, external_id
        return True


def session_answers(store: Store, session_id: int) -> list[Answer]:
    with store.session() as s:
        return [Answer(r.reviewer, r.conversation_id, r.criterion_id, r.answer, r.comment) for r in s.scalars(
            select(CalibrationAnswerRow).where(CalibrationAnswerRow.session_id == session_id)
            .order_by(CalibrationAnswerRow.id))]


def ai_answers(store: Store, session: CalibrationSession, rubric: Rubric) -> dict[tuple[str, str], str | None]:
    """The AI's answer per (conversation, criterion) from the newest card of each session conversation."""
    cards = _cards(store, rubric, session.judge)
    out: dict[tuple[str, str], str | None] = {}
    with store.session() as s:
        for cid in session.conversation_ids:
            if cid in cards:
                for j in s.scalars(select(JudgementRow).where(JudgementRow.score_card_id == cards[cid])):
                    out[(cid, j.criterion_id)] = j.answer
    return out


def record_consensus(store: Store, session: CalibrationSession, rubric: Rubric,
                     consensus: dict[tuple[str, str], str]) -> int:
    """Write agreed answers into the review history (source ``calibration``) — the one way calibration answers
    may reach training and judge calibration. Idempotent per session; returns how many were written."""
    cards = _cards(store, rubric, session.judge)
    written = 0
    with store.session() as s:
        judgements = {(cid, j.criterion_id): (j.id, j.answer) for cid in session.conversation_ids if cid in cards
                      for j in s.scalars(select(JudgementRow).where(JudgementRow.score_card_id == cards[cid]))}
        s.get_one(CalibrationSessionRow, session.id).consensus = {f"{c}|{k}": v for (c, k), v in consensus.items()}
    for (cid, criterion_id), answer in sorted(consensus.items()):
        if (cid, criterion_id) not in judgements:
            continue
        judgement_id, ai = judgements[(cid, criterion_id)]
        review = Review(conversation_id=cid, criterion_id=criterion_id, rubric_version=rubric.version,
                        kind="confirmed" if answer == ai else "corrected", answer=answer, source="calibration",
                        reviewer=f"consensus:{session.name}", external_id=f"session:{session.id}")
        written += record_review(store, judgement_id, review, external_version="consensus")
    return written
