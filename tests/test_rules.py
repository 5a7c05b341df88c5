"""The rule engine: phrase checks in en/zh/ro/bg with near-misses, regex, unless, scope, and timing checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorer._errors import RubricError
from scorer.rubric import parse_rubric
from scorer.rules.engine import answer_rules
from scorer.rules.normalise import normalise
from scorer.types import Conversation, Judgement

RUBRIC = parse_rubric("""
id: rules
criteria:
  - id: forbidden
    question: Did the agent keep from using forbidden phrases?
    auto_fail: true
    check:
      kind: phrases
      speaker: agent
      forbid:
        "*": ["calm down", "that's not my job"]
        zh: ["冷静一点", "这不是我的工作"]
        ro: ["calmați-vă"]
        bg: ["успокойте се"]
      unless: ["tell you to calm down"]
  - id: greeting
    question: Did the agent name themselves in their greeting?
    check: {kind: phrases, require: ["my name is", "this is"], within: {first_turns: 2}}
  - id: closing
    question: Did the agent ask whether the customer needed anything else?
    check: {kind: phrases, require: {"*": ["anything else"], zh: ["还有其他"]}, within: {last_turns: 1}}
  - id: card_number
    question: Did the agent keep from asking for the full card number?
    check: {kind: regex, forbid: ['full (card|credit card) number', '\\b\\d{16}\\b']}
""")


def conv(language: str | None, *turns: tuple[str, str], **fields: object) -> Conversation:
    return Conversation(id="c", language=language, turns=[{"speaker": s, "text": t} for s, t in turns], **fields)


def answers(c: Conversation) -> dict[str, Judgement]:
    out = {j.criterion_id: j for j in answer_rules(c, RUBRIC.criteria)}
    for j in out.values():
        assert j.judge_id == "rule"
        for e in j.evidence:
            assert c.turns[e.turn].text[e.start : e.end] == e.quote  # offsets always verbatim
        if j.status == "scored":
            assert j.confidence == 1.0 and j.confidence_kind == "rule"
    return out


@pytest.mark.parametrize(("language", "text", "quote"), [
    ("en", "Sir, please CALM   DOWN.", "CALM   DOWN"),
    ("en", "That’s not my job!", "That’s not my job"),                      # typographic apostrophe
    ("en", "Ｃａｌｍ　ｄｏｗｎ，please.", "Ｃａｌｍ　ｄｏｗｎ"),                  # full-width letters and space
    ("zh", "请您冷静一点！这不是我的工作。", "冷静一点"),                       # no word boundaries in Chinese
    ("zh", "请您冷静一点！这不是我的工作。", "这不是我的工作"),
    ("ro", "Vă rog, calmati-va.", "calmati-va"),                           # diacritics dropped
    ("ro", "CALMAȚI-VĂ, vă rog!", "CALMAȚI-VĂ"),
    ("ro", "Calmaţi-vă!", "Calmaţi-vă"),                                   # cedilla ţ instead of comma ț
    ("bg", "Моля, УСПОКОЙТЕ СЕ.", "УСПОКОЙТЕ СЕ"),
    ("bg", "Molya, uspokoite se.", "uspokoite se"),                         # Bulgarian in Latin letters
])
def test_forbidden_phrase_found_in_the_agents_turn(language: str, text: str, quote: str) -> None:
    j = answers(conv(language, ("customer", "Hello?"), ("agent", text)))["forbidden"]
    assert j.answer == "no"
    assert quote in [e.quote for e in j.evidence]
    assert all(e.turn == 1 for e in j.evidence)


@pytest.mark.parametrize(("language", "customer"), [
    ("en", "Don't tell me to calm down! That's not my job to fix."),
    ("zh", "别让我冷静一点！"),
    ("ro", "Nu-mi spuneți calmați-vă!"),
    ("bg", "Не ми казвайте успокойте се!"),
])
def test_phrase_spoken_only_by_the_customer_never_triggers(language: str, customer: str) -> None:
    j = answers(conv(language, ("customer", customer), ("agent", "OK.")))["forbidden"]
    assert j.answer == "yes" and j.evidence == []


def test_unless_cancels_a_quoted_phrase_in_a_question() -> None:
    c = conv("en", ("customer", "Your colleague was rude."), ("agent", "Did someone tell you to calm down? I'm sorry."))
    assert answers(c)["forbidden"].answer == "yes"
    # the same phrase said outright in another turn still counts
    c2 = conv("en", ("agent", "Did someone tell you to calm down?"), ("agent", "Well, calm down."))
    j = answers(c2)["forbidden"]
    assert j.answer == "no" and [(e.turn, e.quote) for e in j.evidence] == [(1, "calm down")]


def test_phrase_split_across_two_turns_does_not_match() -> None:
    assert answers(conv("en", ("agent", "Please stay calm"), ("agent", "down the line we will fix it.")))[
        "forbidden"].answer == "yes"


def test_word_boundaries_outside_chinese() -> None:
    assert answers(conv("en", ("agent", "The calm downtown office will call.")))["forbidden"].answer == "yes"


def test_overlapping_matches_are_all_reported() -> None:
    rubric = parse_rubric("""
