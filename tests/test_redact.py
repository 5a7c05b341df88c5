"""PII redaction before hosted calls, in the four seed languages, through the real hosted path (litellm → our
OpenAI-compatible stub over HTTP): nothing detected reaches the server, placeholders are stable, quotes come back
located in the original transcript, counts are kept per conversation and never logged."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from scorer.evidence import is_valid
from scorer.judges import JudgeOptions
from scorer.judges.hosted import HostedJudge
from scorer.pipeline import score_conversation
from scorer.redact import PatternError, Redactor, redact_conversation
from scorer.rubric import parse_rubric
from scorer.types import Conversation
from tests.openai_stub_server import StubServer

RUBRIC = parse_rubric("""
id: pii
criteria:
  - {id: confirm, question: "Did the agent confirm the customer's details?"}
""")

# language → (customer turn with PII, agent turn whose first sentence quotes PII, the PII, the kinds expected)
SEED = {
    "en": ("My email is john.doe@example.com, card 4111 1111 1111 1111, CVV 123, phone +1 415 555 2671.",
           "I have sent the label to john.doe@example.com. Anything else?",
           ["john.doe@example.com", "4111 1111 1111 1111", "123", "+1 415 555 2671"],
           {"EMAIL": 2, "CARD": 1, "CVV": 1, "PHONE": 1}),
    "zh": ("我的邮箱是li.wei@example.cn，电话13812345678，身份证号11010519491231002X。",
           "已经发到li.wei@example.cn了。还有别的问题吗？",
           ["li.wei@example.cn", "13812345678", "11010519491231002X"],
           {"EMAIL": 2, "PHONE": 1, "CN_ID": 1}),
    "ro": ("Emailul meu: ana.popescu@example.ro, telefon 0722 123 456, CNP 1800101221144, "
           "IBAN RO49 AAAA 1B31 0075 9384 0000.",
           "Am trimis eticheta la ana.popescu@example.ro. Mai aveți nevoie de ceva?",
           ["ana.popescu@example.ro", "0722 123 456", "1800101221144", "RO49 AAAA 1B31 0075 9384 0000"],
           {"EMAIL": 2, "PHONE": 1, "RO_CNP": 1, "IBAN": 1}),
    "bg": ("Имейлът ми е ivan@example.bg, телефон 0888 123 456, ЕГН 7523169263, IBAN BG80 BNBG 9661 1020 3456 78.",
           "Изпратих етикета на ivan@example.bg. Нещо друго?",
           ["ivan@example.bg", "0888 123 456", "7523169263", "BG80 BNBG 9661 1020 3456 78"],
           {"EMAIL": 2, "PHONE": 1, "BG_EGN": 1, "IBAN": 1}),
}


def _conversation(lang: str) -> Conversation:
    customer, agent, _, _ = SEED[lang]
    return Conversation(id=f"pii-{lang}", language=lang, turns=[{"speaker": "customer", "text": customer},
                                                                {"speaker": "agent", "text": agent}])


@pytest.mark.parametrize("lang", list(SEED))
def test_redaction_finds_each_kind_and_placeholders_are_stable(lang: str) -> None:
    conversation = _conversation(lang)
    redacted, redaction = redact_conversation(conversation)
    text = "\n".join(t.text for t in redacted.turns)
    for secret in SEED[lang][2]:
        assert secret not in text, secret
    assert redaction.counts == SEED[lang][3]
    # the same email in both turns gets the same placeholder
    assert "<EMAIL_1>" in redacted.turns[0].text and "<EMAIL_1>" in redacted.turns[1].text
    assert "<EMAIL_2>" not in text
    # round trip: every redacted turn maps back to the original exactly
    for before, after in zip(conversation.turns, redacted.turns, strict=True):
        assert redaction.restore(after.text) == before.text


def test_checksums_keep_look_alikes() -> None:
    text = ("order 4111 1111 1111 1112, ref 11010519491231002Y, code 1800101221145, "
            "acct RO49 AAAA 1B31 0075 9384 0001, at 3 pm, mail me @ home")
    assert Redactor().spans(text) == []
    assert [kind for *_, kind in Redactor().spans("EGN 7523169263")] == ["BG_EGN"]


def test_existing_placeholder_text_is_not_reused() -> None:
    conv = Conversation(id="p", turns=[{"speaker": "customer", "text": "literally <EMAIL_1> and real a@b.io"}])
    redacted, redaction = redact_conversation(conv)
    assert redacted.turns[0].text == "literally <EMAIL_1> and real <EMAIL_2>"
    assert redaction.restore(redacted.turns[0].text) == conv.turns[0].text


def test_user_patterns_and_bad_pattern() -> None:
    conv = Conversation(id="u", turns=[{"speaker": "customer", "text": "ticket TK-123456 and TK-123456 again"}])
    redacted, redaction = Redactor({"ticket": r"TK-\d{6}"}).redact(conv)
    assert redacted.turns[0].text == "ticket <TICKET_1> and <TICKET_1> again"
    assert redaction.counts == {"TICKET": 2}
    with pytest.raises(PatternError, match="not a valid regular expression"):
        Redactor({"X": "("})
    with pytest.raises(PatternError, match="letters, digits"):
        Redactor({"bad kind": "x"})


def _judge(stub: StubServer, **options: object) -> HostedJudge:
    opts = JudgeOptions(api_base=stub.base_url, timeout=2.0, max_retries=0, **options)  # type: ignore[arg-type]
    return HostedJudge("openai/nologprobs", opts, backoff=0.01)


@pytest.mark.parametrize("lang", list(SEED))
def test_hosted_call_sees_no_pii_and_evidence_indexes_the_original(
        openai_stub: StubServer, lang: str, caplog: pytest.LogCaptureFixture) -> None:
    conversation = _conversation(lang)
    caplog.set_level(logging.DEBUG)
    before = len(openai_stub.requests)
    card, _ = score_conversation(conversation, RUBRIC, _judge(openai_stub))
    sent = json.dumps(openai_stub.requests[before:], ensure_ascii=False)
    for secret in SEED[lang][2]:
        assert secret not in sent, f"{secret!r} reached the hosted model"
        assert secret not in caplog.text
    assert "EMAIL_1" in sent
    [judgement] = card.judgements
    assert judgement.pii_redacted == SEED[lang][3]
    assert judgement.evidence, judgement
    email = SEED[lang][2][0]
    for e in judgement.evidence:
        assert conversation.turns[e.turn].text[e.start:e.end] == e.quote
        assert is_valid(conversation, e)
    assert any(email in e.quote for e in judgement.evidence), "the placeholder quote was mapped back"


def test_redaction_can_be_turned_off(openai_stub: StubServer) -> None:
    before = len(openai_stub.requests)
    card, _ = score_conversation(_conversation("en"), RUBRIC, _judge(openai_stub, redact_pii=False))
    assert "john.doe@example.com" in json.dumps(openai_stub.requests[before:])
    assert card.judgements[0].pii_redacted == {}


def test_local_judges_see_the_original_text() -> None:
    from scorer.judges import get_judge

    seen: list[Conversation] = []
    fake = get_judge("fake")

    class Spy:
        id = fake.id

        def judge(self, conversation: Conversation, criteria: object) -> object:
            seen.append(conversation)
            return fake.judge(conversation, criteria)  # type: ignore[arg-type]

    score_conversation(_conversation("bg"), RUBRIC, Spy())  # type: ignore[arg-type]
    assert "ivan@example.bg" in seen[0].turns[0].text


def test_cli_states_redaction_and_counts(openai_stub: StubServer, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    from tests.test_hostile_cli import run_main

    monkeypatch.setenv("RUBRICATE_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "r.yaml").write_text("id: pii\ncriteria:\n  - {id: confirm, question: 'Did the agent confirm?'}\n")
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(_conversation(lang).model_dump(mode="json"),
                                                           ensure_ascii=False) for lang in SEED) + "\n")
    args = ["score", str(tmp_path / "c.jsonl"), "-r", str(tmp_path / "r.yaml"), "--judge", "litellm/openai/nologprobs",
            "--api-base", openai_stub.base_url, "--no-store", "--out", str(tmp_path / "s.jsonl")]
    code, out = run_main(args, capsys)
    assert code == 0, out
    assert "PII redaction on" in out
    assert "8 EMAIL" in out and "4 PHONE" in out
    records = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert records[0]["pii_redacted"] == SEED["en"][3]
    before = len(openai_stub.requests)
    code, out = run_main([*args, "--no-redact-pii"], capsys)
    assert "PII redaction off" in out
    assert "john.doe@example.com" in json.dumps(openai_stub.requests[before:])
    monkeypatch.setenv("RUBRICATE_REDACT_PII", "false")
    code, out = run_main(args, capsys)
    assert "PII redaction off" in out
