"""The learned judge's lexical turn features (character n-grams beside the embedding), the joint turn classifier over
criteria whose evidence turns never overlap, and the aggregation of turn scores — all chosen by held-out κ and
recorded in the model."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from eval._turn_training import exclusive_groups
from eval.datasets import Dataset, LabelledConversation
from eval.training import train
from scorer._errors import JudgeError
from scorer.judges._aggregate import aggregate
from scorer.judges._features import Featuriser
from scorer.judges.learned import LearnedJudge, LearnedModel
from scorer.rubric import parse_rubric
from scorer.types import Conversation
from tests.test_learned_judge import WORDS, BagOfWords

RUBRIC = parse_rubric("""
id: acts
criteria:
  - {id: refund, question: "Did the agent offer a refund?"}
  - {id: apology, question: "Did the agent apologise?"}
""")


class Blind:
    """An embedder that sees nothing: every text gets the same vector (only the lexical features can tell turns
    apart)."""

    name, fingerprint, dim = "blind", "blind/1", 8

    def features(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), self.dim), dtype=np.float32) / np.sqrt(self.dim)

    passages = features


def _acts(n: int, seed: int = 0) -> Dataset:
    """Agent turns carry at most one act: a refund offer ("refund?") or an apology ("apologies!"), like a corpus
    with one dialogue-act label per turn."""
    rng = random.Random(seed)
    items = []
    for k in range(n):
        turns: list[dict[str, str]] = []
        evidence: dict[str, list[int]] = {"refund": [], "apology": []}
        for i in range(rng.randint(4, 7)):
            speaker = "customer" if i % 2 == 0 else "agent"
            words = rng.sample(WORDS, 4)
            act = rng.choice(["refund", "apology", None, None]) if speaker == "agent" else None
            if act:
                words.append("refund?" if act == "refund" else "apologies!")
                evidence[act].append(i)
            turns.append({"speaker": speaker, "text": " ".join(words)})
        labels = {cid: "yes" if found else "no" for cid, found in evidence.items()}
        items.append(LabelledConversation(Conversation(id=f"a{k}", turns=turns), labels,
                                          {c: v for c, v in evidence.items() if v}))
    return Dataset(items)


def test_lexical_rows_are_the_previous_features_beside_the_turn_text() -> None:
    featuriser = Featuriser("bow", embedder=BagOfWords())
    conversation = Conversation(id="c", turns=[{"speaker": "customer", "text": "late order"},
                                               {"speaker": "agent", "text": "refund?"}])
    index, previous = featuriser.turn_features(conversation, "agent")
    same, lexical = featuriser.turn_features(conversation, "agent", kind="lexical")
    assert index == same == [1] and lexical.shape == (1, 2) and lexical.dtype == object
    np.testing.assert_allclose(lexical[0, 0], previous[0])
    assert lexical[0, 1] == "refund?"


def test_lexical_features_find_a_cue_the_embedding_cannot_see(tmp_path: Path) -> None:
    featurisers = {"blind": Featuriser("blind", embedder=Blind())}
    candidates: dict[str, dict] = {}
    model = train(_acts(80), RUBRIC, featurisers=featurisers, joint=False, candidates_out=candidates)
    refund = model.criteria["refund"]
    assert refund.label == "blind/turn+lexical" and refund.turn_features == "lexical"
    kappas = refund.heldout_kappa
    assert kappas["blind/turn+lexical"] > 0.8 > 0.3 > kappas["blind/turn"]
    assert model.choices()["refund"]["turn_features"] == "lexical"
    model.embeddings = {}  # the stand-in embedder has no installed fingerprint to check
    loaded = LearnedModel.load(model.save(tmp_path / "m"))  # the fitted vectoriser pickles with the classifier
    judge = LearnedJudge(loaded, featurisers=featurisers)
    test = _acts(30, seed=3)
    right = sum(judge.judge(item.conversation, RUBRIC.criteria)[0].answer == item.labels["refund"]
                for item in test.items)
    assert right >= 27


def test_joint_classifier_only_where_no_turn_is_evidence_for_two_criteria() -> None:
    data = _acts(6)
    speakers = {"refund": ("agent", "yes"), "apology": ("agent", "yes")}
    groups = exclusive_groups(data.items, speakers)
    assert groups["refund"] == groups["apology"] == {"refund": "yes", "apology": "yes"}
    both = next(item for item in data.items if item.evidence.get("refund"))
    both.evidence["apology"] = [both.evidence["refund"][0]]  # one turn that does both
    both.labels["apology"] = "yes"
    assert exclusive_groups(data.items, speakers) == {}
    assert exclusive_groups(_acts(6).items, {"refund": ("agent", "yes"), "apology": ("customer", "yes")}) == {}


def test_joint_candidate_is_trained_recorded_and_judges() -> None:
    featurisers = {"bow": Featuriser("bow", embedder=BagOfWords())}
    candidates: dict[str, dict] = {}
    model = train(_acts(60), RUBRIC, featurisers=featurisers, turn_features="lexical", levels=("turn",),
                  joint=True, candidates_out=candidates)
    joint = candidates["apology"]["bow/turn+lexical+joint"]
    assert joint.turn_class == "apology" and set(joint.classifier.classes_) == {"", "refund", "apology"}
    assert set(candidates["refund"]) == {"bow/turn+lexical", "bow/turn+lexical+joint"}
    model.criteria = {cid: found["bow/turn+lexical+joint"] for cid, found in candidates.items()}
    assert model.choices()["refund"]["joint"] is True
    judge = LearnedJudge(model, featurisers=featurisers)
    test = _acts(30, seed=5)
    right = [j.answer == item.labels[j.criterion_id] for item in test.items
             for j in judge.judge(item.conversation, RUBRIC.criteria)]
    assert sum(right) >= 0.9 * len(right)


def test_aggregations_of_turn_scores_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    scores = [0.2, 0.9, 0.5]
    assert aggregate(scores, "max") == pytest.approx(0.9)
    assert aggregate(scores, "top2") == pytest.approx(0.7)
    assert aggregate(scores, "noisy_or") == pytest.approx(1 - 0.8 * 0.1 * 0.5)
    assert aggregate([], "top2") == 0.0 and aggregate([0.4], "top2") == pytest.approx(0.4)
    with pytest.raises(JudgeError, match="unknown turn aggregation"):
        aggregate(scores, "median")
    featurisers = {"bow": Featuriser("bow", embedder=BagOfWords())}
    model = train(_acts(40), RUBRIC, featurisers=featurisers, turn_features="previous", levels=("turn",),
                  joint=False, repeats=1)
    model.embeddings = {}
    model.criteria["refund"].aggregate = "median"  # a model from a version with other aggregations
    with pytest.raises(JudgeError, match="by 'median'"):
        LearnedModel.load(model.save(tmp_path / "m"))
