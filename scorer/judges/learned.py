"""The learned judge: per-criterion scikit-learn classifiers on sentence-embedding features, trained on human
labels (a labelled dataset or reviewers' decisions) by ``eval.training.train``.
Registry name: ``learned`` (the model saved for the rubric version under the models dir) or ``learned:<path>``.

Each criterion has its own choice, made at training by held-out κ on the training data:

- the embedding (``e5``, multilingual, the default; ``minilm``; or a model folder), and
- the level: ``conversation`` (one classifier on pooled turn vectors) or ``turn`` (a classifier of each turn of the
  criterion's speaker in context — the previous turn plus this one — trained on the evidence turns; the
  conversation's answer is read from its turns' scores, through a calibration fitted on held-out scores), and
- at turn level, the turn feature set (``_features.TURN_FEATURES``; ``lexical`` adds the turn's character n-grams),
  the aggregation of turn scores (``_aggregate.AGGREGATES``) and whether the turn classifier is one per criterion or
  one joint multinomial classifier over all the criteria whose evidence turns never overlap (``turn_class`` names
  the class whose probability is this criterion's turn score).

Confidence is the (calibrated) classifier probability (``classifier`` kind); ``accept_threshold`` is the
confidence that kept the target accuracy on held-out training predictions (the cascade judge uses it). Evidence:
for turn-level criteria the turns the turn classifier picks; for conversation-level ones the turn whose embedding
scores highest on the predicted answer's weights. A model records each embedding's fingerprint and refuses to load
where the installed weights differ.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from scorer._errors import JudgeError
from scorer.evidence import speaker_turns, whole_turn
from scorer.judges._aggregate import AGGREGATES, aggregate
from scorer.judges._base import Judge, JudgeOptions
from scorer.judges._embeddings import fingerprint_of
from scorer.judges._features import TURN_FEATURES, Featuriser
from scorer.types import Conversation, Criterion, Judgement

__all__ = ["FORMAT", "MIN_PER_CLASS", "CriterionModel", "LearnedJudge", "LearnedModel", "create",
           "criterion_speaker", "model_dir"]

FORMAT = 2
MIN_PER_CLASS = 3
_CUSTOMER_SUBJECT = re.compile(
    r"^\s*(did|does|was|were|is|would|has|had)\s+the\s+(customer|seeker|user|client|caller)\b", re.I)


def criterion_speaker(criterion: Criterion) -> str:
    """Whose turns a criterion is about: its ``about`` where the rubric says customer or any, else read from the
    question's subject (a rubric written before ``about`` existed: "Did the customer …?" is about the customer)."""
    if criterion.about != "agent":
        return criterion.about
    return "customer" if _CUSTOMER_SUBJECT.match(criterion.question) else "agent"


@dataclass
class CriterionModel:
    """The fitted classifier of one criterion and the choices training made for it."""

    embedding: str
    level: Literal["conversation", "turn"]
    classifier: Any
    about: str = "agent"
    positive: str = "yes"  # turn level: the answer a positive turn gives (the other is the scale's other answer)
    negative: str = "no"
    calibrator: Any = None  # turn level: maximum turn score → P(positive)
    turn_features: str = "previous"  # turn level: which of _features.TURN_FEATURES it was trained on
    aggregate: str = "max"  # turn level: which of _aggregate.AGGREGATES reads the conversation score
    turn_class: Any = 1  # turn level: the classifier's class for this criterion (1, or its id in a joint model)
    threshold: float | None = None  # auto-accept: confidence that kept the target accuracy held out
    heldout_kappa: dict[str, float | None] = field(default_factory=dict)  # label → κ

    @property
    def label(self) -> str:
        """The candidate's name in comparisons: ``<embedding>/<level>``, at turn level with ``+<features>`` (other
        than ``previous``) and ``+joint``."""
        if self.level != "turn":
            return f"{self.embedding}/{self.level}"
        return (f"{self.embedding}/turn" + ("" if self.turn_features == "previous" else f"+{self.turn_features}")
                + ("+joint" if self.turn_class != 1 else ""))


