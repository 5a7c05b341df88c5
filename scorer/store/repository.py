"""Repository functions over the tables: what the pipeline, the review loop, the harness and the API call.

Writes are idempotent where the product promises it: a conversation is keyed by its external id, a rubric by
(id, version), a score card by (conversation, rubric version, judge, transcript hash), a review event by
(judgement, source, external id, external version).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from scorer._errors import StorageError
from scorer.store.engine import current_revision, head_revision, make_engine, make_sessionmaker, upgrade
from scorer.store.models import (
    ConversationRow,
    JudgementRow,
    ReviewEventRow,
    RubricVersionRow,
    ScoreCardRow,
    SyncStateRow,
)
from scorer.store.standing import rescore_card
from scorer.types import Conversation, Evidence, Judgement, Review, Rubric, ScoreCard

__all__ = ["Store"]


class Store:
    """The database behind rubricate. ``Store(url)`` opens it and, by default, upgrades its schema."""

    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        self.url = url
        self.memo: dict[str, Any] = {}
        """This process's short-lived caches over the database, by owner (e.g. ``scorer.store.keys``)."""
        self.engine = make_engine(url)
        self._sessions = make_sessionmaker(self.engine)
        current = current_revision(self.engine)
        if current != head_revision():
            if not auto_migrate:
                raise StorageError(
                    f"database schema is at {current or 'nothing'}, expected {head_revision()}: "
                    "run `rubricate db upgrade`"
                )
            upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error; connection errors become StorageError."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise StorageError(f"database error: {exc.orig}; nothing from this operation was saved") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core connection in a transaction, committed on success and rolled back on error (connection errors
        become StorageError), for hot paths written as Core statements. ORM session hooks do not run here: a
        write that changes what the rollups count marks its groups itself (``scorer.store.rollup.mark``)."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"database error: {exc.orig}; nothing from this operation was saved") from exc

    def close(self) -> None:
        self.engine.dispose()

    # Rubrics ----------------------------------------------------------------------------------------------
    def save_rubric(self, rubric: Rubric, session: Session | None = None) -> int:
        """Store the rubric version if new; returns its row id."""
        with self._maybe(session) as s:
            row = s.scalar(
                select(RubricVersionRow).where(
                    RubricVersionRow.rubric_id == rubric.id, RubricVersionRow.version == rubric.version
                )
            )
            if row is None:
                row = RubricVersionRow(
                    rubric_id=rubric.id, version=rubric.version, name=rubric.name,
                    definition=rubric.model_dump(mode="json"),
                )
                s.add(row)
                s.flush()
            return row.id

    def get_rubric(self, rubric_id: str, version: str | None = None) -> Rubric | None:
        """The stored rubric version (the newest stored when ``version`` is None)."""
        with self.session() as s:
            query = select(RubricVersionRow).where(RubricVersionRow.rubric_id == rubric_id)
            if version:
                query = query.where(RubricVersionRow.version == version)
            row = s.scalar(query.order_by(RubricVersionRow.id.desc()).limit(1))
            return Rubric.model_validate(row.definition) if row else None

    # Conversations ----------------------------------------------------------------------------------------
    def save_conversation(self, conversation: Conversation, session: Session | None = None) -> int:
        """Insert or update (when its transcript changed) a conversation keyed by its external id."""
        with self._maybe(session) as s:
            row = s.scalar(select(ConversationRow).where(ConversationRow.external_id == conversation.id))
            payload = conversation.model_dump(mode="json")
            digest = conversation.content_hash()
            if row is None:
                row = ConversationRow(external_id=conversation.id, content_hash=digest, payload=payload)
                row.set_fields(conversation)
                s.add(row)
            elif row.content_hash != digest or row.payload != payload:
                row.content_hash, row.payload = digest, payload
                row.set_fields(conversation)
            s.flush()
            return row.id

    def get_conversation(self, external_id: str) -> Conversation | None:
        with self.session() as s:
            row = s.scalar(select(ConversationRow).where(ConversationRow.external_id == external_id))
            return Conversation.model_validate(row.payload) if row else None

    # Score cards ------------------------------------------------------------------------------------------
    def find_score_card(self, conversation: Conversation, rubric: Rubric, judge: str) -> ScoreCard | None:
        """The stored card for this transcript, rubric version and judge, if it was scored before."""
        with self.session() as s:
            card_id = _card_id(s, conversation, rubric, judge)
            return _card_from_row(s.get_one(ScoreCardRow, card_id)) if card_id is not None else None

    def save_score_card(self, conversation: Conversation, rubric: Rubric, card: ScoreCard) -> int:
        """Store the card, its judgements and an ``ai`` history event for each; idempotent."""
        try:
            with self.session() as s:
                existing = _card_id(s, conversation, rubric, card.judge)
                if existing is not None:
                    return existing
                row = ScoreCardRow(
                    conversation_id=self.save_conversation(conversation, s),
                    rubric_version_id=self.save_rubric(rubric, s), judge=card.judge,
                    content_hash=conversation.content_hash(), score=card.score, auto_failed=card.auto_failed,
                    status=card.status, provisional=card.provisional,
                    payload=card.model_dump(mode="json", exclude={"judgements"}),
                )
                for position, judgement in enumerate(card.judgements):
                    row.judgements.append(_judgement_row(judgement, position))
                s.add(row)
                s.flush()
                for judgement_row, judgement in zip(row.judgements, card.judgements, strict=True):
                    s.add(ReviewEventRow(
                        judgement_id=judgement_row.id, conversation_id=conversation.id,
                        criterion_id=judgement.criterion_id, rubric_version=rubric.version, kind="ai",
                        answer=judgement.answer, evidence=[e.model_dump() for e in judgement.evidence],
                        source="ai", external_id=card.judge,
                    ))
                return row.id
        except IntegrityError:  # a concurrent writer stored the same card first
            with self.session() as s:
                existing = _card_id(s, conversation, rubric, card.judge)
            if existing is None:
                raise
            return existing

    def replace_unscored(self, conversation: Conversation, rubric: Rubric, card: ScoreCard) -> int:
        """Update a stored card after its unscored judgements were retried; other judgements stay untouched.

        Only rows that were unscored are rewritten (their history gains a new ``ai`` event), so reviews attached
        to scored judgements are never affected; the score counts reviewers' standing answers, as after a review.
        """
        with self.session() as s:
            card_id = _card_id(s, conversation, rubric, card.judge)
            if card_id is None:
                raise StorageError(f"no stored card for {conversation.id!r} to update")
            row = s.get_one(ScoreCardRow, card_id)
            new = {j.criterion_id: j for j in card.judgements}
            for judgement_row in row.judgements:
                fresh = new.get(judgement_row.criterion_id)
                if judgement_row.status != "unscored" or fresh is None or fresh.status != "scored":
                    continue
                updated = _judgement_row(fresh, judgement_row.position)
                for column in ("status", "answer", "needs_review", "confidence", "payload"):
                    setattr(judgement_row, column, getattr(updated, column))
                s.add(ReviewEventRow(
                    judgement_id=judgement_row.id, conversation_id=conversation.id,
                    criterion_id=fresh.criterion_id, rubric_version=rubric.version, kind="ai",
                    answer=fresh.answer, evidence=[e.model_dump() for e in fresh.evidence],
                    source="ai", external_id=card.judge, external_version="retry",
                ))
            row.score, row.auto_failed, row.provisional = card.score, card.auto_failed, card.provisional
            history = row.payload.get("score_history")
            row.payload = card.model_dump(mode="json", exclude={"judgements"}) | (
                {"score_history": history} if history else {})
            s.flush()
            rescore_card(s, row, {"review": True}, rubric=rubric)  # reviewers' standing answers still count
            return card_id

    def delete_score_card(self, conversation: Conversation, rubric: Rubric, judge: str) -> bool:
        """Remove a stored ``excluded`` card (it has no judgements or history) so the conversation can be scored."""
        with self.session() as s:
            card_id = _card_id(s, conversation, rubric, judge)
            row = s.get(ScoreCardRow, card_id) if card_id is not None else None
            if row is None or row.status != "excluded":
                return False
            s.delete(row)
            return True

    # History ----------------------------------------------------------------------------------------------
    def history(self, conversation_id: str, criterion_id: str, rubric_version: str | None = None) -> list[Review]:
        """Every event of a judgement's history, oldest first, superseded ones included."""
        with self.session() as s:
            query = select(ReviewEventRow).where(
                ReviewEventRow.conversation_id == conversation_id, ReviewEventRow.criterion_id == criterion_id
            )
            if rubric_version:
                query = query.where(ReviewEventRow.rubric_version == rubric_version)
            return [_review_from_row(r) for r in s.scalars(query.order_by(ReviewEventRow.id))]

    # Sync watermarks --------------------------------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        with self.session() as s:
            row = s.get(SyncStateRow, key)
            return row.value if row else None

    def set_state(self, key: str, value: str) -> None:
        with self.session() as s:
            row = s.get(SyncStateRow, key)
            if row is None:
                s.add(SyncStateRow(key=key, value=value))
            else:
                row.value = value

    @contextmanager
    def _maybe(self, session: Session | None) -> Iterator[Session]:
        if session is not None:
            yield session
        else:
            with self.session() as s:
                yield s


