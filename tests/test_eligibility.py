"""Eligibility rules (before any model call) and applies_if (na without a judge): en, zh, ro, bg."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from scorer._errors import RubricError
from scorer.conditions import APPLIES_IF_JUDGE
from scorer.eligibility import agent_word_count, exclusion_reason, is_auto_reply
from scorer.judges.fake import FakeJudge
from scorer.pipeline import BatchSummary, score_batch, score_conversation
from scorer.programme import Eligibility
from scorer.rubric import parse_rubric
from scorer.store import Store
from scorer.types import Conversation, Criterion, Judgement

RUBRIC_YAML = """
id: elig
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
  - id: disclosure
    question: "Did the agent read the call-recording disclosure?"
    applies_if: {channel: [call]}
"""


def _conv(cid: str, agent: list[str], *, customer: str = "My parcel has not arrived.", **fields: object
          ) -> Conversation:
    turns = [{"speaker": "customer", "text": customer}] + [{"speaker": "agent", "text": t} for t in agent]
    return Conversation.model_validate({"id": cid, "turns": turns, **fields})


DEFAULT = Eligibility()
LONG = {
    "en": "Hello, I am Ana from Parcelco and I will trace your parcel right now.",
    "zh": "您好，我是包裹公司的安娜，我现在就帮您查询包裹的位置。",
    "ro": "Bună ziua, sunt Ana de la Parcelco și vă urmăresc coletul chiar acum.",
    "bg": "Здравейте, аз съм Ана от Парселко и ще проследя пратката ви веднага.",
}
AUTO = {
    "en": "I am currently out of the office until Monday. This is an automated reply.",
    "zh": "自动回复：我目前不在办公室，我们会尽快回复您。",
    "ro": "Răspuns automat: am primit mesajul dvs. și vă vom răspunde în cel mai scurt timp.",
    "bg": "Автоматичен отговор: получихме вашето съобщение и ще ви отговорим възможно най-скоро.",
}
SHORT = {"en": "Ok, done.", "zh": "好的。", "ro": "Bine, gata.", "bg": "Добре, готово."}


@pytest.mark.parametrize("lang", ["en", "zh", "ro", "bg"])
def test_filters_in_four_languages(lang: str) -> None:
    assert exclusion_reason(_conv("a", [LONG[lang]], language=lang), DEFAULT) is None
    assert exclusion_reason(_conv("b", [AUTO[lang]], language=lang), DEFAULT) == "auto_reply"
    assert exclusion_reason(_conv("c", [SHORT[lang]], language=lang), DEFAULT) == "too_short"
    assert not is_auto_reply(LONG[lang])
    # an auto-acknowledgement followed by a real answer is a real conversation
    assert exclusion_reason(_conv("d", [AUTO[lang], LONG[lang]], language=lang), DEFAULT) is None


SPAM = {
    "en": "Congratulations, you have won! Claim your prize: http://prizes.example/now",
    "zh": "恭喜您中奖了！免费领取 iPhone，点击链接 http://x.example",
    "ro": "Ai câștigat un telefon gratuit! Click aici pentru premiu.",
    "bg": "Спечелихте безплатна почивка! Кликнете тук: www.example.bg",
}


@pytest.mark.parametrize("lang", ["en", "zh", "ro", "bg"])
def test_spam_by_rules_in_four_languages(lang: str) -> None:
    assert exclusion_reason(_conv("s", [LONG[lang]], customer=SPAM[lang], language=lang), DEFAULT) == "spam"
    assert exclusion_reason(_conv("s", [LONG[lang]], customer=SPAM[lang]),
                            Eligibility(exclude_spam=False)) is None


def test_ordinary_customers_are_not_spam() -> None:
    for text in ("My order https://shop.example/orders/123 never arrived.", "Is shipping free for returns?",
                 "Click here? I clicked the link in your email and it failed."):
        assert exclusion_reason(_conv("n", [LONG["en"]], customer=text), DEFAULT) is None, text
    examples = Path(__file__).resolve().parent.parent / "examples" / "conversations.jsonl"
    for line in examples.read_text(encoding="utf-8").splitlines():
        conv = Conversation.model_validate_json(line)
        assert exclusion_reason(conv, DEFAULT) is None, conv.id  # none of the written examples is excluded


def test_word_counts_count_cjk_characters() -> None:
    assert agent_word_count(_conv("z", ["好的。"])) == 2
    assert agent_word_count(_conv("e", ["Ok, done."])) == 2


def test_tags_bot_only_fields_and_switches() -> None:
    bot = Conversation.model_validate({"id": "bot", "turns": [
        {"speaker": "customer", "text": "Where is my parcel?"},
        {"speaker": "bot", "text": "Your parcel is out for delivery and arrives today before 18:00."}]})
    assert exclusion_reason(bot, DEFAULT) == "bot_only"
    assert exclusion_reason(_conv("s", [LONG["en"]], tags=["vip", "SPAM"]), DEFAULT) == "tag:spam"
    rules = Eligibility(exclude_if={"channel": ["other"]}, exclude_tags=[], min_agent_words=0,
                        exclude_auto_replies=False)
    assert exclusion_reason(_conv("o", [LONG["en"]], channel="other"), rules) == "field:channel"
    assert exclusion_reason(_conv("t", [SHORT["en"]], tags=["spam"]), rules) is None
    assert exclusion_reason(_conv("u", [AUTO["en"]]), rules) is None


def test_rubric_eligibility_block_is_validated() -> None:
    rubric = parse_rubric(RUBRIC_YAML + "eligibility: {min_agent_words: 3, exclude_tags: [test]}\n")
    assert rubric.eligibility.min_agent_words == 3 and rubric.eligibility.exclude_tags == ["test"]
    assert rubric.version != parse_rubric(RUBRIC_YAML).version  # other rules → other results → other version
    with pytest.raises(RubricError, match="eligibility: min_words"):
        parse_rubric(RUBRIC_YAML + "eligibility: {min_words: 3}\n")
    with pytest.raises(RubricError, match="applies_if"):
        parse_rubric("id: x\ncriteria:\n  - {id: a, question: q?, applies_if: [call]}\n")


def test_excluded_are_stored_counted_and_cost_no_model_call(tmp_path: Path) -> None:
    rubric, judge = parse_rubric(RUBRIC_YAML), FakeJudge()
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    convs = [_conv("ok", [LONG["en"]]), _conv("short", ["Done."]), _conv("spam", [LONG["en"]], tags=["spam"]),
             _conv("ooo", [AUTO["ro"]], language="ro")]
    summary = BatchSummary()
    for item in score_batch(convs, rubric, judge, store=store):
        summary.add(item)
    assert summary.scored == 1 and summary.excluded == {"too_short": 1, "tag:spam": 1, "auto_reply": 1}
    assert judge.calls == 1
    stored = store.find_score_card(convs[1], rubric, judge.id)
    assert stored is not None and (stored.status, stored.excluded_reason, stored.judgements) == (
        "excluded", "too_short", [])
    card, cached = score_conversation(convs[1], rubric, judge, store=store)
    assert cached and card.status == "excluded" and judge.calls == 1
    card, cached = score_conversation(convs[1], rubric, judge, store=store, include_excluded=True)
    assert not cached and card.status == "scored" and judge.calls == 2
    assert store.find_score_card(convs[1], rubric, judge.id).status == "scored"  # type: ignore[union-attr]
    store.close()


class _Recording(FakeJudge):
    """The fake judge, remembering which criteria it was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[list[str]] = []

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        self.asked.append([c.id for c in criteria])
        return super().judge(conversation, criteria)


