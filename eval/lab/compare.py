"""Compare two wordings of the same criterion on the same conversations.

Pairs come from two rubric versions: criteria with the same id whose wording differs (or pairs given explicitly,
``--pair old_id=new_id``). Both wordings are asked of every conversation in the same run, each with its paraphrases,
and measured as in ``rubric test``. Where the sample has human labels, the difference in accuracy (B − A) gets a
paired bootstrap interval (resampling conversations, so both wordings see the same resample), and so does
the difference in AUC of the judge's P(yes) against the human "yes" (which still separates two wordings when a weak
judge's yes/no threshold makes both accuracies equal). A wording is called better only when an interval excludes
zero: accuracy first, then AUC (the summary says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from eval.lab.behaviour import LabRun, Wording
from eval.lab.measures import BehaviourResult, measure_wording, p_yes
from eval.metrics import auc, bootstrap_stat
from scorer._errors import RubricError
from scorer.types import Rubric

__all__ = ["Comparison", "compare_pairs", "pair_criteria"]


class Comparison(BaseModel):
    """Two wordings side by side and which one agrees more with humans (if the sample tells)."""

    a: BehaviourResult
    b: BehaviourResult
    label_id: str
    paired_n: int
    accuracy_diff: float | None = None
    accuracy_diff_ci: tuple[float, float] | None = None
    auc_diff: float | None = None
    auc_diff_ci: tuple[float, float] | None = None
    kappa_diff: float | None = None
    flip_rate_diff: float | None = None
    better: str | None = None
    summary: str


def pair_criteria(a: Rubric, b: Rubric, pairs: Sequence[str] = ()) -> list[tuple[str, str]]:
    """``[(a_id, b_id)]``: explicit ``"a_id=b_id"`` pairs, else shared ids whose question or settings changed."""
    if pairs:
        out = []
        for spec in pairs:
            left, sep, right = spec.partition("=")
            if not sep:
                raise RubricError(f"--pair {spec!r} is not of the form A_ID=B_ID")
            a.criterion(left.strip())
            b.criterion(right.strip())
            out.append((left.strip(), right.strip()))
        return out
    b_ids = {c.id: c for c in b.criteria}
    changed = [(c.id, c.id) for c in a.criteria if c.id in b_ids and c != b_ids[c.id]]
    if not changed:
        raise RubricError(f"no criterion id is in both {a.id!r} and {b.id!r} with a different wording; name the "
                          "pairs with --pair A_ID=B_ID")
    return changed


def _diff(run: LabRun, wa: Wording, wb: Wording) -> dict[str, Any]:
    items = run.sample.items[: run.completed]
    ja, jb = run.answers[wa.key].original, run.answers[wb.key].original
    rows = [(item.labels[wa.label_id], x.answer, y.answer) for item, x, y in zip(items, ja, jb, strict=False)
            if wa.label_id in item.labels and x is not None and y is not None
            and x.status == y.status == "scored"]
    if not rows:
        return {"paired_n": 0}
    human = np.array([r[0] for r in rows])
    hit_a = (np.array([r[1] for r in rows]) == human).astype(float)
    hit_b = (np.array([r[2] for r in rows]) == human).astype(float)
    return {"paired_n": len(rows), "accuracy_diff": float(hit_b.mean() - hit_a.mean()),
            "accuracy_diff_ci": bootstrap_stat(lambda idx: float(hit_b[idx].mean() - hit_a[idx].mean()), len(rows)),
            **_auc_diff(items, wa, ja, jb)}


def _auc_diff(items: list[Any], wa: Wording, ja: list[Any], jb: list[Any]) -> dict[str, Any]:
    rows = [(item.labels[wa.label_id] == "yes", pa, pb) for item, x, y in zip(items, ja, jb, strict=False)
            if item.labels.get(wa.label_id) in ("yes", "no") and (pa := p_yes(x)) is not None
            and (pb := p_yes(y)) is not None]
    if not rows:
        return {}
    y, sa, sb = (np.array([r[k] for r in rows]) for k in range(3))

    def diff(idx: np.ndarray) -> float | None:
        a, b = auc(list(y[idx]), list(sa[idx])), auc(list(y[idx]), list(sb[idx]))
        return None if a is None or b is None else b - a

    point = diff(np.arange(len(rows)))
    return {"auc_diff": point, "auc_diff_ci": bootstrap_stat(diff, len(rows)) if point is not None else None}


def _summary(c: dict[str, Any], a: BehaviourResult, b: BehaviourResult) -> tuple[str | None, str]:
    if c["paired_n"] == 0:
        return None, "no human labels on conversations both wordings answered: only stability and balance compared"
    spans = []
    for name in ("accuracy", "auc"):
        diff, ci = c.get(f"{name}_diff"), c.get(f"{name}_diff_ci")
        if diff is None or ci is None:
            continue
        span = f"{name} B − A = {diff:+.3f} (95% CI {ci[0]:+.3f} … {ci[1]:+.3f}), {c['paired_n']} conversations"
        if ci[0] <= 0 <= ci[1]:
            spans.append(span)
            continue
        side, winner = ("b", b) if ci[0] > 0 else ("a", a)
        if name == "auc" and (winner.human_auc_ci is None or winner.human_auc_ci[0] <= 0.5):
            return None, (f"{side.upper()}'s P(yes) is closer to the humans' ranking ({span}), but with neither "
                          f"wording does this judge rank conversations like the humans ({side.upper()}: AUC "
                          f"{winner.human_auc:.2f}, its interval reaches 0.5): use a stronger judge to choose")
        return side, f"{side.upper()} ({winner.criterion_id}) agrees more with humans: {span}"
    if not spans:
        return None, f"{c['paired_n']} labelled conversations: too few for an interval on the difference"
    return None, f"no clear difference: {'; '.join(spans)}"


def compare_pairs(run: LabRun, pairs: list[tuple[Wording, Wording]]) -> list[Comparison]:
    """Measure both wordings of each pair and the difference between them."""
    out = []
    for wa, wb in pairs:
        ra, rb = measure_wording(wa, run), measure_wording(wb, run)
        c = _diff(run, wa, wb)
        if ra.human_kappa is not None and rb.human_kappa is not None:
            c["kappa_diff"] = rb.human_kappa - ra.human_kappa
        if ra.flip_rate is not None and rb.flip_rate is not None:
            c["flip_rate_diff"] = rb.flip_rate - ra.flip_rate
        better, summary = _summary(c, ra, rb)
        out.append(Comparison(a=ra, b=rb, label_id=wa.label_id, better=better, summary=summary, **c))
    return out
