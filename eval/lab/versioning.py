"""What changed between two rubric versions, and which calibrations and learned models no longer apply."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from scorer.types import Rubric

__all__ = ["RubricDiff", "diff_rubrics"]


class RubricDiff(BaseModel):
    """Changed, added and removed criteria; ``revalidate`` lists criteria whose calibration must be refitted."""

    old_version: str
    new_version: str
    added: list[str]
    removed: list[str]
    changed: dict[str, list[str]]
    unchanged: list[str]
    revalidate: list[str]
    stale_models: list[str]


def diff_rubrics(old: Rubric, new: Rubric, *, models_dir: Path | None = None) -> RubricDiff:
    """Compare criteria field by field; a learned model trained for the old version no longer applies at all."""
    before = {c.id: c.model_dump(mode="json") for c in old.criteria}
    after = {c.id: c.model_dump(mode="json") for c in new.criteria}
    changed = {cid: sorted(k for k in after[cid] if after[cid][k] != before[cid].get(k))
               for cid in after if cid in before and after[cid] != before[cid]}
    stale = []
    if models_dir is not None and old.version != new.version:
        folder = models_dir / f"learned-{old.version}"
        if folder.exists():
            stale.append(str(folder))
    return RubricDiff(
        old_version=old.version, new_version=new.version,
        added=[c for c in after if c not in before], removed=[c for c in before if c not in after],
        changed=changed, unchanged=[c for c in after if c in before and c not in changed],
        revalidate=[c for c in after if c not in before or c in changed], stale_models=stale,
    )
