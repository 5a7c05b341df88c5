"""Auto-fail only when sure: from a rule, a human review, or a confidence at/above the criterion's threshold.
Otherwise the card is provisional with the pending auto-fail named, routed with ``auto_fail_pending``, and a
reviewer's decision settles it. Through the real pipeline, store, JSON output, API and Label Studio task."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.tasks import build_task
from scorer.judges.fake import FakeJudge
from scorer.output import card_to_record
from scorer.pipeline import score_conversation
from scorer.routing import RoutingPolicy
from scorer.rubric import parse_rubric
from scorer.scoring import score_card
from scorer.store import Store
from scorer.store.models import JudgementRow
from scorer.store.reviews import record_review
from scorer.types import Conversation, Judgement, Review
from tests._api_fixtures import conversation, make_settings, open_api
from tests._pg import fresh_postgres_url

RUBRIC = parse_rubric("""
id: af
criteria:
  - {id: solve, question: "Did the agent offer a solution?"}
  - {id: no_blame, question: "Did the agent keep from blaming the customer?", auto_fail: true}
  - id: no_forbidden
    question: Did the agent keep from saying forbidden phrases?
    auto_fail: true
    check: {kind: phrases, forbid: ["calm down"]}
""")
CALM = Conversation(id="calm", language="en", turns=[{"speaker": "customer", "text": "It broke again!"},
                                                      {"speaker": "agent", "text": "Calm down, I will fix it."}])
POLITE = Conversation(id="polite", language="en", turns=[{"speaker": "customer", "text": "It broke again!"},
                                                          {"speaker": "agent", "text": "Sorry! I will fix it today."}])


def _j(cid: str, answer: str, confidence: float, judge_id: str = "m") -> Judgement:
    return Judgement(criterion_id=cid, answer=answer, confidence=confidence, judge_id=judge_id)


def test_unsure_failing_answer_makes_the_card_provisional() -> None:
    card = score_card("c", RUBRIC, "m", [_j("solve", "yes", 0.9), _j("no_blame", "no", 0.55),
                                         _j("no_forbidden", "yes", 1.0, "rule")])
    assert not card.auto_failed and card.score == pytest.approx(66.67)
    assert card.provisional and card.pending_auto_fail == ["no_blame"]


def test_sure_by_confidence_by_threshold_and_by_rule() -> None:
    judgements = [_j("solve", "yes", 0.9), _j("no_blame", "no", 0.85), _j("no_forbidden", "yes", 1.0, "rule")]
    sure = score_card("c", RUBRIC, "m", judgements)  # default threshold 0.8
    assert sure.auto_failed and sure.score == 0.0 and not sure.provisional
    calibrated = score_card("c", RUBRIC, "m", judgements,
                            auto_fail_threshold=RoutingPolicy(thresholds={"no_blame": 0.9}).threshold_for)
    assert calibrated.provisional and calibrated.score is not None and calibrated.score > 0
    by_rule = score_card("c", RUBRIC, "m", [_j("solve", "yes", 0.9), _j("no_blame", "yes", 0.6),
                                            _j("no_forbidden", "no", 1.0, "rule")])
    assert by_rule.auto_failed_by == ["no_forbidden"] and by_rule.score == 0.0
    reviewed = score_card("c", RUBRIC, "m", [_j("solve", "yes", 0.9), _j("no_blame", "no", 0.3)],
                          reviewed={"no_blame"})
    assert reviewed.auto_failed and not reviewed.provisional


def test_rule_auto_fail_applies_whatever_the_judge_and_the_judge_is_not_asked() -> None:
    judge = FakeJudge("yes")
    card, _ = score_conversation(CALM, RUBRIC, judge)
    rule = next(j for j in card.judgements if j.criterion_id == "no_forbidden")
    assert rule.judge_id == "rule" and rule.answer == "no" and rule.evidence[0].quote == "Calm down"
    assert card.auto_failed_by == ["no_forbidden"] and card.score == 0.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    urls = [f"sqlite:///{tmp_path / 'af.db'}"] if request.param == "sqlite" else fresh_postgres_url()
    for url in urls:
        s = Store(url)
        yield s
        s.close()


def _pending_card(store: Store) -> tuple[int, dict[str, object]]:
    # fake:no answers "no" at confidence 0.9: under a 0.95 threshold that is not sure enough to zero the score
    policy = RoutingPolicy(threshold=0.95, audit_rate=0)
    card, _ = score_conversation(POLITE, RUBRIC, FakeJudge("no"), store=store, policy=policy)
    blame = next(j for j in card.judgements if j.criterion_id == "no_blame")
    assert "auto_fail_pending" in blame.review_reasons and blame.needs_review
    record = card_to_record(card, RUBRIC)
    assert record["provisional"] is True and record["pending_auto_fail"] == ["no_blame"]
    with store.session() as s:
        row_id = s.query(JudgementRow.id).filter(JudgementRow.criterion_id == "no_blame").scalar()
    return int(row_id), record


def test_reviewer_confirmation_applies_the_pending_auto_fail(store: Store) -> None:
    row_id, record = _pending_card(store)
    assert record["score"] == pytest.approx(33.33)  # solve no, no_blame no, no_forbidden yes (rule)
    review = Review(conversation_id="polite", criterion_id="no_blame", rubric_version=RUBRIC.version,
                    kind="confirmed", answer="no", reviewer="qa", source="api")
    assert record_review(store, row_id, review, external_version="1")
    card = store.find_score_card(POLITE, RUBRIC, "fake:no")
    assert card is not None and card.auto_failed and card.score == 0.0
    assert not card.provisional and card.pending_auto_fail == [] and card.auto_failed_by == ["no_blame"]


def test_reviewer_correction_lifts_the_pending_auto_fail(store: Store) -> None:
    row_id, _ = _pending_card(store)
    review = Review(conversation_id="polite", criterion_id="no_blame", rubric_version=RUBRIC.version,
                    kind="corrected", answer="yes", reviewer="qa", source="api")
    record_review(store, row_id, review, external_version="1")
    card = store.find_score_card(POLITE, RUBRIC, "fake:no")
    assert card is not None and not card.auto_failed and not card.provisional
    assert card.score == pytest.approx(66.67)  # the corrected "yes" now counts


def test_label_studio_task_says_the_auto_fail_is_pending() -> None:
    blame = Judgement(criterion_id="no_blame", answer="no", confidence=0.55, judge_id="m")
    task = build_task(POLITE, RUBRIC, [(blame, ["low_confidence", "auto_fail_pending"])], model_version="m")
    text = " ".join(str(v) for v in task["data"].values())
    assert "PENDING AUTO-FAIL" in text and "provisional" in text


def test_api_scorecard_shows_provisional(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, judge="fake:no", review_threshold=0.95)
    rubric = ("id: svc\ncriteria:\n  - {id: greet, question: \"Did the agent greet the customer?\"}\n"
              "  - {id: no_blame, question: \"Did the agent keep from blaming the customer?\", auto_fail: true}\n")
    with open_api(settings) as api:
        api.add_rubric(rubric)
        job = api.ingest(conversation("p1")).json()
        api.wait_job(job["job_id"])
        card = api.client.get("/v1/conversations/p1/scorecard", headers=api.auth()).json()
    assert card["provisional"] is True and card["pending_auto_fail"] == ["no_blame"]
    assert card["auto_failed"] is False and card["score"] == 0.0  # greet "no" too: 0 earned, but not auto-failed
