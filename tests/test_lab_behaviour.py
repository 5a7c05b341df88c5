"""The rubric lab's behavioural check and comparison, with small judges of our own (no mocks): paraphrases,
flip rate, balance, evidence rate, judge–judge and human agreement, partial runs, one call per wording set for
judges that answer a batch, the paired bootstrap on the difference, and the CLI writing JSON and HTML."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from eval.lab import compare_pairs, load_sample, make_wordings, measure, pair_criteria, paraphrases, run_wordings
from scorer._errors import RubricError
from scorer.judges import Judge
from scorer.rubric import parse_rubric
from scorer.types import Conversation, Criterion, Judgement

RUBRIC = parse_rubric("""
id: lab
criteria:
  - {id: refund_time, question: "Did the agent tell the customer when the refund will arrive?"}
  - {id: thanked, question: "Did the customer thank the agent?"}
""")
ROOT = Path(__file__).resolve().parents[1]


def _conversation(i: int) -> dict[str, object]:
    told = i % 2 == 0
    agent = "Your refund will arrive within 5 days." if told else "I have noted your request."
    return {"id": f"c{i}", "turns": [{"speaker": "customer", "text": "Where is my refund?"},
                                     {"speaker": "agent", "text": agent},
                                     {"speaker": "customer", "text": "Thanks!" if i % 3 else "Ok."}],
            "labels": {"refund_time": "yes" if told else "no", "thanked": "yes" if i % 3 else "no"}}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "sample.jsonl"
    path.write_text("\n".join(json.dumps(_conversation(i), ensure_ascii=False) for i in range(30)) + "\n")
    return path


class ReadingJudge(Judge):
    """Answers from the transcript: 'yes' when the behaviour's key phrase is there, with that phrase as evidence.
    With ``fooled_by`` set, any wording containing that text gets the opposite answer (an unstable judge)."""

    id = "reading"
    independent_questions = True

    def __init__(self, fooled_by: str | None = None, fail_after: int | None = None) -> None:
        self.fooled_by, self.fail_after, self.calls = fooled_by, fail_after, []  # type: ignore[var-annotated]

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        self.calls.append([c.question for c in criteria])
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            raise TimeoutError("model server stopped answering")
        text = " ".join(t.text for t in conversation.turns)
        out = []
        for c in criteria:
            phrase = "refund will arrive" if "refund" in c.question else "Thanks"
            found = phrase in text
            if self.fooled_by and self.fooled_by in c.question:
                found = not found
            out.append(Judgement(criterion_id=c.id, answer="yes" if found else "no", confidence=0.9,
                                 proposed_quotes=[phrase] if found and phrase in text else [], judge_id=self.id))
        return out


def test_paraphrases_keep_the_behaviour_and_change_the_frame() -> None:
    en = paraphrases("Did the agent offer an actionable solution or a follow-up timeline?", 3)
    assert "Is it true that the agent offered an actionable solution or a follow-up timeline?" in en
    assert len(set(en)) == 3 and all("actionable solution or a follow-up timeline" in p for p in en)
    zh = paraphrases("客服是否告诉客户下一步需要做什么？", 3)
    assert "客服有没有告诉客户下一步需要做什么？" in zh and all("告诉客户下一步需要做什么" in p for p in zh)
    for q in ("A oferit agentul o soluție concretă?", "Предложи ли агентът конкретно решение?"):
        assert len(paraphrases(q, 3)) == 3 and all(q.lower()[1:] in p.lower() for p in paraphrases(q, 3))


def test_stable_judge_on_a_clear_wording_is_measurable(data: Path) -> None:
    sample = load_sample(data, RUBRIC.criteria)
    run = run_wordings(sample, make_wordings(RUBRIC.criteria), ReadingJudge(), judge2=ReadingJudge())
    results = {r.criterion_id: r for r in measure(run)}
    refund = results["refund_time"]
    assert refund.flip_rate == 0.0 and refund.paraphrase_agreement == [1.0, 1.0, 1.0]
    assert refund.human_accuracy == 1.0 and refund.human_kappa == pytest.approx(1.0)
    assert refund.judge_judge_kappa == pytest.approx(1.0) and refund.evidence_rate == 1.0
    assert refund.answer_shares == {"yes": 0.5, "no": 0.5} and refund.verdict == "measurable", refund.reasons


def test_unstable_wording_is_not_measurable_and_says_why(data: Path) -> None:
    sample = load_sample(data, RUBRIC.criteria)
    run = run_wordings(sample, make_wordings(RUBRIC.criteria), ReadingJudge(fooled_by="Is it true"))
    refund = measure(run)[0]
    assert refund.flip_rate == 1.0 and refund.paraphrase_agreement.count(0.0) == 1
    assert refund.verdict == "not_measurable" and "unstable" in refund.reasons[0]


def test_balance_and_missing_labels_are_reported(tmp_path: Path) -> None:
    rows = [{"id": f"x{i}", "turns": [{"speaker": "customer", "text": "Thanks!"}]} for i in range(12)]
    (tmp_path / "d.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\nnot json\n")
    sample = load_sample(tmp_path / "d.jsonl", RUBRIC.criteria)
    assert sample.notes and "unreadable" in sample.notes[0]
    thanked = measure(run_wordings(sample, make_wordings(RUBRIC.criteria[1:]), ReadingJudge()))[0]
    assert thanked.majority_share == 1.0 and any("unbalanced" in r for r in thanked.reasons)
    assert any("no human labels" in n for n in thanked.notes) and thanked.human_kappa is None


def test_a_judge_that_fails_mid_run_leaves_a_partial_report(data: Path) -> None:
    sample = load_sample(data, RUBRIC.criteria)
    run = run_wordings(sample, make_wordings(RUBRIC.criteria), ReadingJudge(fail_after=12))
    assert run.completed == 12 and run.stopped and "TimeoutError" in run.stopped
    assert all(r.conversations == 12 and r.scored == 12 for r in measure(run))


def test_batch_judges_never_see_two_wordings_of_one_question(data: Path) -> None:
    judge = ReadingJudge()
    judge.independent_questions = False
    sample = load_sample(data, RUBRIC.criteria, limit=2)
    run_wordings(sample, make_wordings(RUBRIC.criteria), judge)
    assert len(judge.calls) == 2 * 4  # per conversation: the wordings as written, then paraphrase set 1, 2, 3
    assert all(sum("refund" in q for q in call) == 1 for call in judge.calls)


def test_judges_that_do_not_read_the_wording_get_no_stability_number(data: Path) -> None:
    judge = ReadingJudge()
    judge.reads_wording = False
    result = measure(run_wordings(load_sample(data, RUBRIC.criteria), make_wordings(RUBRIC.criteria), judge))[0]
    assert result.flip_rate is None and "answers from the criterion id" in result.notes[0]


def test_compare_prefers_the_wording_that_agrees_with_humans(data: Path) -> None:
    new = parse_rubric("""
