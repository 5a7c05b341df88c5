"""Storage and the pipeline: idempotent re-scoring (no model call), history with provenance, failures isolated."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from scorer.io import BadRecord
from scorer.judges import Judge, get_judge
from scorer.judges.fake import FakeJudge
from scorer.pipeline import BatchSummary, score_batch, score_conversation
from scorer.rubric import parse_rubric
from scorer.store import Store
from scorer.types import Conversation, Criterion, Judgement
from tests._pg import fresh_postgres_url

RUBRIC = parse_rubric("""
id: p
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
  - {id: solve, question: "Did the agent offer a solution?", scale: yes_no_na, weight: 2}
""")


def _conv(cid: str, text: str = "Hello, I am Ana. I will refund you today.") -> Conversation:
    return Conversation(id=cid, turns=[{"speaker": "customer", "text": "My refund is late."},
                                       {"speaker": "agent", "text": text}])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'r.db'}")
        yield s
        s.close()
    else:
        for url in fresh_postgres_url():
            s = Store(url)
            yield s
            s.close()


def test_rescoring_is_idempotent_and_makes_no_model_call(store: Store) -> None:
    judge = FakeJudge()
    card, cached = score_conversation(_conv("c1"), RUBRIC, judge, store=store)
    again, cached_again = score_conversation(_conv("c1"), RUBRIC, judge, store=store)
    assert (cached, cached_again, judge.calls) == (False, True, 1)
    assert again.model_dump(exclude={"created_at"}) == card.model_dump(exclude={"created_at"})
    with store.session() as s:
        from sqlalchemy import func, select

        from scorer.store.models import JudgementRow, ScoreCardRow
        assert s.scalar(select(func.count()).select_from(ScoreCardRow)) == 1
        assert s.scalar(select(func.count()).select_from(JudgementRow)) == 2


def test_changed_transcript_or_judge_is_scored_again(store: Store) -> None:
    judge = FakeJudge()
    score_conversation(_conv("c1"), RUBRIC, judge, store=store)
    _, cached = score_conversation(_conv("c1", "Hi, the refund was sent today."), RUBRIC, judge, store=store)
    assert not cached and judge.calls == 2
    _, cached = score_conversation(_conv("c1"), RUBRIC, FakeJudge("yes"), store=store)
    assert not cached
    assert store.get_conversation("c1") == _conv("c1")  # the stored copy follows the newest transcript


def test_history_starts_with_the_ai_answer(store: Store) -> None:
    card, _ = score_conversation(_conv("c2"), RUBRIC, get_judge("fake:yes"), store=store)
    [event] = store.history("c2", "greet", RUBRIC.version)
    assert (event.kind, event.answer, event.source) == ("ai", "yes", "ai")
    assert event.evidence == card.judgements[0].evidence
    assert store.get_rubric("p") == RUBRIC


class ExplodingJudge(Judge):
    """A badly behaved backend that raises instead of returning unscored judgements."""

    id = "exploding"

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        if conversation.id == "boom":
            raise RuntimeError("model crashed")
        return [Judgement(criterion_id=c.id, answer="maybe") if c.id == "greet"
                else Judgement(criterion_id=c.id, answer="no", confidence=0.99) for c in criteria][:1]


def test_batch_goes_on_after_failures_and_nothing_is_guessed(store: Store) -> None:
    records: list[Conversation | BadRecord] = [_conv("ok"), BadRecord("in:2", "not valid JSON"), _conv("boom")]
    summary = BatchSummary()
    items = list(score_batch(records, RUBRIC, ExplodingJudge(), store=store, on_item=summary.add))
    assert [i.conversation_id for i in items] == ["ok", None, "boom"]
    ok = items[0].card
    assert ok is not None
    greet, solve = ok.judgements
    assert greet.status == "unscored" and "'maybe'" in (greet.reason or "")
    assert solve.status == "unscored" and "no answer" in (solve.reason or "")
    boom = items[2].card
    assert boom is not None and all("model crashed" in (j.reason or "") for j in boom.judgements)
    assert boom.score is None
    assert len(summary.failed_records) == 1 and summary.unscored_judgements == 4 and not summary.ok
    assert store.find_score_card(_conv("ok"), RUBRIC, "exploding") is not None


class FlakyJudge(Judge):
    """Times out on one criterion the first time, then answers; counts which criteria it was asked."""

    id = "flaky"

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        self.asked.append([c.id for c in criteria])
        first = len(self.asked) == 1
        return [Judgement.unscored(c.id, "timeout after 3 retries") if first and c.id == "solve"
                else Judgement(criterion_id=c.id, answer="no", confidence=0.9) for c in criteria]


def test_unscored_criteria_are_retried_alone_and_history_kept(store: Store) -> None:
    judge = FlakyJudge()
    first, _ = score_conversation(_conv("f"), RUBRIC, judge, store=store)
    assert [j.status for j in first.judgements] == ["scored", "unscored"]
    second, cached = score_conversation(_conv("f"), RUBRIC, judge, store=store)
    assert not cached and judge.asked == [["greet", "solve"], ["solve"]]
    assert [j.status for j in second.judgements] == ["scored", "scored"] and second.score == 0.0
    third, cached = score_conversation(_conv("f"), RUBRIC, judge, store=store)
    assert cached and len(judge.asked) == 2 and third.score == 0.0
    assert [e.kind for e in store.history("f", "solve")] == ["ai", "ai"]
    assert [e.kind for e in store.history("f", "greet")] == ["ai"]
