"""Evaluation: metrics against scikit-learn/krippendorff on hand-made cases, calibration, dataset errors, the
learned judge on real shared data, the harness JSON and the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.calibration import calibrate_criterion, fit_threshold
from eval.datasets import load_dataset, split
from eval.metrics import agreement, bootstrap_ci, ece, evidence_scores, human_human_kappa, krippendorff_alpha
from scorer import ConversationError
from scorer.rubric import parse_rubric

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
RUBRIC = parse_rubric("""
id: ev
criteria:
  - {id: a, question: "Did the agent greet?"}
  - {id: b, question: "Did the agent solve it?", scale: yes_no_na}
""")


def test_agreement_matches_sklearn_and_reports_na_vs_no() -> None:
    from sklearn.metrics import cohen_kappa_score

    human = ["yes", "no", "na", "na", "yes", "no"]
    ai = ["yes", "no", "no", "na", "no", "no"]
    out = agreement(human, ai, ["no", "yes", "na"])
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["kappa"] == pytest.approx(cohen_kappa_score(human, ai))
    assert out["na_vs_no"] == 1 and out["no_vs_na"] == 0
    assert out["confusion"]["matrix"][2] == [1, 0, 1]  # human na: once called no, once na


def test_single_class_kappa_is_null_with_a_reason() -> None:
    out = agreement(["yes"] * 5, ["yes"] * 5, ["no", "yes"])
    assert out["kappa"] is None and "one class" in out["note"] and out["accuracy"] == 1.0


def test_human_baseline_and_alpha() -> None:
    import krippendorff

    annotators = [[{"a": "yes"}, {"a": "yes"}, {"a": "no"}], [{"a": "no"}, {"a": "no"}, {"a": "no"}],
                  [{"a": "yes"}, {"a": "yes"}, {"a": "yes"}], [{"a": "no"}, {"a": "yes"}, {"a": "no"}]]
    alpha = krippendorff_alpha(annotators, "a", ["no", "yes"])
    data = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [0, 0, 1, 0]], dtype=float)
    assert alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    kappa = human_human_kappa(annotators, "a")
    assert kappa is not None and -1 <= kappa <= 1
    assert human_human_kappa([[{"a": "yes"}]], "a") is None


def test_bootstrap_ci_contains_the_estimate() -> None:
    human = ["yes", "no"] * 30
    ai = ["yes", "no"] * 25 + ["no", "yes"] * 5
    low, high = bootstrap_ci(human, ai, "accuracy", seed=1)  # type: ignore[misc]
    assert low < 50 / 60 < high
    assert bootstrap_ci(human[:4], ai[:4]) is None


def test_ece_and_evidence_scores() -> None:
    assert ece([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert ece([1.0] * 4, [False] * 4) == pytest.approx(1.0)
    assert evidence_scores([{1, 2}, {0}], [{2}, {0, 3}]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))


def test_calibration_lowers_ece_on_held_out_items_and_refuses_small_samples() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 2000)
    correct = rng.uniform(0, 1, 2000) < (confidence - 0.3)  # overconfident by 0.3
    result = calibrate_criterion(confidence.tolist(), correct.tolist(), target=0.6, default_threshold=0.8)
    assert result["method"] == "isotonic" and result["ece_after"] < result["ece_before"] / 2
    cut = fit_threshold(confidence.tolist(), correct.tolist(), 0.6)
    assert cut is not None and cut["accuracy"] >= 0.6
    small = calibrate_criterion([0.9] * 5, [True, False] * 2 + [True], target=0.9, default_threshold=0.8)
    assert small["threshold"] == 0.8 and "only 5" in small["note"]


def test_dataset_errors_name_line_and_criterion(tmp_path: Path) -> None:
    turn = [{"speaker": "agent", "text": "hi"}]
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"id": "1", "turns": turn, "labels": {"zz": "yes"}}) + "\n")
    with pytest.raises(ConversationError, match=r"d.jsonl:1.*not in rubric.*zz"):
        load_dataset(path, RUBRIC)
    path.write_text(json.dumps({"id": "1", "turns": turn, "labels": {"a": "na"}}) + "\n")
    with pytest.raises(ConversationError, match="'na' for 'a' is not one of"):
        load_dataset(path, RUBRIC)
    path.write_text(json.dumps({"id": "1", "turns": turn}) + "\n" +
                    json.dumps({"id": "2", "turns": turn, "labels": {"a": "yes"}}) + "\n")
    data = load_dataset(path, RUBRIC)
    assert len(data) == 1 and data.skipped_unlabelled == 1


@pytest.mark.slow
def test_learned_judge_on_shared_data_trains_predicts_and_round_trips(tmp_path: Path) -> None:
    from eval.harness import evaluate, predict
    from eval.report import evaluation_report
    from eval.training import train
    from scorer.judges.learned import LearnedJudge, LearnedModel
    from scorer.rubric import load_rubric

    folder = SHARED / "stc3-en"
    if not folder.exists():
        pytest.skip(f"the shared datasets are not at {SHARED}")
    rubric = load_rubric(folder / "rubric.yaml")
    data = load_dataset(folder / "data.jsonl", rubric)
    small = type(data)(data.items[:240])
    train_set, test_set = split(small, 0.25, 13)
    assert not {i.conversation.id for i in train_set.items} & {i.conversation.id for i in test_set.items}
    model = train(train_set, rubric, embeddings=["minilm", "e5"], repeats=1)  # one split: this test is not about noise
    saved = LearnedModel.load(model.save(tmp_path / "m"))
    assert set(saved.choices()) == {c.id for c in rubric.criteria} - set(saved.untrainable)
    assert all(m.heldout_kappa and m.embedding in ("minilm", "e5") for m in saved.criteria.values())
    judge = LearnedJudge(saved)
    predictions = predict(judge, test_set, rubric)
    metrics = evaluate(test_set, predictions, rubric)
    per = metrics.per_criterion["solution_provided"]
    assert per.n == len(test_set) and per.accuracy is not None and per.accuracy > 0.6
    assert per.human_human_kappa is not None and per.evidence_precision is not None
    as_json = metrics.to_json()
    assert set(as_json) == {"overall", "per_criterion"}
    assert "reliability" not in as_json["per_criterion"]["solution_provided"]
    assert as_json["per_criterion"]["solution_provided"]["kappa"] == per.kappa
    for item, pred in zip(test_set.items, predictions, strict=True):
        for e in pred["solution_provided"].evidence:
            assert item.conversation.turns[e.turn].text[e.start : e.end] == e.quote
    html = evaluation_report(metrics, title="t")
    assert html.count("data:image/png;base64") >= 6 and "human_human_kappa" in html


def test_auc_matches_scikit_learn() -> None:
    from sklearn.metrics import roc_auc_score

    from eval.metrics import auc

    positive = [True, False, True, True, False, False, True, False]
    scores = [0.9, 0.2, 0.4, 0.4, 0.5, 0.1, 0.8, 0.4]
    assert auc(positive, scores) == pytest.approx(roc_auc_score(positive, scores))
    assert auc([True, True], [0.1, 0.2]) is None


def test_featuriser_cache_is_bounded() -> None:
    from scorer.judges._features import Featuriser

    featuriser = Featuriser(max_cached=3)
    first = featuriser.embed(["a", "b", "c", "d", "e"])
    assert len(featuriser._cache) == 3 and first.shape[0] == 5
    assert np.allclose(featuriser.embed(["a"]), first[:1], atol=1e-5)  # evicted, embedded again, same vector
