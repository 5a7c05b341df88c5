"""The conversations a lab run is measured on: any conversations file, with human labels where it has them.

Unlike :func:`eval.datasets.load_dataset` (which refuses a file that does not fit the rubric), the lab reads
leniently and says what it set aside: unreadable lines, labels for criteria that are not in the rubric under test,
label values outside a criterion's scale. A sample without labels is fine; agreement with humans is then left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eval.datasets import LabelledConversation
from scorer._errors import ConversationError
from scorer.io import BadRecord, parse_conversation, read_records
from scorer.types import Criterion

__all__ = ["Sample", "load_sample"]


@dataclass
class Sample:
    """Conversations with whatever human labels fit the criteria, and notes on what was set aside."""

    items: list[LabelledConversation]
    source: str
    notes: list[str] = field(default_factory=list)

    def labelled(self, criterion_id: str) -> int:
        """How many conversations carry a human label for ``criterion_id``."""
        return sum(criterion_id in item.labels for item in self.items)


def _keep(group: dict[str, str], answers: dict[str, list[str]], dropped: Counter[str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for cid, label in group.items():
        if cid not in answers:
            dropped[f"labels for {cid!r}, which is not a criterion here"] += 1
        elif label not in answers[cid]:
            dropped[f"label {label!r} for {cid!r}, which is not one of {answers[cid]}"] += 1
        else:
            kept[cid] = label
    return kept


def load_sample(path: str | Path, criteria: Sequence[Criterion], *, limit: int | None = None,
                seed: int | None = None) -> Sample:
    """Read up to ``limit`` conversations (a seeded random choice when ``seed`` is given, else the first ones)."""
    answers = {c.id: c.answers for c in criteria}
    items: list[LabelledConversation] = []
    bad: list[str] = []
    dropped: Counter[str] = Counter()
    for location, record in read_records(path):
        if isinstance(record, BadRecord):
            bad.append(f"{record.location}: {record.reason}")
            continue
        try:
            conversation = parse_conversation(record, location=location)
        except ConversationError as exc:
            bad.append(str(exc))
            continue
        labels = _keep(dict(record.get("labels") or {}), answers, dropped)
        annotators = [_keep(dict(a), answers, Counter()) for a in record.get("annotators") or []]
        evidence = {k: v for k, v in (record.get("evidence") or {}).items() if k in answers}
        items.append(LabelledConversation(conversation, labels, evidence, [a for a in annotators if a]))
    if not items:
        detail = f" ({len(bad)} unreadable; first: {bad[0]})" if bad else ""
        raise ConversationError(f"{path}: no conversations to test on{detail}")
    if limit is not None and limit < len(items):
        if seed is None:
            items = items[:limit]
        else:
            import random

            chosen = sorted(random.Random(seed).sample(range(len(items)), limit))
            items = [items[i] for i in chosen]
    notes = [f"skipped {len(bad)} unreadable line(s); first: {bad[0]}"] if bad else []
    notes += [f"ignored {n} {what}" for what, n in dropped.most_common()]
    return Sample(items, str(path), notes)
