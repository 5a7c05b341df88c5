"""The judge protocol every backend implements, and the options a judge can be created with."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from scorer.types import Conversation, Criterion, Judgement

__all__ = ["Judge", "JudgeOptions", "unscored_all"]


class Judge(ABC):
    """Answers a conversation's behaviour questions.

    A judge receives all questions of a conversation at once, so it can encode the transcript once (local KV
    cache), group questions into one hosted call, or featurise once (learned judge). It never raises for one bad
    item: it returns an unscored :class:`Judgement` with the reason, one per criterion, in the criteria's order.

    The optional abilities are declared here with their defaults; a backend overrides the ones that differ.
    """

    id: str = "judge"
    """The judge's spec as stored with every judgement, e.g. ``local`` or ``litellm/openai/gpt-4o-mini``."""

    reads_wording: bool = True
    """False for judges that answer from the criterion id alone (a learned classifier): rewording means nothing."""

    independent_questions: bool = False
    """True when a question gets the same answer asked alone as asked with others (so they may be grouped)."""

    def prepare(self, conversations: Sequence[Conversation]) -> None:  # noqa: B027 - optional, no-op by default
        """Precompute what many conversations share (e.g. embed them in one batch) before they are judged."""

    @abstractmethod
    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        """One judgement per criterion, in the criteria's order."""


class JudgeOptions(BaseModel):
    """Options shared by the judge factories; each backend reads the ones it understands."""

    api_base: str | None = Field(default=None, description="Base URL of an OpenAI-compatible server.")
    api_key: str | None = Field(default=None, description="API key for a hosted model (else the provider env).")
    timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for one hosted call.")
    max_retries: int = Field(default=3, ge=0, description="Retries with backoff on timeouts and rate limits.")
    samples: int = Field(default=1, ge=1, description="Samples per call when the backend gives no logprobs.")
    temperature: float = Field(default=0.0, ge=0)
    max_context_tokens: int | None = Field(default=None, description="Cap on prompt tokens; longer is truncated.")
    evidence: bool = Field(default=True, description="Ask the judge for evidence quotes.")
    models_dir: Path | None = Field(default=None, description="Where trained (learned) judges are stored.")
    cache_dir: Path | None = Field(default=None, description="Where dequantised local models are cached.")
    rubric_version: str | None = Field(default=None, description="Rubric version a learned judge must match.")
    seed: int = 0
    redact_pii: bool = Field(default=True, description="Hosted judges replace PII with placeholders before a call.")
    pii_patterns: dict[str, str] = Field(default_factory=dict, description="Extra PII patterns, KIND → regex.")
    # Hosted calls: request shaping, budget and concurrency (see scorer/judges/_hosted_request.py) -------------
    response_format: Literal["json_schema", "json_object_schema", "json_object", "none"] = Field(
        default="json_schema", description="Grammar-constrained JSON dialect of the server (json_object_schema for "
        "llama-cpp-python's server; none for servers that refuse response_format).")
    short_answers: bool = Field(default=False, description="Ask only for the answers (no reasoning, no quotes); "
                                "confidence from the answer tokens' logprobs.")
    logprobs: bool = Field(default=True, description="Ask the server for the answer tokens' logprobs (the "
                           "strongest confidence). Off for servers where they are slow: llama-cpp-python's server "
                           "ranks the whole vocabulary in Python for every generated token (4-14x the call's time "
                           "measured in bench/bench_peers.py); the confidence is then stated or none.")
    reasoning_tokens: int = Field(default=80, ge=0, description="Cap on the reasoning per question (tokens).")
    max_completion_tokens: int | None = Field(default=None, gt=0, description="Cap on generated tokens per call; "
                                              "default: sized from the number of questions.")
    timeout_per_question: float = Field(default=5.0, ge=0, description="Seconds added to `timeout` per question.")
    price_as: str | None = Field(default=None, description="Price calls as this litellm cost-map model (e.g. a "
                                 "self-hosted model's hosted twin); default the model itself.")
    max_concurrency: int = Field(default=4, ge=1, description="Bound on hosted calls in flight per process "
                                 "(adaptive: halves on 429/5xx, grows back on success).")


def unscored_all(
    criteria: Sequence[Criterion], reason: str, *, judge_id: str, model_id: str = "", prompt_version: str = ""
) -> list[Judgement]:
    """One unscored judgement per criterion, all with the same reason (e.g. the model could not be reached)."""
    return [
        Judgement.unscored(c.id, reason, judge_id=judge_id, model_id=model_id, prompt_version=prompt_version)
        for c in criteria
    ]