id: o
criteria:
  - id: f
    question: Did the agent avoid the phrases?
    check: {kind: phrases, forbid: ["not my job", "that's not my", "my job"]}
""")
    c = conv("en", ("agent", "Sorry, that's not my job."))
    [j] = answer_rules(c, rubric.criteria)
    assert j.answer == "no"
    assert [e.quote for e in j.evidence] == ["that's not my", "not my job", "my job"]


def test_language_picks_the_lists_and_star_applies_to_all() -> None:
    # the zh list does not apply to an English conversation; "*" does to a Chinese one
    assert answers(conv("en", ("agent", "冷静一点")))["forbidden"].answer == "yes"
    assert answers(conv("zh-CN", ("agent", "请calm down一下")))["forbidden"].answer == "no"
    # without a language every list applies
    assert answers(conv(None, ("agent", "冷静一点")))["forbidden"].answer == "no"


def test_require_within_first_and_last_turns() -> None:
    c = conv("en", ("agent", "Hi!"), ("customer", "Hi"), ("agent", "How can I help?"), ("agent", "My name is Ann."),
             ("agent", "Is there anything else?"))
    got = answers(c)
    assert got["greeting"].answer == "no"  # "my name is" only in the agent's third turn
    assert got["closing"].answer == "yes" and got["closing"].evidence[0].quote == "anything else"
    c2 = conv("zh", ("agent", "您好，这里是星光宽带。"), ("agent", "还有其他问题吗？"))
    assert answers(c2)["closing"].answer == "yes"


@pytest.mark.parametrize(("cid", "language", "first", "answer"), [
    ("en-call-interrupt-bad", "en", "Energy Direct.", "yes"),          # a bare company name names the company
    ("zh-call-interrupt-mixed", "zh", "您好，移动客服。", "yes"),
    ("en-chat-login-mixed", "en", "Hi! Sorry about that.", "no"),       # a greeting alone does not
    ("bg-call-dostavka-bad", "bg", "Да.", "no"),
])
def test_example_greeting_counts_the_organisations_name(cid: str, language: str, first: str, answer: str) -> None:
    from pathlib import Path

    from scorer.rubric import load_rubric

    rubric = load_rubric(Path(__file__).resolve().parents[1] / "examples" / "rubrics" / "support-core.yaml")
    greeting = [c for c in rubric.criteria if c.id == "greeting"]
    c = Conversation(id=cid, language=language, turns=[{"speaker": "agent", "text": first}])
    (j,) = answer_rules(c, greeting)
    assert j.answer == answer and (answer == "no" or c.turns[0].text[j.evidence[0].start:j.evidence[0].end])


def test_regex_kind_matches_original_text() -> None:
    j = answers(conv("en", ("agent", "Please read me your FULL card number: like 4111111111111111")))["card_number"]
    assert j.answer == "no" and [e.quote for e in j.evidence] == ["FULL card number", "4111111111111111"]


def test_a_language_without_lists_is_unscored() -> None:
    rubric = parse_rubric("""
id: l
criteria:
  - id: f
    question: Did the agent avoid the phrases?
    check: {kind: phrases, forbid: {en: ["calm down"]}}
