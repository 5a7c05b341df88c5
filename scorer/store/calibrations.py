"""Stored calibrations: the per-criterion auto-accept thresholds review routing uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scorer.store.models import CalibrationRow, RubricVersionRow
from scorer.store.repository import Store
from scorer.types import Rubric

__all__ = ["NEVER_AUTO_ACCEPT", "latest_calibrations", "save_calibration", "thresholds_for", "unvalidated_changes"]

NEVER_AUTO_ACCEPT = 1.01
"""A threshold no confidence reaches: every judgement of the criterion goes to review."""


def save_calibration(
    store: Store, rubric: Rubric, criterion_id: str, judge: str, *, method: str, threshold: float | None, n: int,
    params: dict[str, Any],
) -> int:
    """Store a fitted calibration (a new row; older ones stay as history)."""
    with store.session() as s:
        row = CalibrationRow(
            rubric_id=rubric.id, rubric_version=rubric.version, criterion_id=criterion_id, judge=judge,
            method=method, threshold=threshold, n=n, params=params,
        )
        s.add(row)
        s.flush()
        return row.id


def latest_calibrations(store: Store, rubric: Rubric, judge: str) -> dict[str, CalibrationRow]:
    """The newest calibration per criterion for this rubric version and judge."""
    with store.session() as s:
        rows = s.scalars(
            select(CalibrationRow)
            .where(CalibrationRow.rubric_version == rubric.version, CalibrationRow.judge == judge)
            .order_by(CalibrationRow.id)
        )
        return {row.criterion_id: row for row in rows}


def thresholds_for(store: Store, rubric: Rubric, judge: str) -> dict[str, float]:
    """Per-criterion thresholds from calibration; criteria without one keep the default."""
    return {cid: row.threshold for cid, row in latest_calibrations(store, rubric, judge).items()
            if row.threshold is not None}


def unvalidated_changes(store: Store, rubric: Rubric, judge: str) -> list[str]:
    """Criteria that were calibrated in an earlier version of this rubric, have changed since, and have no
    calibration in this version yet: they must not be auto-accepted until re-validated."""
    current = latest_calibrations(store, rubric, judge)
    definitions = {c.id: c.model_dump(mode="json") for c in rubric.criteria}
    with store.session() as s:
        calibrated = s.execute(
            select(CalibrationRow.criterion_id, RubricVersionRow.definition)
            .join(RubricVersionRow, (RubricVersionRow.rubric_id == CalibrationRow.rubric_id)
                  & (RubricVersionRow.version == CalibrationRow.rubric_version))
            .where(CalibrationRow.rubric_id == rubric.id, CalibrationRow.rubric_version != rubric.version,
                   CalibrationRow.judge == judge)
        ).all()
    changed = set()
    for criterion_id, definition in calibrated:
        old = next((c for c in definition.get("criteria", []) if c.get("id") == criterion_id), None)
        if criterion_id in definitions and old != definitions[criterion_id] and criterion_id not in current:
            changed.add(criterion_id)
    return sorted(changed)
