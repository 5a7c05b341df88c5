"""The spam fixture set: hand-written spam-like messages sent to a support inbox (tests/fixtures/spam, six per
language in en, zh, ro and bg, none caught by the phrase rules) and the real support conversations of
examples/conversations.jsonl. Split by position: even rows train, odd rows are held out."""

from __future__ import annotations

import json
from pathlib import Path

from scorer.judges._features import Featuriser
from scorer.settings import Settings
from scorer.types import Conversation

__all__ = ["HELD_OUT_NORMAL", "HELD_OUT_SPAM", "NORMAL", "SPAM", "TRAIN", "featuriser"]

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path) -> list[Conversation]:
    return [Conversation.model_validate(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


SPAM = _load(ROOT / "tests" / "fixtures" / "spam" / "spam_conversations.jsonl")
NORMAL = _load(ROOT / "examples" / "conversations.jsonl")
TRAIN: list[tuple[Conversation, bool]] = [(c, True) for c in SPAM[0::2]] + [(c, False) for c in NORMAL[0::2]]
HELD_OUT_SPAM = SPAM[1::2]
HELD_OUT_NORMAL = NORMAL[1::2]


def featuriser() -> Featuriser:
    """The real e5 featuriser, with the embedding cache `rubricate` itself uses (turns are embedded once)."""
    return Featuriser("e5", cache_dir=Settings().cache_dir / "embeddings")