def test_applies_if_answers_na_without_asking_the_judge() -> None:
    rubric, judge = parse_rubric(RUBRIC_YAML), _Recording()
    chat, _ = score_conversation(_conv("chat", [LONG["en"]], channel="chat"), rubric, judge)
    call, _ = score_conversation(_conv("call", [LONG["en"]], channel="call"), rubric, judge)
    na = next(j for j in chat.judgements if j.criterion_id == "disclosure")
    assert (na.answer, na.judge_id, na.needs_review) == ("na", APPLIES_IF_JUDGE, False)
    assert next(j for j in call.judgements if j.criterion_id == "disclosure").judge_id != APPLIES_IF_JUDGE
    assert judge.asked == [["greet"], ["greet", "disclosure"]]


def test_applies_if_on_tags_and_metadata() -> None:
    rubric = parse_rubric("id: m\ncriteria:\n  - {id: vip, question: 'Did the agent offer priority?', "
                          "applies_if: {tags: vip, plan: [gold, platinum]}}\n")
    judge = FakeJudge()
    yes, _ = score_conversation(_conv("v", [LONG["en"]], tags=["vip"], metadata={"plan": "Gold"}), rubric, judge)
    no, _ = score_conversation(_conv("w", [LONG["en"]], tags=["vip"], metadata={"plan": "basic"}), rubric, judge)
    assert yes.judgements[0].judge_id != APPLIES_IF_JUDGE and no.judgements[0].answer == "na"