@dataclass
class LearnedModel:
    """Fitted classifiers per criterion (absent where training was impossible, with the reason)."""

    rubric_id: str
    rubric_version: str
    embeddings: dict[str, str] = field(default_factory=dict)  # name → fingerprint of the weights trained with
    criteria: dict[str, CriterionModel] = field(default_factory=dict)
    untrainable: dict[str, str] = field(default_factory=dict)
    trained_on: dict[str, int] = field(default_factory=dict)
    format: int = FORMAT

    def choices(self) -> dict[str, dict[str, Any]]:
        return {cid: {"label": m.label, "embedding": m.embedding, "level": m.level, "about": m.about,
                      "threshold": m.threshold,
                      "heldout_kappa": m.heldout_kappa}
                | ({"turn_features": m.turn_features, "aggregate": m.aggregate,
                    "joint": m.turn_class != 1} if m.level == "turn" else {})
                for cid, m in self.criteria.items()}

    def save(self, folder: Path) -> Path:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, folder / "learned.joblib")
        (folder / "manifest.json").write_text(json.dumps({
            "format": self.format, "rubric_id": self.rubric_id, "rubric_version": self.rubric_version,
            "embeddings": self.embeddings, "criteria": self.choices(), "trained_on": self.trained_on,
            "untrainable": self.untrainable}, indent=2))
        return folder

    @staticmethod
    def load(folder: Path) -> LearnedModel:
        """Load a model; refuses an old format or embedding weights other than the ones it was trained with."""
        import joblib

        path = folder / "learned.joblib"
        if not path.exists():
            raise JudgeError(f"no learned judge in {folder}: train one with `rubricate train --from DATA --rubric R`")
        model = joblib.load(path)
        if not isinstance(model, LearnedModel) or getattr(model, "format", 1) != FORMAT:
            raise JudgeError(f"{path} is not a current rubricate learned judge: retrain it with `rubricate train`")
        for name, trained in model.embeddings.items():
            here = fingerprint_of(name)
            if here != trained:
                raise JudgeError(f"the learned judge in {folder} was trained with embedding {trained}, but {name!r} "
                                 f"is {here} here; retrain it with `rubricate train`")
        for cid, m in model.criteria.items():
            if m.level == "turn" and m.turn_features not in TURN_FEATURES:
                raise JudgeError(f"the learned judge in {folder} judges {cid!r} from turn features "
                                 f"{m.turn_features!r}, which this version does not compute "
                                 f"({', '.join(TURN_FEATURES)}); retrain it with `rubricate train`")
            if m.level == "turn" and m.aggregate not in AGGREGATES:
                raise JudgeError(f"the learned judge in {folder} reads {cid!r} from its turns by {m.aggregate!r}, "
                                 f"which this version does not compute ({', '.join(AGGREGATES)}); retrain it with "
                                 "`rubricate train`")
        return model


def model_dir(models_dir: Path, rubric_version: str) -> Path:
    return models_dir / f"learned-{rubric_version}"