id: lab
criteria:
  - {id: refund_time, question: "Was the agent transparent about the refund?"}
  - {id: thanked, question: "Did the customer thank the agent?"}
""")
    pairs = pair_criteria(RUBRIC, new)
    assert pairs == [("refund_time", "refund_time")]
    sample = load_sample(data, RUBRIC.criteria)
    [wa] = make_wordings([RUBRIC.criterion("refund_time")], side="a")
    [wb] = make_wordings([new.criterion("refund_time")], side="b")
    run = run_wordings(sample, [wa, wb], ReadingJudge(fooled_by="transparent"))
    [comparison] = compare_pairs(run, [(wa, wb)])
    assert comparison.better == "a" and comparison.accuracy_diff == -1.0
    assert comparison.accuracy_diff_ci is not None and comparison.accuracy_diff_ci[1] < 0
    assert comparison.a.human_accuracy == 1.0 and comparison.b.static_verdict == "not_measurable"


def test_cli_test_and_compare_write_json_and_html(data: Path, tmp_path: Path) -> None:
    runner, app = CliRunner(), build_app()
    rubric = ROOT / "examples" / "rubrics" / "support-core.yaml"
    out = tmp_path / "lab" / "test.json"
    result = runner.invoke(app, ["rubric", "test", str(rubric), "--data", str(ROOT / "examples" /
                                 "conversations.jsonl"), "--judge", "fake", "--limit", "12", "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(out.read_text())
    assert report["run"]["conversations"] == "12 of 12" and len(report["results"]) == 11
    assert {"verdict", "flip_rate", "answer_shares", "reasons"} <= set(report["results"][0])
    assert "<h1>Rubric lab: behavioural check</h1>" in out.with_suffix(".html").read_text()
    compared = tmp_path / "cmp.json"
    result = runner.invoke(app, ["rubric", "compare", str(rubric), str(ROOT / "examples" / "rubrics" /
                                 "support-core-v2.yaml"), "--data", str(data), "--judge", "fake", "--json",
                                 str(compared)])
    assert result.exit_code == 0, result.output
    assert json.loads(compared.read_text())["results"] and compared.with_suffix(".html").exists()
    missing = runner.invoke(app, ["rubric", "test", str(rubric), "--data", str(data), "--criterion", "nope"])
    assert isinstance(missing.exception, RubricError) and "unknown criterion 'nope'" in str(missing.exception)


class ShyJudge(Judge):
    """Always answers "no", but its P(yes) is higher where the behaviour is there — unless the wording contains
    ``blind_to``: then P(yes) carries no signal. Like a small model whose threshold is off."""

    id = "shy"
    independent_questions = True

    def __init__(self, blind_to: str = "\0") -> None:
        self.blind_to = blind_to

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        text = " ".join(t.text for t in conversation.turns)
        out = []
        for c in criteria:
            seen = "refund will arrive" in text and self.blind_to not in c.question
            p = 0.3 if seen else 0.1 + (len(conversation.id) % 3) / 100
            out.append(Judgement(criterion_id=c.id, answer="no", confidence=1 - p,
                                 probabilities={"yes": p, "no": 1 - p}, judge_id=self.id))
        return out


def test_a_judge_that_cannot_tell_cases_apart_makes_the_verdict_inconclusive(data: Path) -> None:
    sample = load_sample(data, RUBRIC.criteria)
    refund = measure(run_wordings(sample, make_wordings(RUBRIC.criteria[:1]), ShyJudge()))[0]
    assert refund.verdict == "inconclusive" and refund.human_kappa == 0.0
    assert refund.human_auc == 1.0 and "calibrate its threshold" in refund.reasons[0]
    assert refund.paraphrase_rank_corr == pytest.approx(1.0)


def test_compare_falls_back_on_the_ranking_when_accuracies_tie(data: Path) -> None:
    new = RUBRIC.criterion("refund_time").model_copy(update={"question": "Was the agent clear about money?"})
    sample = load_sample(data, RUBRIC.criteria)
    [wa] = make_wordings([RUBRIC.criterion("refund_time")], side="a")
    [wb] = make_wordings([new], side="b", label_ids={"refund_time": "refund_time"})
    [comparison] = compare_pairs(run_wordings(sample, [wa, wb], ShyJudge(blind_to="money")), [(wa, wb)])
    assert comparison.accuracy_diff == 0.0 and comparison.auc_diff is not None and comparison.auc_diff < -0.4
    assert comparison.better == "a" and "auc B − A" in comparison.summary


def test_the_affirmative_paraphrase_puts_every_joined_verb_in_the_past() -> None:
    assert paraphrases("Did the customer thank the helpdesk or say that the answer helped?")[1] == \
        "Is it true that the customer thanked the helpdesk or said that the answer helped?"


def test_balance_blames_the_judge_only_when_the_humans_answer_otherwise() -> None:
    from eval.lab.verdict import verdict_of

    numbers = {"scored": 25, "answer_shares": {"no": 1.0, "yes": 0.0}, "majority_share": 1.0, "na_rate": None,
               "evidence_rate": None, "flip_rate": 0.44}
    assert verdict_of({**numbers, "human_label_shares": {"no": 0.04, "yes": 0.96}})[0] == "inconclusive"
    verdict, reasons = verdict_of({**numbers, "human_label_shares": {"no": 0.97, "yes": 0.03}})
    assert verdict == "not_measurable" and any("unbalanced" in r for r in reasons)
