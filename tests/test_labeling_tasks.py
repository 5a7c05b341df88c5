"""Pure mapping to and from Label Studio: offsets, predictions validated against the config, reviews back."""

from __future__ import annotations

import pytest
from label_studio_sdk.label_interface import LabelInterface

from labeling.config import FLAGS, has_flags, label_config, render_for_review
from labeling.tasks import annotation_flags, annotation_to_reviews, build_task, evidence_from_span, evidence_to_span
from scorer.evidence import locate_quote
from scorer.rubric import parse_rubric
from scorer.types import Conversation, Judgement

RUBRIC = parse_rubric("""
id: lt
criteria:
  - {id: greeting, question: "Did the agent greet the customer?"}
  - {id: solution.v2, question: "Did the agent offer a solution?", scale: yes_no_na}
  - {id: clarity, question: "How clear?", scale: {levels: [needs_improvement, good, exceptional]}}
""")
CONV = Conversation(id="c1", language="zh", turns=[
    {"speaker": "customer", "text": "我的银行卡被冻结了。"},
    {"speaker": "agent", "text": "您好，我是小李。我已经为您解冻，五分钟内生效。"},
    {"speaker": "agent", "text": "Здравейте! Ще ви се обадим до петък."}])


def _judgement(cid: str, answer: str, quote: str | None = None) -> Judgement:
    evidence = [e for e in [locate_quote(CONV, quote)] if e] if quote else []
    return Judgement(criterion_id=cid, answer=answer, confidence=0.6, confidence_kind="logprob",
                     evidence=evidence, rationale="because")


AI = {"greeting": _judgement("greeting", "yes", "您好，我是小李"),
      "solution.v2": _judgement("solution.v2", "yes", "Ще ви се обадим до петък")}


def test_offsets_round_trip_in_any_script() -> None:
    text, offsets = render_for_review(CONV)
    assert text.splitlines()[1].startswith("Agent: 您好")
    for judgement in AI.values():
        for e in judgement.evidence:
            start, end = evidence_to_span(offsets, e)
            assert text[start:end] == e.quote
            assert evidence_from_span(CONV, offsets, start, end) == e
    assert evidence_from_span(CONV, offsets, 0, offsets[1] + 3) is None  # crosses a turn boundary


def test_task_carries_questions_ai_notes_and_valid_predictions() -> None:
    task = build_task(CONV, RUBRIC, [(AI["greeting"], ["low_confidence"]), (AI["solution.v2"], ["audit"])],
                      model_version="m1")
    data = task["data"]
    assert data["q__greeting"].startswith("▶ Did the agent greet")
    assert "routed because: low_confidence" in data["ai__greeting"] and "confidence 0.60" in data["ai__greeting"]
    assert "not routed" in data["q__clarity"] and data["ai__clarity"] == ""
    [prediction] = task["predictions"]
    interface = LabelInterface(label_config(RUBRIC))
    assert interface.validate_prediction(prediction)
    spans = [r for r in prediction["result"] if r["type"] == "labels"]
    assert {tuple(r["value"]["labels"]) for r in spans} == {("greeting",), ("solution.v2",)}
    for r in spans:
        assert data["transcript"][r["value"]["start"] : r["value"]["end"]] == r["value"]["text"]


def _annotation(result: list[dict[str, object]]) -> dict[str, object]:
    return {"id": 77, "updated_at": "2026-11-23T10:00:00Z", "result": result}


def test_confirm_correct_and_edit_evidence() -> None:
    text, offsets = render_for_review(CONV)
    kept = AI["solution.v2"].evidence[0]
    start, end = evidence_to_span(offsets, kept)
    new_start = text.index("五分钟内生效")
    result = [
        {"from_name": "answer__greeting", "to_name": "transcript", "type": "choices", "value": {"choices": ["no"]}},
        {"from_name": "comment__greeting", "to_name": "transcript", "type": "textarea",
         "value": {"text": ["only a name"]}},
        {"from_name": "answer__solution_v2", "to_name": "transcript", "type": "choices",
         "value": {"choices": ["yes"]}},
        {"from_name": "evidence", "to_name": "transcript", "type": "labels",
         "value": {"start": new_start, "end": new_start + 6, "labels": ["solution.v2"]}},
    ]
    reviews, rejected = annotation_to_reviews(_annotation(result), CONV, RUBRIC, AI, reviewer="7")
    assert rejected == []
    by = {r.criterion_id: r for r in reviews}
    assert by["greeting"].kind == "corrected" and by["greeting"].answer == "no"
    assert by["greeting"].comment == "only a name" and by["greeting"].reviewer == "7"
    assert by["solution.v2"].kind == "evidence_edited"
    [edited] = by["solution.v2"].evidence
    assert CONV.turns[edited.turn].text[edited.start : edited.end] == edited.quote == "五分钟内生效"
    same = [{"from_name": "answer__solution_v2", "to_name": "transcript", "type": "choices",
             "value": {"choices": ["yes"]}},
            {"from_name": "evidence", "to_name": "transcript", "type": "labels",
             "value": {"start": start, "end": end, "labels": ["solution.v2"]}}]
    [confirmed], _ = annotation_to_reviews(_annotation(same), CONV, RUBRIC, AI, reviewer=None)
    assert confirmed.kind == "confirmed" and confirmed.external_id == "77"


@pytest.mark.parametrize(("item", "reason"), [
    ({"from_name": "answer__greeting", "value": {"choices": ["maybe"]}}, "not one of"),
    ({"from_name": "evidence", "value": {"start": 0, "end": 40, "labels": ["greeting"]}}, "not inside one turn"),
    ({"from_name": "evidence", "value": {"start": 8, "end": 10, "labels": ["nope"]}}, "names no single"),
    ({"from_name": "sentiment", "value": {"choices": ["x"]}}, "unknown control"),
    ({"from_name": "answer__clarity", "value": {"choices": ["good"]}}, "not routed"),
])
def test_bad_results_are_rejected_with_a_reason_and_the_rest_kept(item: dict[str, object], reason: str) -> None:
    good = {"from_name": "answer__greeting", "value": {"choices": ["yes"]}}
    reviews, rejected = annotation_to_reviews(_annotation([good, item]), CONV, RUBRIC, AI, reviewer=None)
    assert [r.criterion_id for r in reviews] == ["greeting"]
    assert len(rejected) == 1 and reason in rejected[0].reason


def test_the_spam_flag_is_a_conversation_label_not_a_criterion_answer() -> None:
    config = label_config(RUBRIC)
    assert has_flags(config) and LabelInterface(config).get_control(FLAGS).labels == ["spam"]
    answer = {"from_name": "answer__greeting", "to_name": "transcript", "type": "choices",
              "value": {"choices": ["yes"]}}
    flagged = {"id": 9, "result": [answer, {"from_name": FLAGS, "to_name": "transcript", "type": "choices",
                                            "value": {"choices": ["spam"]}}]}
    reviews, rejected = annotation_to_reviews(flagged, CONV, RUBRIC, AI, reviewer="3")
    assert [r.criterion_id for r in reviews] == ["greeting"] and not rejected
    assert annotation_flags(flagged) == ({"spam": True}, [])
    assert annotation_flags({"id": 10, "result": [answer]}) == ({"spam": False}, [])  # submitted unticked: not spam
    odd = {"id": 11, "result": [{"from_name": FLAGS, "value": {"choices": ["spam", "ham"]}}]}
    flags, rejected = annotation_flags(odd)
    assert flags == {"spam": True}
    assert [r.reason for r in rejected] == ["conversation flag 'ham' is not one of ['spam']"]
