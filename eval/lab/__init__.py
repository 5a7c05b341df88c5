"""The rubric authors' lab: is a criterion's wording measurable, and what changed between rubric versions."""

from eval.lab.static import Finding, check_criterion, check_rubric
from eval.lab.versioning import RubricDiff, diff_rubrics

__all__ = ["Finding", "RubricDiff", "check_criterion", "check_rubric", "diff_rubrics"]
