"""A small, varied programme for the dashboard tests: agents in two teams over five weeks, four languages, three
channels, scored with the hash-based fake judge; one conversation re-scored by a second judge (the newest card
counts), one excluded, some judgements routed and reviewed (confirmed or corrected)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.routing import RoutingPolicy
from scorer.rubric import load_rubric
from scorer.store import Store
from scorer.store.models import JudgementRow, ReviewQueueRow
from scorer.store.reviews import enqueue_routed, record_review
from scorer.types import Conversation, Review, Rubric, ScoreCard

__all__ = ["AGENTS", "RUBRIC", "START", "conversation", "seed"]

ROOT = Path(__file__).resolve().parents[1]
RUBRIC = ROOT / "examples" / "rubrics" / "support-core.yaml"
START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # a Monday
AGENTS = [("A-1", "Ana Popescu", "Billing"), ("A-2", "Boris Ivanov", "Billing"), ("A-3", "Chen Wei", "Tech"),
          ("A-4", "Dana Smith", "Tech"), ("A-17", "Elena Georgieva", "Tech")]
TEXTS = {
    "en": ("My invoice is wrong, I was charged twice.", "Hello, this is {name} from Parcelly. I am sorry about the "
           "double charge. I have refunded it today; you will see it within 3 days."),
    "zh": ("我的订单还没有到。", "您好，我是{name}。很抱歉您的包裹延误了。我已经为您重新发货，明天送达。"),
    "ro": ("Factura mea este greșită.", "Bună ziua, sunt {name} de la Parcelly. Îmi pare rău. Am corectat factura "
           "astăzi."),
    "bg": ("Интернетът ми не работи от вчера.", "Здравейте, аз съм {name} от Northwind. Съжалявам за "
           "неудобството. Изпратих техник за утре сутринта."),
}


def conversation(i: int) -> Conversation:
    agent_id, name, team = AGENTS[i % len(AGENTS)]
    language = ["en", "zh", "ro", "bg"][i % 4]
    customer, agent = TEXTS[language]
    unassigned = i % 13 == 12
    return Conversation.model_validate({
        "id": f"conv-{i:03d}", "channel": ["chat", "email", "call"][i % 3], "language": language,
        "agent_id": None if unassigned else agent_id, "agent_name": None if unassigned else name,
        "team": None if unassigned else team, "started_at": (START + timedelta(hours=19 * i)).isoformat(),
        "csat": (i % 5) + 1 if i % 2 else None, "tags": ["vip"] if i % 7 == 0 else [],
        "turns": [{"speaker": "customer", "text": f"{customer} (#{i})"},
                  {"speaker": "agent", "text": agent.format(name=name) + f" Ref {i}."},
                  {"speaker": "customer", "text": "OK." if i % 3 else "Thanks!"}]})


def seed(store: Store, n: int = 48) -> Rubric:
    """Store ``n`` scored conversations (and the extras described above); returns the rubric."""
    rubric = load_rubric(RUBRIC)
    policy = RoutingPolicy(threshold=0.8, audit_rate=0.0)
    for i in range(n):
        score_conversation(conversation(i), rubric, FakeJudge(), store=store, policy=policy)
    score_conversation(conversation(1), rubric, FakeJudge("yes"), store=store, policy=policy)  # newest card wins
    excluded = conversation(n)
    store.save_score_card(excluded, rubric, ScoreCard(
        conversation_id=excluded.id, rubric_id=rubric.id, rubric_version=rubric.version, judge="eligibility",
        score=None, status="excluded", excluded_reason="too_short", judgements=[]))
    enqueue_routed(store, rubric.id, rubric.version)
    with store.session() as s:
        routed = s.execute(ReviewQueueRow.__table__.select().order_by(ReviewQueueRow.id)).all()
        judgements = {j.id: j for j in s.query(JudgementRow).all()}
    for k, q in enumerate(routed[: len(routed) // 2]):
        j = judgements[q.judgement_id]
        with store.session() as s:
            external = s.get(JudgementRow, j.id).score_card.payload["conversation_id"]  # type: ignore[union-attr]
        answers = rubric.criterion(j.criterion_id).answers
        corrected = k % 3 == 0
        answer = next(a for a in answers if a != j.answer) if corrected else j.answer
        record_review(store, j.id, Review(
            conversation_id=external, criterion_id=j.criterion_id, rubric_version=rubric.version,
            kind="corrected" if corrected else "confirmed", answer=answer, reviewer=f"rev{k % 2}",
            source="label_studio", external_id=str(k)), external_version="1")
    return rubric
