"""Evidence location: every stored quote satisfies the offset identity; quotes not in the transcript are dropped."""

from __future__ import annotations

import pytest

from scorer.evidence import attach_evidence, is_valid, locate_quote, locate_quotes
from scorer.types import Conversation, Evidence, Judgement


@pytest.fixture
def conv() -> Conversation:
    return Conversation(
        id="c",
        turns=[
            {"speaker": "customer", "text": "My  internet has been DOWN since Monday!"},
            {"speaker": "agent", "text": "I'm sorry about that. I will send a technician tomorrow between 9 and 12."},
            {"speaker": "customer", "text": "我的订单还没有到，已经等了两周了。"},
            {"speaker": "agent", "text": "Разбирам притеснението ви. Ще ви се обадим до петък."},
        ],
    )


def _check(conv: Conversation, e: Evidence | None) -> Evidence:
    assert e is not None
    assert conv.turns[e.turn].text[e.start : e.end] == e.quote
    return e


def test_exact_match(conv: Conversation) -> None:
    e = _check(conv, locate_quote(conv, "I will send a technician tomorrow"))
    assert (e.turn, e.start) == (1, 22)


def test_case_and_whitespace_normalised_match_returns_transcript_text(conv: Conversation) -> None:
    e = _check(conv, locate_quote(conv, "my internet has been down since monday"))
    assert e.quote == "My  internet has been DOWN since Monday"


def test_speaker_prefix_and_quote_marks_are_ignored(conv: Conversation) -> None:
    e = _check(conv, locate_quote(conv, 'Agent: "I\'m sorry about that."'))
    assert e.quote == "I'm sorry about that."


def test_fuzzy_match_with_small_typos(conv: Conversation) -> None:
    e = _check(conv, locate_quote(conv, "I will send a technicain tomorow between 9 and 12"))
    assert e.turn == 1 and "technician" in e.quote


def test_non_latin_scripts(conv: Conversation) -> None:
    assert _check(conv, locate_quote(conv, "已经等了两周了")).turn == 2
    assert _check(conv, locate_quote(conv, "ще ви се обадим до петък")).turn == 3


def test_invented_quotes_are_dropped(conv: Conversation) -> None:
    found, dropped = locate_quotes(conv, ["We refunded your money yesterday.", "", "ok", "I'm sorry about that."])
    assert dropped == 3
    assert [e.quote for e in found] == ["I'm sorry about that."]


def test_short_fuzzy_fragments_are_not_accepted(conv: Conversation) -> None:
    assert locate_quote(conv, "technicians") is None  # close, but short quotes must match exactly


def test_attach_evidence_drops_invalid_offsets_and_counts(conv: Conversation) -> None:
    bogus = Evidence(turn=1, start=0, end=5, quote="Hello")
    out_of_range = Evidence(turn=9, start=0, end=1, quote="x")
    j = Judgement(criterion_id="a", answer="yes", evidence=[bogus, out_of_range],
                  proposed_quotes=["send a technician tomorrow", "not there at all, no"])
    result = attach_evidence(conv, j)
    assert [e.quote for e in result.evidence] == ["send a technician tomorrow"]
    assert result.dropped_quotes == 3
    assert all(is_valid(conv, e) for e in result.evidence)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80).filter(
    lambda s: s.strip()
)


@settings(max_examples=200, deadline=None)
@given(turns=st.lists(_texts, min_size=1, max_size=4), data=st.data())
def test_offset_identity_holds_for_anything_located(turns: list[str], data: st.DataObject) -> None:
    conv = Conversation(id="h", turns=[{"speaker": "agent", "text": t} for t in turns])
    source = data.draw(st.sampled_from(turns))
    start = data.draw(st.integers(0, len(source) - 1))
    end = data.draw(st.integers(start + 1, len(source)))
    mangle = data.draw(st.sampled_from([str, str.upper, str.lower, lambda s: f"  {s} "]))
    quote = mangle(source[start:end])
    found = locate_quote(conv, quote)
    if found is not None:
        assert conv.turns[found.turn].text[found.start : found.end] == found.quote
    arbitrary = data.draw(_texts)
    other = locate_quote(conv, arbitrary)
    if other is not None:
        assert is_valid(conv, other)


def test_quote_running_past_its_turn_keeps_its_verbatim_start(conv: Conversation) -> None:
    quote = "I'm sorry about that. I will send a technician tomorrow between 9 and 12. And more"
    e = _check(conv, locate_quote(conv, quote))
    assert e.quote == "I'm sorry about that. I will send a technician tomorrow between 9 and 12."
    assert locate_quote(conv, "I'm sorry about that. Then something else entirely was said here") is None
