"""The rubric authors' lab: is a criterion's wording measurable (statically and on conversations), which of two
wordings is better, and what changed between rubric versions."""

from eval.lab.behaviour import LabRun, Wording, make_wordings, run_wordings
from eval.lab.compare import Comparison, compare_pairs, pair_criteria
from eval.lab.measures import BehaviourResult, measure
from eval.lab.paraphrase import paraphrases
from eval.lab.sample import Sample, load_sample
from eval.lab.static import Finding, check_criterion, check_rubric
from eval.lab.versioning import RubricDiff, diff_rubrics

__all__ = ["BehaviourResult", "Comparison", "Finding", "LabRun", "RubricDiff", "Sample", "Wording", "check_criterion",
           "check_rubric", "compare_pairs", "diff_rubrics", "load_sample", "make_wordings", "measure",
           "pair_criteria", "paraphrases", "run_wordings"]
