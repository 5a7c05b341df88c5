"""The learned judge: a per-criterion scikit-learn classifier on sentence-embedding features of the conversation,
trained on human labels (a labelled dataset or reviewers' decisions) by ``eval.training.train``.
Registry name: ``learned`` (the model saved
for the rubric version under the models dir) or ``learned:<path>``.

Its confidence is the classifier's probability (``classifier`` kind). Its evidence is the turn that pushes the
decision most: among the turns of the speaker the criterion is ``about`` (agent by default), the one whose embedding
scores highest on the predicted answer's weights (no evidence when that speaker has no turn).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scorer._errors import JudgeError
from scorer.evidence import speaker_turns, whole_turn
from scorer.judges._base import Judge, JudgeOptions
from scorer.judges._features import Featuriser
from scorer.types import Conversation, Criterion, Judgement

__all__ = ["MIN_PER_CLASS", "LearnedJudge", "LearnedModel", "create", "model_dir"]

MIN_PER_CLASS = 3


@dataclass
class LearnedModel:
    """Fitted classifiers per criterion (None where training was impossible, with the reason)."""

    rubric_id: str
    rubric_version: str
    embedding_model: str
    classifiers: dict[str, Any] = field(default_factory=dict)
    untrainable: dict[str, str] = field(default_factory=dict)
    trained_on: dict[str, int] = field(default_factory=dict)

    def save(self, folder: Path) -> Path:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, folder / "learned.joblib")
        (folder / "manifest.json").write_text(json.dumps({
            "rubric_id": self.rubric_id, "rubric_version": self.rubric_version,
            "embedding_model": self.embedding_model, "trained_on": self.trained_on,
            "untrainable": self.untrainable}, indent=2))
        return folder

    @staticmethod
    def load(folder: Path) -> LearnedModel:
        import joblib

        path = folder / "learned.joblib"
        if not path.exists():
            raise JudgeError(f"no learned judge in {folder}: train one with `rubricate train --from DATA --rubric R`")
        model = joblib.load(path)
        if not isinstance(model, LearnedModel):
            raise JudgeError(f"{path} is not a rubricate learned judge")
        return model


def model_dir(models_dir: Path, rubric_version: str) -> Path:
    return models_dir / f"learned-{rubric_version}"


class LearnedJudge(Judge):
    """Judge with a :class:`LearnedModel`; see the module docstring."""

    reads_wording = False  # answers from the criterion id's classifier; the question text is not read
    independent_questions = True

    def __init__(self, model: LearnedModel, *, judge_id: str = "learned") -> None:
        self.model = model
        self.id = judge_id
        self.featuriser = Featuriser(model.embedding_model)

    def prepare(self, conversations: Sequence[Conversation]) -> None:
        """Embed many conversations' turns in one batched pass (the harness calls this before judging)."""
        self.featuriser.many(list(conversations))

    def _evidence_turn(self, classifier: Any, answer: str, criterion: Criterion, conversation: Conversation,
                       turns: np.ndarray) -> int | None:
        classes = list(classifier.classes_)
        coef = classifier.coef_
        weights = coef[classes.index(answer)] if coef.shape[0] > 1 else (coef[0] if answer == classes[1] else -coef[0])
        dim = turns.shape[1]
        candidates = speaker_turns(conversation, criterion.about)
        if not candidates:
            return None
        block = weights[dim : 2 * dim] if criterion.about == "customer" else weights[:dim]
        if criterion.about == "any":
            block = weights[:dim] + weights[dim : 2 * dim]
        return max(candidates, key=lambda i: float(turns[i] @ block))

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        common = {"judge_id": self.id, "model_id": f"learned@{self.model.rubric_version}", "prompt_version": "none"}
        try:
            turns = self.featuriser.turn_vectors(conversation)
            vector = self.featuriser.vector(conversation, turns)[None, :]
        except Exception as exc:
            return [Judgement.unscored(c.id, f"featurising failed: {exc}", **common) for c in criteria]  # type: ignore[arg-type]
        out = []
        for criterion in criteria:
            classifier = self.model.classifiers.get(criterion.id)
            if classifier is None:
                reason = self.model.untrainable.get(criterion.id, "this criterion was not in the training data")
                out.append(Judgement.unscored(criterion.id, f"learned judge: {reason}", **common))  # type: ignore[arg-type]
                continue
            probs = classifier.predict_proba(vector)[0]
            probabilities = {a: 0.0 for a in criterion.answers}
            probabilities.update({str(c): float(p) for c, p in zip(classifier.classes_, probs, strict=True)})
            answer = max(probabilities, key=lambda a: probabilities[a])
            evidence = []
            if answer != "na" and not criterion.scale.is_failing(answer):
                turn = self._evidence_turn(classifier, answer, criterion, conversation, turns)
                evidence = [whole_turn(conversation, turn)] if turn is not None else []
            out.append(Judgement(
                criterion_id=criterion.id, answer=answer, confidence=probabilities[answer],
                confidence_kind="classifier", probabilities=probabilities, evidence=evidence,
                rationale=f"classifier trained on {self.model.trained_on.get(criterion.id, 0)} human labels; "
                          + ", ".join(f"{a} {p:.2f}" for a, p in sorted(probabilities.items(), key=lambda kv: -kv[1])),
                **common,  # type: ignore[arg-type]
            ))
        return out


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
    return LearnedJudge(model, judge_id=f"learned:{arg}" if arg else "learned")
