"""Exceptions that reach users. Each message says what went wrong and what to do about it."""

from __future__ import annotations

__all__ = ["ConversationError", "JudgeError", "RubricError", "RubricateError", "StorageError"]


class RubricateError(Exception):
    """Base class of every error rubricate reports to a user (printed without a traceback)."""


class RubricError(RubricateError):
    """A rubric file could not be loaded or is invalid."""


class ConversationError(RubricateError):
    """A conversation (or an input file of conversations) is malformed."""


class JudgeError(RubricateError):
    """A judge could not be created or loaded (unknown name, missing model, bad options)."""


class StorageError(RubricateError):
    """The database could not be reached or is not at the expected schema."""
