"""One finding of the static check (shared by the wording rules and the ``check:`` block rules)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["Finding"]


class Finding(BaseModel):
    """One problem with a wording: which rule, why it hurts measurement, and a concrete rewrite."""

    rule: str = Field(description="The rule that fired, e.g. 'trait' or 'double'.")
    reason: str = Field(description="Why a reviewer or a judge cannot answer it consistently.")
    suggestion: str = Field(description="A concrete rewrite or the YAML to add.")