def test_score_command_writes_excluded_records(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli import build_app

    rubric_path = tmp_path / "r.yaml"
    rubric_path.write_text(RUBRIC_YAML)
    data = tmp_path / "c.jsonl"
    data.write_text("\n".join(json.dumps(c.model_dump(mode="json")) for c in
                              [_conv("ok", [LONG["en"]]), _conv("short", ["Done."])]))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(build_app(), ["score", str(data), "-r", str(rubric_path), "-j", "fake", "--out",
                                              str(out), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    assert "1 excluded by eligibility rules (1 too_short)" in result.output, result.output
    records = {r["conversation_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert records["short"]["status"] == "excluded" and records["short"]["reason"] == "too_short"
    assert records["ok"]["status"] == "scored"


def test_api_scorecard_says_excluded(tmp_path: Path) -> None:
    from tests._api_fixtures import conversation, make_settings, open_api

    with open_api(make_settings(tmp_path)) as api:
        api.add_rubric()
        job = api.ingest(conversation("tiny", text="Ok, bye!"), conversation("spam", tags=["spam"])).json()
        assert api.wait_job(job["job_id"])["status"] == "done"
        for cid, reason in (("tiny", "too_short"), ("spam", "tag:spam")):
            card = api.client.get(f"/v1/conversations/{cid}/scorecard", headers=api.auth("ingest")).json()
            assert (card["status"], card["excluded_reason"], card["score"], card["judgements"]) == (
                "excluded", reason, None, [])


def test_eligibility_file_for_every_rubric_without_its_own(tmp_path: Path) -> None:
    from scorer.rubric import load_rubric
    from scorer.settings import Settings

    shared = tmp_path / "eligibility.yaml"
    shared.write_text("eligibility:\n  min_agent_words: 2\n  exclude_tags: [internal]\n")
    settings = Settings(_env_file=None, eligibility_file=shared)  # type: ignore[call-arg]
    plain, own = tmp_path / "plain.yaml", tmp_path / "own.yaml"
    plain.write_text(RUBRIC_YAML)
    own.write_text(RUBRIC_YAML + "eligibility: {min_agent_words: 9}\n")
    assert load_rubric(plain, settings=settings).eligibility.exclude_tags == ["internal"]
    assert load_rubric(own, settings=settings).eligibility.min_agent_words == 9  # a rubric's own block wins
    assert load_rubric(plain, settings=Settings(_env_file=None)).eligibility == DEFAULT  # type: ignore[call-arg]
    shared.write_text("eligibility: {min_words: 2}\n")
    with pytest.raises(RubricError, match="RUBRICATE_ELIGIBILITY_FILE"):
        load_rubric(plain, settings=settings)
