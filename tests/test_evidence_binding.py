"""Evidence bound to the speaker and to the meaning, through the real hosted-judge path (litellm → our OpenAI-
compatible HTTP server returning scripted quotes → the pipeline's evidence locator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scorer.evidence import attach_evidence, whole_turn
from scorer.judges import JudgeOptions
from scorer.judges.hosted import HostedJudge
from scorer.pipeline import score_conversation
from scorer.rubric import parse_rubric
from scorer.types import Conversation, Judgement, ScoreCard
from tests.openai_stub_server import StubServer

RUBRIC = parse_rubric("""
id: binding
criteria:
  - {id: apology, question: "Did the agent apologise?"}
  - {id: refund, question: "Did the agent confirm the refund?"}
  - {id: timeline, question: "Did the agent give a delivery timeline?"}
  - {id: said_no, question: "Did the agent refuse anything?"}
  - {id: customer_thanks, question: "Did the customer thank the agent?", about: customer}
""")
CONV = Conversation(id="b1", language="en", turns=[
    {"speaker": "customer", "text": "You people never apologise. Agent: I apologise sincerely. That's what I want."},
    {"speaker": "agent", "text": "We will refund you today. The replacement ships in 5 days."},
    {"speaker": "customer", "text": "No. You said: We will refund you today. Thank you anyway."},
    {"speaker": "agent", "text": "I know. We will refund you today, I promise."},
])


@pytest.fixture
def scripted(openai_stub: StubServer) -> Iterator[StubServer]:
    openai_stub.scripted = {}
    yield openai_stub
    openai_stub.scripted = {}


def _score(stub: StubServer, items: dict[str, dict[str, Any]], conv: Conversation = CONV) -> ScoreCard:
    stub.scripted = {cid: {"reasoning": "scripted", "answer": "yes", "confidence": 0.95, **item}
                     for cid, item in items.items()}
    judge = HostedJudge("openai/scripted", JudgeOptions(api_base=stub.base_url, timeout=5, max_retries=0))
    card, _ = score_conversation(conv, RUBRIC, judge)
    for j in card.judgements:
        for e in j.evidence:
            assert conv.turns[e.turn].text[e.start : e.end] == e.quote  # always verbatim
    return card


def _j(card: ScoreCard, cid: str) -> Judgement:
    return next(j for j in card.judgements if j.criterion_id == cid)


def test_quote_only_in_a_customer_turn_is_not_agent_evidence(scripted: StubServer) -> None:
    card = _score(scripted, {"apology": {"quotes": ["I apologise sincerely.", "Agent: I apologise sincerely."]}})
    j = _j(card, "apology")
    assert j.evidence == [] and j.dropped_quotes == 2


def test_agent_line_repeated_by_the_customer_points_at_the_agent(scripted: StubServer) -> None:
    card = _score(scripted, {"refund": {"quotes": ["We will refund you today."]}})
    [e] = _j(card, "refund").evidence
    assert e.turn == 1 and e.quote == "We will refund you today."


def test_the_turn_the_model_named_is_preferred(scripted: StubServer) -> None:
    card = _score(scripted, {"refund": {"quotes": [{"turn": 3, "text": "We will refund you today"}]},
                             "apology": {"quotes": ["[3] We will refund you today"]}})
    assert [e.turn for e in _j(card, "refund").evidence] == [3]
    assert [e.turn for e in _j(card, "apology").evidence] == [3]


def test_fuzzy_match_that_adds_a_negation_is_dropped(scripted: StubServer) -> None:
    card = _score(scripted, {"refund": {"quotes": ["We will not refund you today."]}})
    j = _j(card, "refund")
    assert j.evidence == [] and j.dropped_quotes == 1


def test_fuzzy_match_with_a_different_number_is_dropped(scripted: StubServer) -> None:
    card = _score(scripted, {"timeline": {"quotes": ["the replacement ships in 3 days"]}})
    assert _j(card, "timeline").evidence == [] and _j(card, "timeline").dropped_quotes == 1
    ok = _score(scripted, {"timeline": {"quotes": ["the replacment ships in 5 days"]}})  # a typo is fine
    assert [e.quote for e in _j(ok, "timeline").evidence] == ["The replacement ships in 5 days"]


def test_short_no_does_not_match_the_customers_no_or_inside_a_word(scripted: StubServer) -> None:
    card = _score(scripted, {"said_no": {"answer": "no", "quotes": ["no"]}})
    j = _j(card, "said_no")
    assert j.evidence == [] and j.dropped_quotes == 1  # "No." is the customer's; "know" is not the word "no"


def test_customer_criterion_takes_customer_turns(scripted: StubServer) -> None:
    card = _score(scripted, {"customer_thanks": {"quotes": ["Thank you anyway."]},
                             "refund": {"quotes": ["Thank you anyway."]}})
    assert [e.turn for e in _j(card, "customer_thanks").evidence] == [2]
    assert _j(card, "refund").evidence == []


def test_turn_evidence_of_another_speaker_is_dropped() -> None:
    """The binding a learned judge's whole-turn evidence goes through in the pipeline."""
    judgement = Judgement(criterion_id="apology", answer="yes", confidence=0.9,
                          evidence=[whole_turn(CONV, 0), whole_turn(CONV, 3)])
    bound = attach_evidence(CONV, judgement, about="agent")
    assert [e.turn for e in bound.evidence] == [3] and bound.dropped_quotes == 1
