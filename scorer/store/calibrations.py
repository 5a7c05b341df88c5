"""Stored calibrations: the per-criterion auto-accept thresholds review routing uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from scorer.store.models import CalibrationRow
from scorer.store.repository import Store
from scorer.types import Rubric

__all__ = ["latest_calibrations", "save_calibration", "thresholds_for"]


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