""")
    [j] = answer_rules(conv("bg", ("agent", "Здравейте")), rubric.criteria)
    assert j.status == "unscored" and "'bg'" in (j.reason or "")


@pytest.mark.parametrize(("block", "message"), [
    ("{kind: phrasez, forbid: [a]}", "check.kind"),
    ("{kind: phrases, forbid: []}", "empty"),
    ("{kind: phrases, forbid: [a], require: [b]}", "exactly one"),
    ("{kind: regex, forbid: ['(a']}", "does not compile"),
    ("{kind: silence}", "needs max_seconds"),
    ("{kind: phrases, forbid: [a], within: {first_turns: 1, last_turns: 1}}", "exactly one of first_turns"),
])
def test_invalid_check_blocks_are_clear_errors(block: str, message: str) -> None:
    with pytest.raises(RubricError, match=message) as info:
        parse_rubric(f"id: x\ncriteria:\n  - id: bad\n    question: Did the agent do it?\n    check: {block}\n")
    assert "criterion 'bad'" in str(info.value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="aAbB ,.!\u3000ＡȘșţé冷静ß\u0301ﬁ-", min_size=1, max_size=30))
def test_normalised_positions_map_back_into_the_text(text: str) -> None:
    n = normalise(text)
    for i in range(len(n.text)):
        assert 0 <= n.position(i) < len(text)
    if n.text:
        start, end = n.span(0, len(n.text))
        assert normalise(text[start:end]).text == n.text


# --- timing ---------------------------------------------------------------------------------------------------
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TIMING = parse_rubric("""
id: timing
criteria:
  - id: first
    question: Did the agent answer the customer's first message within a minute?
    check: {kind: first_response, max_seconds: 60}
  - id: gaps
    question: Did the agent reply to every customer message within two minutes?
    check: {kind: response_gap, max_seconds: 120}
  - id: silence
    question: Did the agent keep every silence under 10 seconds?
    check: {kind: silence, max_seconds: 10}
  - id: talk_over
    question: Did the agent let the customer finish before speaking?
    check: {kind: overlap, max_seconds: 0.5}
""")


def timed(*turns: tuple[str, float, float | None]) -> Conversation:
    return Conversation(id="t", channel="call", turns=[
        {"speaker": s, "text": f"turn {n}", "timestamp": T0 + timedelta(seconds=at),
         "end": None if end is None else T0 + timedelta(seconds=end)} for n, (s, at, end) in enumerate(turns)])


def timing(c: Conversation) -> dict[str, Judgement]:
    return {j.criterion_id: j for j in answer_rules(c, TIMING.criteria)}


def test_first_response_and_gaps_from_timestamps() -> None:
    got = timing(timed(("customer", 0, 5), ("agent", 45, 50), ("customer", 52, 60), ("agent", 250, 255)))
    assert got["first"].answer == "yes" and "45 s" in got["first"].rationale
    assert got["gaps"].answer == "no" and [e.turn for e in got["gaps"].evidence] == [3]
    slow = timing(timed(("customer", 0, 5), ("agent", 90, 95)))
    assert slow["first"].answer == "no" and slow["first"].evidence[0].turn == 1


def test_silence_from_turn_end_to_next_start() -> None:
    got = timing(timed(("customer", 0, 5), ("agent", 8, 20), ("customer", 21, 30), ("agent", 45, 50)))
    assert got["silence"].answer == "no" and "15 s before turn 4" in got["silence"].rationale  # index 3
    assert timing(timed(("customer", 0, 5), ("agent", 8, 20)))["silence"].answer == "yes"


def test_talk_over_when_end_is_after_the_next_start() -> None:
    got = timing(timed(("customer", 0, 10), ("agent", 8, 12), ("customer", 12, 14), ("agent", 13.8, 15)))
    assert got["talk_over"].answer == "no" and [e.turn for e in got["talk_over"].evidence] == [1]
    assert timing(timed(("customer", 0, 10), ("agent", 10.2, 12)))["talk_over"].answer == "yes"


def test_missing_timestamps_are_unscored_with_the_reason() -> None:
    plain = conv("en", ("customer", "Hi"), ("agent", "Hello"))
    for j in timing(plain).values():
        assert j.status == "unscored" and j.answer is None
        assert "timestamp" in (j.reason or "") or "end" in (j.reason or "")
    no_end = timed(("customer", 0, None), ("agent", 3, None))
    assert "end times" in (timing(no_end)["talk_over"].reason or "")
