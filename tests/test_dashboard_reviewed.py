"""A reviewer's standing answer is the answer that counts: on the overview, the agent page (pass rates, coaching),
the criterion page and the list, read from the rollups and computed exactly; and in the card's score, hence the
trend, with the score it replaced kept in the card's history. A deleted or superseded decision gives the AI's answer
back. Migration 0009 brings existing databases there. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, select, update

from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.rubric import load_rubric
from scorer.store import Store
from scorer.store.dashboard.agents import agent_card
from scorer.store.dashboard.detail import criterion_view
from scorer.store.dashboard.filters import Filters, resolve, week_of
from scorer.store.dashboard.listing import ListQuery, list_page
from scorer.store.dashboard.overview import overview
from scorer.store.engine import alembic_config, upgrade
from scorer.store.models import ConversationRow, JudgementRow, ScoreCardRow
from scorer.store.reviews import record_review
from scorer.store.rollup_models import ROLLUP_TABLES
from scorer.types import Review, Rubric
from tests._dashboard_data import RUBRIC, conversation
from tests._pg import store_on
from tests.test_auto_fail_sure import POLITE, _pending_card
from tests.test_auto_fail_sure import RUBRIC as AF_RUBRIC
from tests.test_dashboard_rollups import POLICY, assert_consistent, rollup_rows

AGENT = "A-1"
N = 16  # A-1 handles conversations 0, 5, 10 and 15


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from store_on(request.param, tmp_path)


def scored(store: Store) -> Rubric:
    rubric = load_rubric(RUBRIC)
    for i in range(N):
        score_conversation(conversation(i), rubric, FakeJudge(), store=store, policy=POLICY)
    return rubric


def judgement(store: Store, external_id: str, criterion_id: str) -> JudgementRow:
    with store.session() as s:
        return s.scalars(select(JudgementRow).join(ScoreCardRow).join(ConversationRow).where(
            ConversationRow.external_id == external_id, JudgementRow.criterion_id == criterion_id)
            .order_by(JudgementRow.id.desc())).first()  # type: ignore[return-value]


def decide(store: Store, j: JudgementRow, external_id: str, kind: str, answer: str | None, annotation: str,
           version: str, rubric: Rubric, comment: str | None = None) -> None:
    assert record_review(store, j.id, Review(
        conversation_id=external_id, criterion_id=j.criterion_id, rubric_version=rubric.version, kind=kind,  # type: ignore[arg-type]
        answer=answer, comment=comment, reviewer="lead", source="label_studio", external_id=annotation),
        external_version=version)


def card_of(store: Store, external_id: str) -> tuple[float | None, list[dict[str, Any]]]:
    with store.session() as s:
        card = s.scalars(select(ScoreCardRow).join(ConversationRow).where(ConversationRow.external_id == external_id)
                         .order_by(ScoreCardRow.id.desc())).first()
        assert card is not None
        return card.score, list(card.payload.get("score_history", []))


def week(external_id: str) -> date:
    """The Monday of the week of the seed's conversation ``external_id`` (``conv-005``)."""
    started = conversation(int(external_id[-3:])).started_at
    assert started is not None
    return week_of(started.date())


def target(store: Store, rubric: Rubric) -> tuple[str, str]:
    """(conversation of A-1, criterion) where the AI's answer passes (yes, no auto-fail) and the criterion is
    among the agent's coached ones already (missed elsewhere), so a correction to "no" keeps it coached."""
    with store.session() as s:
        coached = [i.stats.criterion_id for i in agent_card(s, resolve(s, Filters(all_dates=True)), AGENT).coaching]  # type: ignore[union-attr]
    for criterion_id in coached:
        if rubric.criterion(criterion_id).auto_fail:
            continue
        for i in range(0, N, 5):
            j = judgement(store, conversation(i).id, criterion_id)
            if j.status == "scored" and j.answer == "yes" and (card_of(store, conversation(i).id)[0] or 0) > 0:
                return conversation(i).id, criterion_id
    raise AssertionError("the seed has no passing answer of a coached criterion for A-1")


