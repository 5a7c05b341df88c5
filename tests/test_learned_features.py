"""The learned judge's turn feature sets (recorded per criterion, refused when unknown) and the decision cut fitted
for κ on out-of-fold scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.training import kappa_cut, train
from scorer._errors import JudgeError
from scorer.judges._features import TURN_FEATURES, Featuriser
from scorer.judges.learned import LearnedJudge, LearnedModel
from scorer.types import Conversation
from tests.test_learned_judge import RUBRIC, BagOfWords, _dataset


def test_reply_features_add_the_other_speakers_last_turn_and_its_agreement() -> None:
    featuriser = Featuriser("bow", embedder=BagOfWords())
    conversation = Conversation(id="c", turns=[
        {"speaker": "customer", "text": "my order is late"}, {"speaker": "agent", "text": "sorry"},
        {"speaker": "agent", "text": "my order is late"}])
    index, previous = featuriser.turn_features(conversation, "agent")
    same, reply = featuriser.turn_features(conversation, "agent", kind="reply")
    assert index == same == [1, 2] and previous.shape == (2, 2 * 64 + 2) and reply.shape == (2, 4 * 64 + 3)
    turns = featuriser.turn_vectors(conversation)
    np.testing.assert_allclose(reply[1, 2 * 64 : 3 * 64], turns[0])  # the customer's turn, not the agent's "sorry"
    assert reply[1, 4 * 64] == pytest.approx(float(turns[2] @ turns[0]))  # cosine with what the customer said
    with pytest.raises(JudgeError, match="unknown turn features"):
        featuriser.turn_features(conversation, "agent", kind="bigrams")


def test_a_model_records_its_turn_features_and_refuses_unknown_ones(tmp_path: Path) -> None:
    featurisers = {"bow": Featuriser("bow", embedder=BagOfWords())}
    model = train(_dataset(80), RUBRIC, featurisers=featurisers, turn_features="reply")
    refund = model.criteria["refund"]
    assert refund.level == "turn" and refund.turn_features == "reply"
    assert model.choices()["refund"]["turn_features"] == "reply"
    judge = LearnedJudge(model, featurisers=featurisers)
    answer = judge.judge(_dataset(1, seed=4).items[0].conversation, RUBRIC.criteria)[0]
    assert answer.answer in ("yes", "no") and "featurising failed" not in (answer.rationale or "")
    model.embeddings = {}  # the bag-of-words stand-in has no installed fingerprint to check
    refund.turn_features = "bigrams"  # a model from a version with other turn features
    model.save(tmp_path / "m")
    with pytest.raises(JudgeError, match="turn features 'bigrams'"):
        LearnedModel.load(tmp_path / "m")
    assert TURN_FEATURES[0] == "previous"  # the layout of models trained before feature sets were recorded


def test_kappa_cut_moves_the_decision_for_a_rare_class_and_keeps_one_half_when_nothing_is_gained() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.15).astype(int)
    scores = np.clip(0.55 + 0.3 * y + rng.normal(0, 0.08, 400), 0, 1)  # over-answers "1" at 0.5
    cut = kappa_cut(scores, list(y))
    assert cut > 0.6
    assert kappa_cut(np.where(y == 1, 0.9, 0.1), list(y)) == 0.5  # already perfect at 0.5: the tie keeps 0.5


def test_held_out_kappa_is_the_mean_over_differently_seeded_splits() -> None:
    from eval.training import _repeated
    from scorer.judges.learned import CriterionModel

    y = ["yes", "no"] * 10
    seen: list[int] = []

    def make(seed: int) -> tuple[CriterionModel, np.ndarray, list[str]]:
        seen.append(seed)
        right = y if seed == 7 else ["yes"] * 10 + ["no"] * 10  # the first split perfect, the others chance
        return CriterionModel("bow", "conversation", None), np.ones(len(y)), right

    found = _repeated(make, y, 7, 3)
    assert found is not None
    _, _, predicted, kappa = found
    assert len(set(seen)) == 3 and seen[0] == 7 and predicted == y  # answers and model from the first split
    assert kappa == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert _repeated(lambda seed: None, y, 7, 3) is None
