"""The rubric lab: static check (en + zh), diff between versions, and re-validation of changed criteria."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.lab import check_rubric, diff_rubrics
from scorer.rubric import load_rubric, parse_rubric
from scorer.store import Store
from scorer.store.calibrations import save_calibration, unvalidated_changes

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "rubrics"


def _verdicts(text: str) -> dict[str, tuple[str, set[str]]]:
    return {r.criterion_id: (r.verdict, {f.rule for f in r.findings}) for r in check_rubric(parse_rubric(text))}


def test_shipped_rubrics_pass_and_the_vague_one_is_flagged_with_suggestions() -> None:
    for name in ("support-core.yaml", "support-core-v2.yaml"):
        assert {r.verdict for r in check_rubric(load_rubric(EXAMPLES / name))} == {"measurable"}, name
    vague = check_rubric(load_rubric(EXAMPLES / "vague.yaml"))
    assert all(r.verdict != "measurable" and r.reasons and r.suggestion for r in vague)


@pytest.mark.parametrize(("question", "scale", "rule", "verdict"), [
    ("Was the agent empathetic?", "yes_no", "trait", "not_measurable"),
    ("客服态度好吗？", "yes_no", "trait", "not_measurable"),
    ("Agent resolves issue", "yes_no", "not_a_question", "ambiguous"),
    ("Was it handled quickly?", "yes_no", "no_actor", "ambiguous"),
    ("Did the agent do a good job?", "yes_no", "holistic", "not_measurable"),
    ("Was the customer satisfied?", "yes_no", "feeling", "not_measurable"),
    ("Would the customer recommend us?", "yes_no", "hypothetical", "not_measurable"),
    ("Did the agent reply promptly?", "yes_no", "vague", "ambiguous"),
    ("A fost agentul empatic?", "yes_no", "trait", "not_measurable"),
    ("Беше ли агентът учтив?", "yes_no", "trait", "not_measurable"),
    ("Did the agent greet the customer and/or thank them?", "yes_no", "double", "ambiguous"),
    ("Did the agent greet the customer and confirm the order number?", "yes_no", "double", "ambiguous"),
    ("客服是否确认了订单号并且说明了退款时间？", "yes_no", "double", "ambiguous"),
    ("Did the agent always use the customer's name?", "yes_no", "frequency", "ambiguous"),
    ("Did the agent escalate to a supervisor?", "yes_no", "needs_na", "ambiguous"),
    ("Did the agent greet the customer?", "1-5", "scale_mismatch", "ambiguous"),
    ("How clearly did the agent explain the refund?", "yes_no", "scale_mismatch", "ambiguous"),
    ("How complete was the agent's answer?", "1-5", "levels_undescribed", "ambiguous"),
])
def test_each_vague_pattern_is_found(question: str, scale: str, rule: str, verdict: str) -> None:
    text = "id: x\ncriteria:\n  - " + json.dumps({"id": "c", "question": question, "scale": scale}) + "\n"
    [(got, rules)] = _verdicts(text).values()
    assert rule in rules and got == verdict


def test_behaviour_wordings_pass() -> None:
    good = _verdicts("""
id: g
criteria:
  - {id: a, question: "Did the agent say which of the customer's concerns they understand?"}
  - {id: b, question: "Did the agent offer an actionable solution or a follow-up timeline?"}
  - {id: c, question: "Did the agent escalate to a supervisor?", applies_when: "The customer asked for one."}
  - {id: d, question: "客服是否告诉客户下一步需要做什么？"}
""")
    assert {v for v, _ in good.values()} == {"measurable"}


def test_diff_and_revalidation(tmp_path: Path) -> None:
    old, new = load_rubric(EXAMPLES / "support-core.yaml"), load_rubric(EXAMPLES / "support-core-v2.yaml")
    result = diff_rubrics(old, new)
    assert result.added == ["case_reference"] and result.removed == []
    assert set(result.changed) == {"greeting", "next_steps"} and result.changed["greeting"] == ["question"]
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    store.save_rubric(old)
    store.save_rubric(new)
    for cid in ("greeting", "closing"):
        save_calibration(store, old, cid, "fake", method="isotonic", threshold=0.7, n=100, params={})
    assert unvalidated_changes(store, new, "fake") == ["greeting"]  # closing did not change
    save_calibration(store, new, "greeting", "fake", method="isotonic", threshold=0.75, n=100, params={})
    assert unvalidated_changes(store, new, "fake") == []
