"""The ensemble judge built from fake members: averaging, disagreement routing, unscored members."""

from __future__ import annotations

import pytest

from scorer import JudgeError
from scorer.judges import get_judge
from scorer.pipeline import score_conversation
from scorer.rubric import parse_rubric
from scorer.types import Conversation

RUBRIC = parse_rubric('id: e\ncriteria:\n  - {id: greet, question: "Did the agent greet the customer?"}\n')
CONV = Conversation(id="e1", turns=[{"speaker": "agent", "text": "Hello, I'm Ana. How can I help?"}])


def test_agreeing_members() -> None:
    [j] = get_judge("ensemble:fake:yes+fake:yes").judge(CONV, RUBRIC.criteria)
    assert j.answer == "yes" and j.confidence == pytest.approx(0.9) and j.review_reasons == []
    assert j.judge_id == "ensemble:fake:yes+fake:yes"


def test_disagreement_is_routed_to_review() -> None:
    card, _ = score_conversation(CONV, RUBRIC, get_judge("ensemble:fake:yes+fake:no"))
    [j] = card.judgements
    assert j.probabilities == pytest.approx({"yes": 0.5, "no": 0.5})
    assert "judges_disagree" in j.review_reasons and j.needs_review


def test_unscored_member_is_left_out_and_named() -> None:
    [j] = get_judge("ensemble:fake:yes+fake:unscored").judge(CONV, RUBRIC.criteria)
    assert j.status == "scored" and j.answer == "yes" and "fake:unscored" in j.rationale
    [all_out] = get_judge("ensemble:fake:unscored+fake:unscored").judge(CONV, RUBRIC.criteria)
    assert all_out.status == "unscored" and "every judge" in (all_out.reason or "")


def test_needs_two_members() -> None:
    with pytest.raises(JudgeError, match="at least two"):
        get_judge("ensemble:fake")
