"""The rubric lab's last verdict on a criterion's wording, read from the lab's JSON results in a folder
(``rubricate rubric test ... --json-out DIR/NAME.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["LabVerdict", "last_verdict"]

MAX_FILES = 200


@dataclass
class LabVerdict:
    verdict: str
    reasons: list[str]
    file: str
    when: datetime
    same_wording: bool


def last_verdict(folder: Path, criterion_id: str, question: str) -> LabVerdict | None:
    """The newest result for ``criterion_id`` among the folder's JSON files, preferring one for this exact
    wording; None when the folder has none. Unreadable files are skipped."""
    if not folder.is_dir():
        return None
    files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[:MAX_FILES]
    fallback: LabVerdict | None = None
    for path in files:
        try:
            results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
        except (OSError, ValueError, AttributeError):
            continue
        for result in results if isinstance(results, list) else []:
            if not isinstance(result, dict) or result.get("criterion_id") != criterion_id or "verdict" not in result:
                continue
            found = LabVerdict(str(result["verdict"]), [str(r) for r in result.get("reasons", [])], path.name,
                               datetime.fromtimestamp(path.stat().st_mtime, UTC),
                               result.get("question") == question)
            if found.same_wording:
                return found
            fallback = fallback or found
    return fallback
