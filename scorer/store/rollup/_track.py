"""Keep the rollups current in the transaction that changes what they count.

:func:`install` hooks the Store's sessions: every flush notes the conversations whose cards, judgements, review
events, queue entries or fields changed (and, for a conversation whose agent or date changes, the (day, agent) it
had before); just before the commit, the (day, agent) groups of those conversations are marked out of date
(:func:`scorer.store.rollup.mark`), atomically with the write, and the next dashboard read recomputes them
(:func:`scorer.store.rollup.settle`). So every write made through the ORM — saving, re-scoring or deleting a card,
a review, a dispute's outcome, a queue state, a re-ingested conversation — reaches the rollups, whatever function
made it. (Recomputing in the writing transaction, as first built, cost each save a re-aggregation of its whole
group: with 2,000 unassigned conversations on one day, 4 workers waited on each other's locks and scored ~210 a
minute instead of ~990.) Bulk Core statements bypass this; :func:`scorer.store.rollup.rebuild` repairs after them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from scorer.store.models import ConversationRow, JudgementRow, ReviewEventRow, ReviewQueueRow, ScoreCardRow
from scorer.store.rollup._build import Key, keys_of, mark

__all__ = ["install"]

_INFO = "rubricate_rollup"
_MOVING = ("agent_id", "started_at", "created_at")
"""Conversation columns that decide its (day, agent) group."""


@dataclass
class _Touched:
    conversations: set[int] = field(default_factory=set)
    cards: set[int] = field(default_factory=set)
    judgements: set[int] = field(default_factory=set)
    keys: set[Key] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.conversations or self.cards or self.judgements or self.keys)


def _touched(session: Session) -> _Touched:
    found = session.info.get(_INFO)
    if found is None:
        found = session.info[_INFO] = _Touched()
    return found


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """A conversation about to move to another agent or day: note the group it leaves (read before the UPDATE)."""
    leaving = [obj.id for obj in (*session.dirty, *session.deleted)
               if isinstance(obj, ConversationRow) and obj.id is not None
               and (obj in session.deleted or any(_changed(obj, name) for name in _MOVING))]
    if leaving:
        _touched(session).keys.update(keys_of(session.connection(), leaving))


def _changed(obj: Any, name: str) -> bool:
    return bool(inspect(obj).attrs[name].history.has_changes())


def _after_flush(session: Session, _context: Any) -> None:
    """Note what this flush wrote (ids are assigned now, deleted objects still readable)."""
    touched = _touched(session)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, ConversationRow):
            touched.conversations.add(obj.id)
        elif isinstance(obj, ScoreCardRow):
            touched.conversations.add(obj.conversation_id)
        elif isinstance(obj, JudgementRow):
            touched.cards.add(obj.score_card_id)
        elif isinstance(obj, ReviewEventRow | ReviewQueueRow):
            touched.judgements.add(obj.judgement_id)


def _before_commit(session: Session) -> None:
    """Mark the groups of everything noted as out of date, in the transaction about to commit."""
    session.flush()
    touched = session.info.pop(_INFO, None)
    if not touched:
        return
    conversations = {c for c in touched.conversations if c is not None}
    cards = {c for c in touched.cards if c is not None}
    judgements = sorted(j for j in touched.judgements if j is not None)
    connection = session.connection()
    for lo in range(0, len(judgements), 500):
        cards.update(connection.scalars(select(JudgementRow.score_card_id).where(
            JudgementRow.id.in_(judgements[lo:lo + 500]))))
    card_ids = sorted(cards)
    for lo in range(0, len(card_ids), 500):
        conversations.update(connection.scalars(select(ScoreCardRow.conversation_id).where(
            ScoreCardRow.id.in_(card_ids[lo:lo + 500]))))
    mark(connection, touched.keys | keys_of(connection, conversations))


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_INFO, None)


def install(sessions: sessionmaker[Session]) -> None:
    """Hook the sessions ``sessions`` makes (called once per Store, not at import)."""
    event.listen(sessions, "before_flush", _before_flush)
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "before_commit", _before_commit)
    event.listen(sessions, "after_rollback", _forget)
