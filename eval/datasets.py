"""Labelled datasets: conversations with human labels (and optionally evidence turns and per-annotator labels)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from scorer._errors import ConversationError
from scorer.io import BadRecord, parse_conversation, read_records
from scorer.types import Conversation, Rubric

__all__ = ["Dataset", "LabelledConversation", "load_dataset", "split"]


@dataclass
class LabelledConversation:
    """One conversation with its human labels."""

    conversation: Conversation
    labels: dict[str, str]
    evidence: dict[str, list[int]] = field(default_factory=dict)
    annotators: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Dataset:
    """The labelled conversations of a file, and what was skipped while reading it."""

    items: list[LabelledConversation]
    skipped_unlabelled: int = 0
    source: str = ""

    def __len__(self) -> int:
        return len(self.items)


def load_dataset(path: str | Path, rubric: Rubric) -> Dataset:
    """Read a dataset; unknown criterion ids or label values are errors naming the line and the criterion."""
    answers = {c.id: c.answers for c in rubric.criteria}
    items: list[LabelledConversation] = []
    skipped = 0
    for location, record in read_records(path):
        if isinstance(record, BadRecord):
            raise ConversationError(f"{record.location}: {record.reason}")
        conversation = parse_conversation(record, location=location)
        labels = record.get("labels") or {}
        if not labels:
            skipped += 1
            continue
        for name, groups in (("labels", [labels]), ("evidence", [record.get("evidence") or {}]),
                             ("annotators", record.get("annotators") or [])):
            for group in groups:
                unknown = set(group) - set(answers)
                if unknown:
                    raise ConversationError(f"{location}: {name} name criteria not in rubric {rubric.id!r}: "
                                            f"{sorted(unknown)}")
        for group in [labels, *(record.get("annotators") or [])]:
            for criterion_id, label in group.items():
                if label not in answers[criterion_id]:
                    raise ConversationError(f"{location}: label {label!r} for {criterion_id!r} is not one of "
                                            f"{answers[criterion_id]}")
        items.append(LabelledConversation(conversation, dict(labels), dict(record.get("evidence") or {}),
                                          list(record.get("annotators") or [])))
    if not items:
        raise ConversationError(f"{path}: no labelled conversations (skipped {skipped} without labels)")
    return Dataset(items, skipped, str(path))


def split(dataset: Dataset, test_share: float = 0.3, seed: int = 13) -> tuple[Dataset, Dataset]:
    """A seeded split by conversation: no conversation is in both parts."""
    order = list(range(len(dataset.items)))
    random.Random(seed).shuffle(order)
    cut = round(len(order) * (1 - test_share))
    train = [dataset.items[i] for i in sorted(order[:cut])]
    test = [dataset.items[i] for i in sorted(order[cut:])]
    return Dataset(train, 0, f"{dataset.source} (train)"), Dataset(test, 0, f"{dataset.source} (test)")