def seen(store: Store, external_id: str, criterion_id: str) -> dict[str, Any]:
    """What every page says about ``criterion_id`` (and ``external_id``'s week), read from the rollups and exactly."""
    out: dict[str, Any] = {}
    for exact in (False, True):
        with store.session() as s:
            scope = resolve(s, Filters(all_dates=True), exact=exact)
            o = overview(s, scope)
            card = agent_card(s, scope, AGENT)
            assert card is not None
            mine = next(now for now, _ in card.criteria if now.criterion_id == criterion_id)
            coached = {i.stats.criterion_id: i for i in card.coaching}
            missed = coached[criterion_id].missed if criterion_id in coached else []
            rows, _ = list_page(s, scope, ListQuery(criterion=criterion_id, outcome="fail", page_size=100))
            view = criterion_view(s, scope, criterion_id)
            assert view is not None
            out[f"exact={exact}"] = {
                "overview": next((c.passed, c.failed) for c in o.criteria if c.criterion_id == criterion_id),
                "agent": (mine.passed, mine.failed, mine.pass_rate),
                "agent average": card.totals.average,
                "missed": {(e.conversation_id, e.answer, e.rationale) for e in missed},
                "week": next(b.average for b in o.weeks if b.key == week(external_id).isoformat()),
                "failing list": {r.conversation_id for r in rows},
                "criterion page": (view.stats.passed, view.stats.failed)}
    assert out["exact=False"] == out["exact=True"], "the rollups and the exact queries agree"
    return out["exact=False"]


def test_a_reviewers_correction_counts_on_every_page_and_in_the_score(store: Store) -> None:
    rubric = scored(store)
    external_id, criterion_id = target(store, rubric)
    before, (old_score, history) = seen(store, external_id, criterion_id), card_of(store, external_id)
    assert history == [] and old_score is not None

    j = judgement(store, external_id, criterion_id)
    decide(store, j, external_id, "corrected", "no", "7", "v1", rubric, comment="Never said what was wrong.")
    after, (new_score, history) = seen(store, external_id, criterion_id), card_of(store, external_id)

    passed, failed = before["overview"]
    assert after["overview"] == (passed - 1, failed + 1)
    assert after["criterion page"] == (passed - 1, failed + 1)
    p, f, _ = before["agent"]
    assert after["agent"][:2] == (p - 1, f + 1) and after["agent"][2] == pytest.approx((p - 1) / (p + f))
    assert (external_id, "no", "Never said what was wrong.") in after["missed"]  # coached with the reviewer's word
    assert external_id not in before["failing list"] and external_id in after["failing list"]
    weight = rubric.criterion(criterion_id).weight
    assert new_score is not None and new_score < old_score  # the card is re-scored with the reviewer's answer
    judged = sum(c.weight for c in rubric.criteria if (jj := judgement(store, external_id, c.id)).status == "scored"
                 and jj.answer != "na")
    assert new_score == pytest.approx(old_score - 100 * weight / judged, abs=0.01)  # scores are rounded
    assert [(h["score"], h.get("review")) for h in history] == [(old_score, True)] and history[0]["replaced_at"]
    week_cards = sum(week(conversation(i).id) == week(external_id) for i in range(N))
    assert after["week"] == pytest.approx(before["week"] + (new_score - old_score) / week_cards)  # the trend
    assert after["agent average"] < before["agent average"]
    with store.session() as s:  # the AI's answer stays in the judgement (and its history)
        assert s.get_one(JudgementRow, j.id).answer == "yes"
    assert_consistent(store)


def test_a_deleted_or_superseded_decision_gives_the_ai_answer_back(store: Store) -> None:
    rubric = scored(store)
    external_id, criterion_id = target(store, rubric)
    before, (old_score, _) = seen(store, external_id, criterion_id), card_of(store, external_id)
    j = judgement(store, external_id, criterion_id)

    decide(store, j, external_id, "corrected", "no", "7", "v1", rubric)
    assert seen(store, external_id, criterion_id)["overview"] != before["overview"]
    decide(store, j, external_id, "confirmed", "yes", "7", "v2", rubric)  # the annotation updated: v1 superseded
    assert seen(store, external_id, criterion_id) == before and card_of(store, external_id)[0] == old_score
    assert_consistent(store)

    decide(store, j, external_id, "corrected", "no", "8", "v1", rubric)  # a second reviewer's annotation...
    assert card_of(store, external_id)[0] != old_score
    decide(store, j, external_id, "deleted", None, "8", "deleted:1", rubric)  # ...deleted
    assert seen(store, external_id, criterion_id) == before
    score, history = card_of(store, external_id)
    corrected = history[1]["score"]
    assert score == old_score and corrected != old_score  # each change kept: AI's, corrected, back, again, back
    assert [(h["score"], h["review"]) for h in history] == [(old_score, True), (corrected, True),
                                                             (old_score, True), (corrected, True)]
    assert_consistent(store)


