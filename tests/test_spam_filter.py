"""The learned spam filter (real e5 embeddings): trained on half of a spam/real-support fixture set in four
languages, it excludes the held-out spam the phrase rules miss and keeps the held-out real conversations; rules
come first; the threshold and the switch are honoured; too few labels are refused with the counts and nothing is
written; `rubricate train --spam` trains it from the stored labels and scoring then excludes as learned:spam."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from eval.spam_training import MIN_PER_CLASS, NotEnoughSpamLabels, train_spam
from scorer.eligibility import LEARNED_SPAM, exclusion, exclusion_reason
from scorer.judges.fake import FakeJudge
from scorer.output import card_to_record
from scorer.pipeline import score_conversation
from scorer.programme import Eligibility
from scorer.rubric import parse_rubric
from scorer.settings import Settings
from scorer.spam import SpamFilter, SpamModel, load_spam_filter
from scorer.store import Store
from scorer.store.conversation_labels import SPAM, record_label
from scorer.types import Conversation
from tests._api_fixtures import make_settings, open_api
from tests._spam_data import HELD_OUT_NORMAL, HELD_OUT_SPAM, NORMAL, TRAIN, featuriser
from tests._spam_data import SPAM as SPAM_CONVERSATIONS

pytestmark = pytest.mark.slow
RUBRIC = parse_rubric("""
id: spamcheck
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
""")


@pytest.fixture(scope="module")
def spam_filter() -> SpamFilter:
    f = featuriser()
    return SpamFilter(train_spam(TRAIN, featuriser=f), featuriser=f)


def test_held_out_spam_is_excluded_and_real_conversations_are_kept(spam_filter: SpamFilter) -> None:
    rules = Eligibility()
    assert {c.language for c in HELD_OUT_SPAM} == {"en", "zh", "ro", "bg"}
    assert all(exclusion_reason(c, rules) is None for c in HELD_OUT_SPAM + HELD_OUT_NORMAL)  # the rules miss them
    spam = {c.id: exclusion(c, rules, spam_filter) for c in HELD_OUT_SPAM}
    kept = {c.id: exclusion(c, rules, spam_filter) for c in HELD_OUT_NORMAL}
    assert all(found is not None and found[0] == LEARNED_SPAM and found[1] is not None
               and found[1] >= rules.learned_spam_threshold for found in spam.values()), spam
    assert all(found is None for found in kept.values()), kept
    model = spam_filter.model
    assert model.trained_on == {"spam": 12, "not_spam": 15} and model.embedding == "e5"
    assert set(model.heldout["at"]) >= {"0.80", "0.90"} and model.heldout["n"] == 27


def test_rules_come_first_and_the_threshold_and_switch_are_honoured(spam_filter: SpamFilter) -> None:
    held = HELD_OUT_SPAM[0]
    tagged = held.model_copy(update={"tags": ["spam"]})
    assert exclusion(tagged, Eligibility(), spam_filter) == ("tag:spam", None)
    rule_spam = Conversation.model_validate({**held.model_dump(), "turns": [
        {"speaker": "customer", "text": "You have won! Click here: http://x.example"},
        *[t.model_dump() for t in held.turns[1:]]]})
    assert exclusion(rule_spam, Eligibility(), spam_filter) == ("spam", None)
    p = spam_filter.probability(held)
    assert exclusion(held, Eligibility(learned_spam_threshold=min(1.0, p + 0.01)), spam_filter) is None
    assert exclusion(held, Eligibility(learned_spam_threshold=max(0.5, p - 0.01)), spam_filter) == (LEARNED_SPAM, p)
    assert exclusion(held, Eligibility(exclude_spam=False), spam_filter) is None


def test_too_few_labels_say_so_and_train_nothing(tmp_path: Path) -> None:
    few = [(c, True) for c in SPAM_CONVERSATIONS[: MIN_PER_CLASS - 1]] + [(c, False) for c in NORMAL[:10]]
    with pytest.raises(NotEnoughSpamLabels, match=rf"at least {MIN_PER_CLASS} .* there are 4 and 10.*review pull"):
        train_spam(few)
    db = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store(db)
    for conversation, value in few:
        store.save_conversation(conversation)
        record_label(store, conversation.id, SPAM, value, reviewer="7", source="label_studio", external_id="1",
                     external_version="v1")
    store.close()
    result = CliRunner().invoke(build_app(), ["train", "--spam", "--from", "reviews", "--db", db],
                                env={"RUBRICATE_DATA_DIR": str(tmp_path / "data")})
    # `rubricate` prints a RubricateError as one line (cli.main); CliRunner hands the exception back
    assert isinstance(result.exception, NotEnoughSpamLabels) and "there are 4 and 10" in str(result.exception)
    assert not (tmp_path / "data" / "models" / "spam").exists()


def test_train_command_and_scoring_exclude_as_learned_spam(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store(db)
    for n, (conversation, value) in enumerate(TRAIN):
        store.save_conversation(conversation)
        record_label(store, conversation.id, SPAM, value, reviewer="7", source="label_studio", external_id=str(n),
                     external_version="v1")
    env = {"RUBRICATE_DATA_DIR": str(tmp_path / "data")}
    result = CliRunner().invoke(build_app(), ["train", "--spam", "--from", "reviews", "--db", db], env=env)
    assert result.exit_code == 0, result.output
    assert "trained on 12 spam and 15 not-spam" in result.output and "P(spam) ≥ 0.80" in result.output
    manifest = json.loads((tmp_path / "data" / "models" / "spam" / "manifest.json").read_text())
    assert manifest["trained_on"] == {"spam": 12, "not_spam": 15}
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    loaded = load_spam_filter(settings)
    assert loaded is not None and isinstance(loaded.model, SpamModel)
    judge = FakeJudge("yes")
    card, _ = score_conversation(HELD_OUT_SPAM[1], RUBRIC, judge, store=store, spam=loaded)
    assert (card.status, card.excluded_reason) == ("excluded", LEARNED_SPAM) and judge.calls == 0
    assert card.excluded_confidence is not None and card.excluded_confidence >= 0.8
    stored = store.find_score_card(HELD_OUT_SPAM[1], RUBRIC, judge.id)
    assert stored is not None and stored.excluded_confidence == card.excluded_confidence
    assert card_to_record(card, RUBRIC)["confidence"] == card.excluded_confidence
    kept, _ = score_conversation(HELD_OUT_NORMAL[0], RUBRIC, judge, store=store, spam=loaded)
    assert kept.status == "scored" and judge.calls == 1
    forced, _ = score_conversation(HELD_OUT_SPAM[1], RUBRIC, judge, store=store, spam=loaded, include_excluded=True)
    assert forced.status == "scored"
    store.close()
    assert load_spam_filter(Settings(_env_file=None, data_dir=tmp_path / "none")) is None  # type: ignore[call-arg]
    with open_api(make_settings(tmp_path, judge="fake:yes")) as api:  # the service's worker uses it too
        api.add_rubric()
        spam, normal = (c.model_dump(mode="json") for c in (HELD_OUT_SPAM[1], HELD_OUT_NORMAL[0]))
        assert api.wait_job(api.ingest(spam, normal).json()["job_id"])["status"] == "done"
        cards = {cid: api.client.get(f"/v1/conversations/{cid}/scorecard", headers=api.auth("ingest")).json()
                 for cid in (spam["id"], normal["id"])}
    assert (cards[spam["id"]]["status"], cards[spam["id"]]["excluded_reason"]) == ("excluded", LEARNED_SPAM)
    assert cards[spam["id"]]["excluded_confidence"] == pytest.approx(card.excluded_confidence)
    assert cards[normal["id"]]["status"] == "scored"
