"""Typed results of an evaluation run; serialised to the ``--json`` shape the CLI has always written."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["CriterionMetrics", "EvaluationResult", "LearningPoint", "Overall", "Reliability"]


class Reliability(BaseModel):
    """Per-item confidence and correctness, kept for the reliability and coverage plots (not written to JSON)."""

    confidence: list[float] = Field(default_factory=list)
    correct: list[bool] = Field(default_factory=list)


class CriterionMetrics(BaseModel):
    """Agreement of a judge with human labels on one criterion; None where a figure is not computable."""

    n: int = Field(description="Labelled conversations.")
    scored: int
    unscored: int
    accuracy: float | None
    accuracy_ci: list[float] | None = Field(description="95 % bootstrap interval.")
    kappa: float | None = Field(description="Cohen's κ between the judge and the human label.")
    kappa_ci: list[float] | None
    macro_f1: float | None
    confusion: dict[str, Any] | None
    human_human_kappa: float | None = Field(description="Mean pairwise κ among the annotators: the ceiling.")
    krippendorff_alpha: float | None
    ece: float | None = Field(description="Expected calibration error of the judge's confidence.")
    calibration_method: str | None
    ece_heldout_before: float | None
    ece_heldout_after: float | None
    auto_accept_threshold: float | None
    auto_accept_coverage: float | None
    auto_accept_accuracy: float | None
    evidence_precision: float | None
    evidence_recall: float | None
    dropped_quote_rate: float | None
    label_balance: dict[str, float] | None
    note: str | None
    reliability: Reliability = Field(default_factory=Reliability, exclude=True)


class Overall(BaseModel):
    """The run as a whole."""

    conversations: int
    judgements: int
    accuracy: float | None
    target_accuracy: float
    judge: str | None = None
    test_size: int | None = None
    train_size: int | None = None


class LearningPoint(BaseModel):
    """The learned judge retrained on ``train_size`` reviewed items and measured on the test split."""

    train_size: int
    accuracy: float | None
    kappa: dict[str, float | None]
    auto_accept_coverage: dict[str, float | None]


class EvaluationResult(BaseModel):
    """``{"overall": …, "per_criterion": {id: …}, "learning_curve": […]}`` (the curve only when computed)."""

    overall: Overall
    per_criterion: dict[str, CriterionMetrics]
    learning_curve: list[LearningPoint] | None = None
    active_learning: dict[str, Any] | None = None  # eval.active.simulate's result, when computed

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=False,
                               exclude={k for k in ("learning_curve", "active_learning") if getattr(self, k) is None})
