"""rubricate's domain: conversations, rubrics, judges, evidence, scoring, storage and the scoring pipeline.

Importing this package loads nothing heavy; models and databases are opened only when asked for.
"""

from scorer._errors import (
    ConversationError,
    JudgeError,
    RubricateError,
    RubricError,
    StorageError,
)
from scorer.types import (
    CategoryScore,
    Conversation,
    Criterion,
    Evidence,
    Judgement,
    Review,
    Rubric,
    Scale,
    ScoreCard,
    Turn,
)

__all__ = [
    "CategoryScore",
    "Conversation",
    "ConversationError",
    "Criterion",
    "Evidence",
    "JudgeError",
    "Judgement",
    "Review",
    "Rubric",
    "RubricError",
    "RubricateError",
    "Scale",
    "ScoreCard",
    "StorageError",
    "Turn",
]
