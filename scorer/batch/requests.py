"""The requests of a batch and the judge that reads its replies: both are the online :class:`HostedJudge`.

Submitting runs the judge up to the call (PII redaction, ``HostedJudge.messages``, ``request_shape``) and keeps the
request instead of sending it; collecting runs it again with ``_complete`` answering from the batch's output, so a
batched reply is parsed, checked and priced exactly like an online one (usage at the batch rates).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from scorer.eligibility import SpamScorer, eligibility_check
from scorer.judges._hosted_usage import usage_of
from scorer.judges.hosted import HostedJudge, _CallFailed
from scorer.pipeline import judge_step
from scorer.store import Store
from scorer.types import Conversation, Criterion, Judgement, Rubric
from scorer.usage import Usage, record

__all__ = ["CapturingJudge", "ReplayJudge", "batch_usage", "pending_criteria", "request_for", "request_hash"]


class _Captured(Exception):
    """A control-flow signal carrying the request the judge would have sent."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__("captured")
        self.body = body


class CapturingJudge(HostedJudge):
    """The hosted judge that builds its request and hands it over instead of calling the provider."""

    def _complete(self, messages: list[dict[str, str]], temperature: float, shape: dict[str, Any]) -> Any:
        body: dict[str, Any] = {"model": self.model.split("/", 1)[-1], "messages": messages,
                                "temperature": temperature, **{k: v for k, v in shape.items() if k != "timeout"}}
        if self.options.logprobs:
            body.update(logprobs=True, top_logprobs=5)
        raise _Captured(body)


def request_hash(body: dict[str, Any]) -> str:
    """A short digest of a request's messages: collecting checks that the conversation asks the same."""
    return hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).hexdigest()[:16]


def pending_criteria(conversation: Conversation, rubric: Rubric, judge_id: str, store: Store, *,
                     include_excluded: bool, spam: SpamScorer | None) -> list[Criterion] | None:
    """What the pipeline would still do for a conversation, decided as ``score_conversation`` decides: None when a
    stored card settles it (all answered, or excluded); [] when the eligibility rules exclude it (the pipeline
    stores that card, no model call); else the criteria to ask: all of them, or the unscored ones of a stored card."""
    cached = store.find_score_card(conversation, rubric, judge_id)
    if cached is not None and cached.status == "excluded":
        return list(rubric.criteria) if include_excluded else None
    if cached is not None:
        retry = {j.criterion_id for j in cached.judgements if j.status == "unscored"}
        return [c for c in rubric.criteria if c.id in retry] or None
    if not include_excluded and eligibility_check(conversation, rubric, judge_id, spam) is not None:
        return []
    return list(rubric.criteria)


def request_for(judge: CapturingJudge, conversation: Conversation, criteria: Sequence[Criterion]) -> \
        dict[str, Any] | None:
    """The chat request the online judge would send for these criteria (rule and not-applicable criteria never
    reach it); None when no model call is needed."""
    if not criteria:
        return None
    try:
        judge_step(conversation, criteria, judge, guard=False)
    except _Captured as captured:
        return captured.body
    return None


def batch_usage(response: Any, model: str, price_as: str | None) -> Usage:
    """Tokens of a batched reply priced at litellm's batch rates (``input_cost_per_token_batches`` /
    ``output_cost_per_token_batches``); at the online rates when the cost map has no batch rates."""
    online = usage_of(response, model, price_as)
    priced = price_as or model
    try:
        import litellm

        info = litellm.get_model_info(priced)
        rate_in, rate_out = info.get("input_cost_per_token_batches"), info.get("output_cost_per_token_batches")
    except Exception:  # not in the cost map: tokens only, as online
        return online
    if rate_in is None or rate_out is None:
        return online
    cost = online.prompt_tokens * float(rate_in) + online.completion_tokens * float(rate_out)
    return online.model_copy(update={"cost_usd": cost, "priced_as": f"{priced} (batch)"})


class ReplayJudge(HostedJudge):
    """The hosted judge answering from a batch's output: ``replies`` (conversation id → chat.completion body) and
    ``errors`` (conversation id → the provider's reason, which leaves its questions unscored)."""

    def __init__(self, model: str, options: Any, replies: dict[str, dict[str, Any]], errors: dict[str, str],
                 hashes: dict[str, str]) -> None:
        super().__init__(model, options)
        self.replies, self.errors, self.hashes = replies, errors, hashes
        self._current = ""

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        self._current = conversation.id
        return super().judge(conversation, criteria)

    def _complete(self, messages: list[dict[str, str]], temperature: float, shape: dict[str, Any]) -> Any:
        import litellm

        cid = self._current
        if cid in self.errors:
            raise _CallFailed(f"provider batch: {self.errors[cid]}")
        body = self.replies.get(cid)
        if body is None:
            raise _CallFailed("provider batch: no reply for this conversation in the batch")
        if self.hashes.get(cid) not in (None, request_hash({"messages": messages})):
            raise _CallFailed("provider batch: the conversation or rubric changed since it was submitted")
        response = litellm.ModelResponse(**body)
        record(batch_usage(response, self.model, self.options.price_as))
        return response
