"""How a turn-level learned judge reads one conversation score from its turns' scores (chosen per criterion at
training by held-out κ, recorded in the model): ``max`` (the most likely turn), ``top2`` (the mean of the two most
likely turns: one stray high turn counts less) or ``noisy_or`` (1 − ∏(1 − p): several fairly likely turns add up)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scorer._errors import JudgeError

__all__ = ["AGGREGATES", "aggregate"]

AGGREGATES = ("max", "top2", "noisy_or")  # the first is what models before the choice used


def aggregate(scores: Sequence[float] | np.ndarray, how: str) -> float:
    """One conversation score from its turns' scores (0 when the speaker has no turn)."""
    values = np.asarray(scores, dtype=float)
    if how not in AGGREGATES:
        raise JudgeError(f"unknown turn aggregation {how!r} (this version has {', '.join(AGGREGATES)})")
    if values.size == 0:
        return 0.0
    if how == "max":
        return float(values.max())
    if how == "top2":
        return float(np.sort(values)[-2:].mean())
    return float(1 - np.prod(1 - values))
