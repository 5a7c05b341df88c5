"""The programme's storage on SQLite and PostgreSQL: a dispute opened, decided by a review event and resolved with
the score recomputed; alert deliveries with attempts and backoff; sampling candidates skipping reviewed ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.routing import RoutingPolicy
from scorer.rubric import parse_rubric
from scorer.store import Store
from scorer.store.alerts import due_deliveries, enqueue_alert, list_deliveries, record_attempt, requeue_failed
from scorer.store.disputes import DisputeError, list_disputes, open_dispute, resolve_disputes
from scorer.store.models import JudgementRow
from scorer.store.reviews import record_review
from scorer.store.sampling import candidates
from scorer.types import Conversation, Review
from tests._pg import store_on

RUBRIC = parse_rubric("""
id: ps
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
  - {id: solve, question: "Did the agent offer a solution?", weight: 3}
""")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from store_on(request.param, tmp_path)


def _conv(cid: str) -> Conversation:
    return Conversation(id=cid, agent_id="A-1", turns=[
        {"speaker": "customer", "text": "My parcel is late."},
        {"speaker": "agent", "text": "Hello, I am Ana; a new parcel leaves today by courier."}])


def test_dispute_lifecycle_in_the_store(store: Store) -> None:
    card, _ = score_conversation(_conv("c1"), RUBRIC, FakeJudge("no"), store=store,
                                 policy=RoutingPolicy(threshold=0.0, audit_rate=0.0))
    assert card.score == 0.0
    dispute = open_dispute(store, "c1", "solve", "I sent a new parcel.", agent_id="A-1")
    with pytest.raises(DisputeError) as twice:
        open_dispute(store, "c1", "solve", "again", agent_id="A-1")
    assert twice.value.status == 409
    with pytest.raises(DisputeError) as other:
        open_dispute(store, "c1", "solve", "not mine", agent_id="B-2")
    assert other.value.status == 404
    assert resolve_disputes(store, RUBRIC) == []  # nobody decided yet
    with store.session() as s:
        judgement_id = s.scalar(select(JudgementRow.id).where(JudgementRow.criterion_id == "solve"))
    assert judgement_id is not None
    record_review(store, judgement_id, Review(conversation_id="c1", criterion_id="solve",
                                              rubric_version=RUBRIC.version, kind="corrected", answer="yes",
                                              reviewer="lead", source="label_studio", external_id="9"),
                  external_version="v1")
    [resolved] = resolve_disputes(store, RUBRIC)
    assert (resolved.id, resolved.status, resolved.score_before, resolved.score_after) == (
        dispute.id, "overturned", 0.0, 75.0)
    assert resolved.created_at.tzinfo is not None
    assert store.find_score_card(_conv("c1"), RUBRIC, "fake:no").score == 75.0  # type: ignore[union-attr]
    assert [d.status for d in list_disputes(store, agent_id="A-1")] == ["overturned"]
    late = datetime.now(UTC) + timedelta(days=30)
    with pytest.raises(DisputeError, match="accepted for 14 days"):
        open_dispute(store, "c1", "greet", "late", agent_id="A-1", now=late)


def test_alert_deliveries_back_off_and_fail_then_retry(store: Store) -> None:
    assert enqueue_alert(store, url="http://127.0.0.1:9/x", event="score_below", conversation_id="c1",
                         payload={"type": "score_below"}, dedupe_key="k1")
    assert not enqueue_alert(store, url="http://127.0.0.1:9/x", event="score_below", conversation_id="c1",
                             payload={"type": "score_below"}, dedupe_key="k1")
    [due] = due_deliveries(store)
    statuses = [record_attempt(store, due.id, status_code=None, error="ConnectError", max_attempts=2, backoff=60,
                               backoff_max=600)]
    assert due_deliveries(store) == []  # backing off
    assert len(due_deliveries(store, now=datetime.now(UTC) + timedelta(seconds=61))) == 1
    statuses.append(record_attempt(store, due.id, status_code=500, error=None, max_attempts=2, backoff=60,
                                   backoff_max=600))
    assert statuses == ["pending", "failed"] and requeue_failed(store) == 1
    [again] = due_deliveries(store)
    assert record_attempt(store, again.id, status_code=204, error=None, max_attempts=2, backoff=60,
                          backoff_max=600) == "delivered"
    [logged] = list_deliveries(store)
    assert [(n, code) for n, code, _, _ in logged.history] == [(1, None), (2, 500), (3, 204)]


def test_sampling_candidates_skip_reviewed(store: Store) -> None:
    for cid in ("s1", "s2"):
        score_conversation(_conv(cid), RUBRIC, FakeJudge("yes"), store=store,
                           policy=RoutingPolicy(threshold=0.0, audit_rate=0.0))
    assert {c.conversation_id for c in candidates(store, RUBRIC)} == {"s1", "s2"}
    with store.session() as s:
        judgement_id = s.scalar(select(JudgementRow.id).order_by(JudgementRow.id).limit(1))
    assert judgement_id is not None
    record_review(store, judgement_id, Review(conversation_id="s1", criterion_id="greet",
                                              rubric_version=RUBRIC.version, kind="confirmed", answer="yes",
                                              source="api"), external_version="1")
    assert {c.conversation_id for c in candidates(store, RUBRIC)} == {"s2"}
