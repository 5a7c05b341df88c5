"""Weighted scores, auto-fail, category sub-scores, N/A exclusion, and review routing with reasons."""

from __future__ import annotations

import pytest

from scorer.routing import RoutingPolicy, route
from scorer.rubric import parse_rubric
from scorer.scoring import score_card
from scorer.types import Evidence, Judgement

RUBRIC = parse_rubric("""
id: s
criteria:
  - {id: greet, category: opening, question: "Did the agent greet?", weight: 1}
  - {id: solve, category: resolution, question: "Did the agent offer a solution?", scale: yes_no_na, weight: 2}
  - {id: blame, category: conduct, question: "Did the agent keep from blaming the customer?", auto_fail: true}
  - {id: clear, category: resolution, question: "How clear were the next steps?",
     scale: {levels: [needs_improvement, good, exceptional]}, weight: 2}
""")


def _j(cid: str, answer: str | None, **kw: object) -> Judgement:
    if answer is None:
        return Judgement.unscored(cid, "model timeout")
    return Judgement(criterion_id=cid, answer=answer, confidence=kw.pop("confidence", 0.95), **kw)  # type: ignore[arg-type]


def test_weighted_score_and_categories() -> None:
    card = score_card("c", RUBRIC, "fake", [_j("greet", "yes"), _j("solve", "no"), _j("blame", "yes"),
                                            _j("clear", "good")])
    # earned: greet 1 + solve 0 + blame 1 + clear 0.5*2 = 3 of 6
    assert card.score == 50.0
    assert not card.auto_failed
    assert card.categories["resolution"].score == pytest.approx(25.0)  # 1 of 4
    assert card.categories["opening"].score == 100.0


def test_na_and_unscored_are_excluded() -> None:
    card = score_card("c", RUBRIC, "fake", [_j("greet", "yes"), _j("solve", "na"), _j("blame", None),
                                            _j("clear", "exceptional")])
    assert card.score == 100.0  # only greet (1) and clear (2) count
    assert card.categories["conduct"].score is None


def test_auto_fail_sets_score_to_zero_but_keeps_categories() -> None:
    card = score_card("c", RUBRIC, "fake", [_j("greet", "yes"), _j("solve", "yes"), _j("blame", "no"),
                                            _j("clear", "exceptional")])
    assert card.auto_failed and card.auto_failed_by == ["blame"] and card.score == 0.0
    assert card.categories["resolution"].score == 100.0


def test_nothing_applicable_gives_no_score() -> None:
    card = score_card("c", RUBRIC, "fake", [_j(c.id, None) for c in RUBRIC.criteria])
    assert card.score is None


def _route(j: Judgement, cid: str, policy: RoutingPolicy | None = None) -> Judgement:
    return route(j, RUBRIC.criterion(cid), policy or RoutingPolicy(audit_rate=0), conversation_id="c",
                 rubric_version=RUBRIC.version)


def test_routing_reasons() -> None:
    ev = [Evidence(turn=0, start=0, end=2, quote="hi")]
    assert _route(_j("greet", "yes", evidence=ev), "greet").review_reasons == []
    assert _route(_j("greet", "yes"), "greet").review_reasons == ["no_evidence"]
    assert _route(_j("greet", "yes", evidence=ev, confidence=0.6), "greet").review_reasons == ["low_confidence"]
    assert _route(_j("greet", "no"), "greet").needs_review is False  # a failing answer needs no quote
    assert _route(_j("blame", "no"), "blame").review_reasons == ["auto_fail"]
    assert _route(_j("greet", None), "greet").review_reasons == ["unscored"]
    kept = _route(_j("greet", "no", review_reasons=["judges_disagree"]), "greet")
    assert kept.review_reasons == ["judges_disagree"] and kept.needs_review


def test_per_criterion_threshold() -> None:
    policy = RoutingPolicy(audit_rate=0, thresholds={"greet": 0.99})
    assert _route(_j("greet", "no", confidence=0.95), "greet", policy).review_reasons == ["low_confidence"]


def test_audit_sample_is_seeded_and_near_its_rate() -> None:
    policy = RoutingPolicy(audit_rate=0.05, audit_seed=7)
    draws = [policy.in_audit_sample(f"c{i}", "greet", "v") for i in range(4000)]
    assert draws == [policy.in_audit_sample(f"c{i}", "greet", "v") for i in range(4000)]
    assert 0.035 < sum(draws) / len(draws) < 0.065
    other = RoutingPolicy(audit_rate=0.05, audit_seed=8)
    assert draws != [other.in_audit_sample(f"c{i}", "greet", "v") for i in range(4000)]