def test_a_deleted_confirmation_of_a_pending_auto_fail_leaves_it_pending_again(store: Store) -> None:
    row_id, _ = _pending_card(store)
    decision = Review(conversation_id="polite", criterion_id="no_blame", rubric_version=AF_RUBRIC.version,
                      kind="confirmed", answer="no", reviewer="qa", source="label_studio", external_id="3")
    assert record_review(store, row_id, decision, external_version="1")
    card = store.find_score_card(POLITE, AF_RUBRIC, "fake:no")
    assert card is not None and card.auto_failed and card.score == 0.0
    gone = decision.model_copy(update={"kind": "deleted", "answer": None})
    assert record_review(store, row_id, gone, external_version="deleted:1")
    card = store.find_score_card(POLITE, AF_RUBRIC, "fake:no")
    assert card is not None and not card.auto_failed and card.provisional  # the AI's unsure "no" again
    assert card.pending_auto_fail == ["no_blame"] and card.score == pytest.approx(33.33)


def test_migration_0009_rescores_reviewed_cards_and_rebuilds_the_rollups(store: Store) -> None:
    rubric = scored(store)
    external_id, criterion_id = target(store, rubric)
    old_score, _ = card_of(store, external_id)
    with store.session() as s:
        card_id, payload = s.execute(select(ScoreCardRow.id, ScoreCardRow.payload).join(ConversationRow).where(
            ConversationRow.external_id == external_id)).one()
    decide(store, judgement(store, external_id, criterion_id), external_id, "corrected", "no", "7", "v1", rubric)
    expected, (new_score, _) = seen(store, external_id, criterion_id), card_of(store, external_id)
    assert new_score != old_score
    with store.engine.connect() as conn:
        fresh = rollup_rows(conn)
    config = alembic_config(store.engine.url.render_as_string(hide_password=False))
    with store.engine.begin() as conn:  # as a database reviewed before 0009 is: the AI's score, AI-counted rollups
        config.attributes["connection"] = conn
        command.downgrade(config, "0008")
        conn.execute(update(ScoreCardRow).where(ScoreCardRow.id == card_id).values(score=old_score, payload=payload))
        for table in ROLLUP_TABLES:
            conn.execute(delete(table))
    assert card_of(store, external_id)[0] == old_score
    upgrade(store.engine)
    score, history = card_of(store, external_id)
    assert score == new_score and history[-1]["score"] == old_score and history[-1]["migration"] == "0009"
    with store.engine.connect() as conn:
        assert rollup_rows(conn) == fresh
    assert seen(store, external_id, criterion_id) == expected


def test_a_retry_of_unscored_judgements_keeps_the_reviewers_answers(store: Store) -> None:
    rubric = load_rubric(RUBRIC)
    c = conversation(0)
    judge = FakeJudge("unscored")
    score_conversation(c, rubric, judge, store=store, policy=POLICY)  # the model answered nothing
    criterion_id = next(cr.id for cr in rubric.criteria if cr.check is None and not cr.auto_fail)
    decide(store, judgement(store, c.id, criterion_id), c.id, "corrected", "no", "7", "v1", rubric)
    all_yes = score_conversation(c, rubric, FakeJudge("yes"))[0].score  # what the retry alone would score
    judge.mode = "yes"  # the same judge answers this time
    score_conversation(c, rubric, judge, store=store, policy=POLICY)  # the unscored rows are retried: "yes"
    assert judgement(store, c.id, criterion_id).answer == "yes"
    score, history = card_of(store, c.id)
    assert all_yes is not None and score is not None and score < all_yes  # the reviewer's "no" still counts
    assert history and history[-1]["score"] == all_yes and history[-1]["review"] is True
    assert_consistent(store)
