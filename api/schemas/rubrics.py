"""Rubric schemas: what ``POST /v1/rubrics`` accepts (documented in its OpenAPI request body) and returns."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import UtcDatetime
from scorer.types import Criterion

__all__ = ["RUBRIC_REQUEST_BODY", "RUBRIC_YAML_EXAMPLE", "RubricOut", "RubricSummary"]

RUBRIC_YAML_EXAMPLE = """id: support-core
name: Customer support core
criteria:
  - id: greeting
    category: opening
    question: Did the agent greet the customer and say their own name or the company's name?
  - id: actionable_solution
    category: problem_resolution
    question: Did the agent offer an actionable solution or a follow-up timeline?
    scale: yes_no_na
    weight: 2
"""

RUBRIC_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "description": "The rubric as YAML text (`application/yaml`), as JSON `{\"yaml\": \"...\"}`, or as the rubric's "
                   "own structure in JSON (`id`, `name`, `criteria`). It is validated like a rubric file.",
    "content": {
        "application/yaml": {"schema": {"type": "string"}, "example": RUBRIC_YAML_EXAMPLE},
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "yaml": {"type": "string", "description": "Rubric YAML text."},
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "criteria": {"type": "array", "items": {"type": "object"}},
                },
            },
            "examples": {
                "yaml": {"summary": "YAML text in JSON", "value": {"yaml": RUBRIC_YAML_EXAMPLE}},
                "structured": {"summary": "The rubric as JSON", "value": {
                    "id": "support-core", "name": "Customer support core",
                    "criteria": [{"id": "greeting", "question": "Did the agent greet the customer?"}]}},
            },
        },
    },
}


class RubricOut(BaseModel):
    """A stored rubric version. ``version`` is the content hash of its criteria: the same rubric always has the same
    version, and any change to a criterion gives a new one."""

    id: str = Field(examples=["support-core"])
    name: str
    description: str | None = None
    version: str = Field(examples=["3f9a2c1b7d0e"])
    criteria: list[Criterion]
    created: bool = Field(default=False, description="True when this request stored a new version.")


class RubricSummary(BaseModel):
    """One stored rubric version, as listed."""

    id: str
    version: str
    name: str
    stored_at: UtcDatetime
