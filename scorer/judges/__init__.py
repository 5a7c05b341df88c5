"""Judges: one small protocol, a string registry, and one module per backend (loaded only when asked for)."""

from scorer.judges._base import Judge, JudgeOptions, unscored_all
from scorer.judges._registry import available_judges, get_judge, register_judge

__all__ = ["Judge", "JudgeOptions", "available_judges", "get_judge", "register_judge", "unscored_all"]
