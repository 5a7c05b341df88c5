"""How a hosted call is shaped so that a weak or small served model can answer it, and a big one answers cheaply.

* **Grammar-constrained JSON** where the server supports it: ``json_schema`` (OpenAI, vLLM, llama.cpp's server),
  ``json_object_schema`` (``{"type": "json_object", "schema": …}``, llama-cpp-python's server), ``json_object``
  (valid JSON, no schema) or ``none``. The schema fixes the question ids, their order and the allowed answers, and
  caps the reasoning per question (``maxLength``), so a model cannot ramble or invent an answer.
* **Capped completion**: ``max_tokens`` sized from the number of questions (reasoning cap + quote + overhead each)
  unless set; the timeout grows with the number of questions.
* **Short-answer mode**: no reasoning and no quotes, only the answers, as a list in the questions' order
  (``{"answers": ["yes", "no"]}``: a quarter of the generated tokens of the keyed form); the confidence is read
  from the answer tokens' logprobs where the server returns them (like the local judge).

The prompt puts what repeats across conversations first (system prompt, questions, answer format) and the
transcript last, so providers' prompt caching and vLLM's prefix caching reuse the shared part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from scorer.types import Criterion

__all__ = ["ResponseFormat", "completion_budget", "judgement_schema", "response_format", "timeout_for"]

ResponseFormat = Literal["json_schema", "json_object_schema", "json_object", "none"]
CHARS_PER_TOKEN = 4
QUOTE_TOKENS = 60  # two short quotes
ITEM_OVERHEAD_TOKENS = 30  # keys, braces, the id, the answer, the confidence
SHORT_ITEM_TOKENS = 8  # '"yes", ' is ~3 tokens; the rest is margin
CALL_OVERHEAD_TOKENS = 24


def judgement_schema(criteria: Sequence[Criterion], *, short: bool, reasoning_tokens: int,
                     evidence: bool) -> dict[str, Any]:
    """JSON schema of the reply: ``{"judgements": {<id>: {reasoning, quotes, answer, confidence}}}`` in order, or
    in short-answer mode the compact ``{"answers": [<answer 1>, <answer 2>, …]}`` (one per question, in order)."""
    if short:
        return _short_schema(criteria)
    items: dict[str, Any] = {}
    for criterion in criteria:
        props: dict[str, Any] = {"reasoning": {"type": "string", "maxLength": reasoning_tokens * CHARS_PER_TOKEN}}
        if evidence:
            props["quotes"] = {"type": "array", "maxItems": 2,
                               "items": {"type": "string", "maxLength": QUOTE_TOKENS * CHARS_PER_TOKEN // 2}}
        props["answer"] = {"type": "string", "enum": list(criterion.answers)}
        props["confidence"] = {"type": "number", "minimum": 0, "maximum": 1}
        items[criterion.id] = {"type": "object", "properties": props, "required": list(props),
                               "additionalProperties": False}
    return {"type": "object", "additionalProperties": False, "required": ["judgements"],
            "properties": {"judgements": {"type": "object", "properties": items, "required": list(items),
                                          "additionalProperties": False}}}


def _short_schema(criteria: Sequence[Criterion]) -> dict[str, Any]:
    """Short answers as a list: ~4 generated tokens per question where the keyed form takes ~13 (the ids and the
    ``answer`` keys are forced tokens a server still decodes one by one). One answer set for every question gives
    ``items`` with its enum (what every structured-output server takes); mixed scales give each position its own
    enum (``prefixItems``, JSON Schema 2020-12, which llama.cpp, llama-cpp-python and vLLM honour). Either way the
    parser checks each answer against its own question's scale."""
    answer_sets = [list(c.answers) for c in criteria]
    array: dict[str, Any] = {"type": "array", "minItems": len(criteria), "maxItems": len(criteria)}
    if all(a == answer_sets[0] for a in answer_sets):
        array["items"] = {"type": "string", "enum": answer_sets[0]}
    else:
        array["prefixItems"] = [{"type": "string", "enum": a} for a in answer_sets]
    return {"type": "object", "additionalProperties": False, "required": ["answers"],
            "properties": {"answers": array}}


def response_format(kind: ResponseFormat, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` request field for the server's dialect (None: send none)."""
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "judgements", "schema": schema, "strict": False}}
    if kind == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if kind == "json_object":
        return {"type": "json_object"}
    return None


def completion_budget(questions: int, *, short: bool, reasoning_tokens: int, evidence: bool,
                      cap: int | None) -> int:
    """``max_tokens`` for one call: ``cap`` when given, else sized from the questions."""
    if cap is not None:
        return cap
    per_item = SHORT_ITEM_TOKENS if short else reasoning_tokens + ITEM_OVERHEAD_TOKENS + (QUOTE_TOKENS * evidence)
    return CALL_OVERHEAD_TOKENS + per_item * questions


def timeout_for(questions: int, base: float, per_question: float) -> float:
    """Seconds to wait for one call: a base plus a share per question."""
    return base + per_question * questions