def _card_id(s: Session, conversation: Conversation, rubric: Rubric, judge: str) -> int | None:
    return s.scalar(
        select(ScoreCardRow.id)
        .join(ConversationRow, ScoreCardRow.conversation_id == ConversationRow.id)
        .join(RubricVersionRow, ScoreCardRow.rubric_version_id == RubricVersionRow.id)
        .where(
            ConversationRow.external_id == conversation.id,
            RubricVersionRow.rubric_id == rubric.id,
            RubricVersionRow.version == rubric.version,
            ScoreCardRow.judge == judge,
            ScoreCardRow.content_hash == conversation.content_hash(),
        )
    )


def _judgement_row(judgement: Judgement, position: int) -> JudgementRow:
    return JudgementRow(
        position=position, criterion_id=judgement.criterion_id, status=judgement.status,
        answer=judgement.answer, needs_review=judgement.needs_review, confidence=judgement.confidence,
        payload=judgement.model_dump(mode="json"),
    )


def _card_from_row(row: ScoreCardRow) -> ScoreCard:
    data: dict[str, Any] = dict(row.payload)
    data["judgements"] = [Judgement.model_validate(j.payload) for j in row.judgements]
    return ScoreCard.model_validate(data)


def _review_from_row(row: ReviewEventRow) -> Review:
    return Review(
        conversation_id=row.conversation_id, criterion_id=row.criterion_id, rubric_version=row.rubric_version,
        kind=row.kind,  # type: ignore[arg-type]
        answer=row.answer, evidence=[Evidence.model_validate(e) for e in row.evidence], comment=row.comment,
        reviewer=row.reviewer, source=row.source, external_id=row.external_id or None, created_at=row.created_at,
    )
