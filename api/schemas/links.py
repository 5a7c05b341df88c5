"""OpenAPI links between operations: what a client (or a stateful test) can do next with a response's values."""

from __future__ import annotations

from typing import Any

__all__ = ["INGEST_LINKS", "RUBRIC_LINKS"]


def _ref(path: str, method: str = "get") -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method}"


RUBRIC_LINKS: dict[str, Any] = {
    "GetRubricVersion": {
        "operationRef": _ref("/v1/rubrics/{rubric_id}"),
        "parameters": {"path.rubric_id": "$response.body#/id", "query.version": "$response.body#/version"},
        "description": "Read the version just stored.",
    },
    "ListRubricVersions": {
        "operationRef": _ref("/v1/rubrics"),
        "parameters": {"query.rubric_id": "$response.body#/id"},
        "description": "Every stored version of this rubric.",
    },
    "IngestAgainstRubric": {
        "operationRef": _ref("/v1/conversations", "post"),
        "requestBody": {"rubric_id": "$response.body#/id", "rubric_version": "$response.body#/version"},
        "description": "Send conversations to be scored against this version.",
    },
}
INGEST_LINKS: dict[str, Any] = {
    "GetScorecard": {
        "operationRef": _ref("/v1/conversations/{conversation_id}/scorecard"),
        "parameters": {"path.conversation_id": "$response.body#/accepted/0/id",
                       "query.rubric_id": "$response.body#/rubric_id",
                       "query.rubric_version": "$response.body#/rubric_version"},
        "description": "The score card of the first accepted conversation (404 until it is scored).",
    },
    "GetScoringJob": {
        "operationRef": _ref("/v1/scoring-jobs/{job_id}"),
        "parameters": {"path.job_id": "$response.body#/job_id"},
        "description": "Progress of the scoring job this ingest queued.",
    },
}