class LearnedJudge(Judge):
    """Judge with a :class:`LearnedModel`; see the module docstring."""

    reads_wording = False  # answers from the criterion id's classifier; the question text is not read
    independent_questions = True

    def __init__(self, model: LearnedModel, *, judge_id: str = "learned", cache_dir: Path | None = None,
                 featurisers: dict[str, Featuriser] | None = None) -> None:
        self.model = model
        self.id = judge_id
        self.featurisers = featurisers or {name: Featuriser(name, cache_dir=cache_dir) for name in model.embeddings}

    def accept_threshold(self, criterion_id: str) -> float | None:
        found = self.model.criteria.get(criterion_id)
        return found.threshold if found else None

    def prepare(self, conversations: Sequence[Conversation], criteria: Sequence[Criterion] | None = None) -> None:
        """Embed many conversations' turns in one batched pass, only with the embeddings the criteria use."""
        wanted = {m.embedding for cid, m in self.model.criteria.items()
                  if criteria is None or cid in {c.id for c in criteria}}
        for name in sorted(wanted):
            self.featurisers[name].prepare(conversations)

    def _conversation_level(self, m: CriterionModel, criterion: Criterion, conversation: Conversation,
                            turns: np.ndarray) -> tuple[dict[str, float], list[int]]:
        featuriser = self.featurisers[m.embedding]
        probs = m.classifier.predict_proba(featuriser.vector(conversation, turns)[None, :])[0]
        probabilities = {a: 0.0 for a in criterion.answers}
        probabilities.update({str(c): float(p) for c, p in zip(m.classifier.classes_, probs, strict=True)})
        answer = max(probabilities, key=lambda a: probabilities[a])
        classes = [str(c) for c in m.classifier.classes_]
        coef = m.classifier.coef_
        weights = coef[classes.index(answer)] if coef.shape[0] > 1 else (coef[0] if answer == classes[1] else -coef[0])
        dim = featuriser.dim
        candidates = speaker_turns(conversation, m.about)  # evidence only from the speaker the criterion is about
        block = weights[dim : 2 * dim] if m.about == "customer" else weights[:dim]
        if m.about == "any":
            block = weights[:dim] + weights[dim : 2 * dim]
        return probabilities, [max(candidates, key=lambda i: float(turns[i] @ block))] if candidates else []

    def _turn_level(self, m: CriterionModel, criterion: Criterion, conversation: Conversation,
                    turns: np.ndarray) -> tuple[dict[str, float], list[int]]:
        index, features = self.featurisers[m.embedding].turn_features(conversation, m.about, turns,
                                                                      kind=m.turn_features)
        column = list(m.classifier.classes_).index(m.turn_class)
        scores = m.classifier.predict_proba(features)[:, column] if index else np.zeros(0)
        top = aggregate(scores, m.aggregate)
        p = float(m.calibrator.predict_proba([[top]])[0, 1])
        probabilities = {a: 0.0 for a in criterion.answers}
        probabilities.update({m.positive: p, m.negative: 1 - p})
        ranked = sorted(zip(scores.tolist(), index, strict=True), reverse=True)
        evidence = [i for s, i in ranked if s >= 0.5][:3] or [i for _, i in ranked[:1]]
        return probabilities, evidence

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        common = {"judge_id": self.id, "model_id": f"learned@{self.model.rubric_version}", "prompt_version": "none"}
        turns: dict[str, np.ndarray] = {}
        out = []
        for criterion in criteria:
            m = self.model.criteria.get(criterion.id)
            if m is None:
                reason = self.model.untrainable.get(criterion.id, "this criterion was not in the training data")
                out.append(Judgement.unscored(criterion.id, f"learned judge: {reason}", **common))  # type: ignore[arg-type]
                continue
            try:
                if m.embedding not in turns:
                    turns[m.embedding] = self.featurisers[m.embedding].turn_vectors(conversation)
                level = self._turn_level if m.level == "turn" else self._conversation_level
                probabilities, evidence_turns = level(m, criterion, conversation, turns[m.embedding])
            except Exception as exc:
                out.append(Judgement.unscored(criterion.id, f"featurising failed: {exc}", **common))  # type: ignore[arg-type]
                continue
            answer = max(probabilities, key=lambda a: probabilities[a])
            evidence = []
            if answer != "na" and not criterion.scale.is_failing(answer) and conversation.turns:
                evidence = [whole_turn(conversation, i) for i in sorted(evidence_turns)]
            out.append(Judgement(
                criterion_id=criterion.id, answer=answer, confidence=probabilities[answer],
                confidence_kind="classifier", probabilities=probabilities, evidence=evidence,
                rationale=f"{m.level}-level classifier ({m.embedding}) trained on "
                          f"{self.model.trained_on.get(criterion.id, 0)} human labels; "
                          + ", ".join(f"{a} {p:.2f}" for a, p in sorted(probabilities.items(), key=lambda kv: -kv[1])),
                **common,  # type: ignore[arg-type]
            ))
        return out


def _cache_dir(options: JudgeOptions) -> Path:
    from scorer.settings import Settings

    return (options.cache_dir or Settings().cache_dir) / "embeddings"


def create(arg: str | None, options: JudgeOptions) -> LearnedJudge:
    """Registry factory: ``learned`` (the model for the rubric version) or ``learned:<folder>``."""
    if arg:
        folder = Path(arg)
    elif options.models_dir and options.rubric_version:
        folder = model_dir(options.models_dir, options.rubric_version)
    else:
        raise JudgeError("the learned judge needs a rubric version and a models dir, or learned:<folder>")
    model = LearnedModel.load(folder)
    if options.rubric_version and model.rubric_version != options.rubric_version:
        raise JudgeError(f"the learned judge in {folder} was trained for rubric version {model.rubric_version}, "
                         f"not {options.rubric_version}; retrain it with `rubricate train`")
    return LearnedJudge(model, judge_id=f"learned:{arg}" if arg else "learned", cache_dir=_cache_dir(options))
