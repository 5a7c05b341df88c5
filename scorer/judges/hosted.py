"""The hosted judge: any litellm model string, one call per conversation with all its questions.

Inputs are XML-tagged (questions inside ``<questions>`` first, the transcript escaped inside ``<transcript>`` last,
so prompt caches reuse everything before it); the reply is reason-first JSON, grammar-constrained where the server
supports it and capped in length (see ``_hosted_request``); ``short_answers`` asks for the answers only. Every
call's tokens and cost are recorded (``scorer.usage``) and calls go through an adaptive concurrency limit.
Confidence, strongest first: answer-token logprobs when the server returns them (``logprob``);
else, with ``samples > 1``, the vote share over samples (``sampling``, disagreement sends the item to review);
else the model's own stated confidence (``verbal``, the weakest kind). Timeouts, rate limits and server errors are
retried with exponential backoff; after the last retry every question of the conversation is unscored with the
reason. Nothing is ever guessed.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from prompts import load_prompt, render_transcript, unescape
from scorer.judges._base import Judge, JudgeOptions, unscored_all
from scorer.judges._concurrency import limiter_for
from scorer.judges._hosted_parse import answer_logprobs, parse_reply, quote_texts
from scorer.judges._hosted_request import completion_budget, judgement_schema, response_format, timeout_for
from scorer.judges._hosted_usage import usage_of
from scorer.redact import Redactor, restore_judgement
from scorer.settings import use_offline_hubs
from scorer.types import Conversation, Criterion, Judgement
from scorer.usage import record

__all__ = ["HostedJudge", "create"]

log = logging.getLogger(__name__)
MAX_TRANSCRIPT_CHARS = 200_000
_RETRYABLE = ("Timeout", "RateLimitError", "APIConnectionError", "InternalServerError", "ServiceUnavailableError",
              "APIError")
_THROTTLING = ("RateLimitError", "InternalServerError", "ServiceUnavailableError")  # 429 / 5xx: slow down


class _CallFailed(Exception):
    """A call that failed for good (after retries, or not retryable)."""


class HostedJudge(Judge):
    """Judge through litellm; ``model`` is a litellm model string such as ``openai/gpt-4o-mini``."""

    def __init__(self, model: str, options: JudgeOptions | None = None, *, backoff: float = 1.0) -> None:
        self.model = model
        self.options = options or JudgeOptions()
        self.backoff = backoff
        self.id = f"litellm/{model}"
        self.system = load_prompt("judge_system")
        self.batch = load_prompt("judge_batch")
        self.prompt_version = f"{self.system.version}+{self.batch.version}"
        self.redactor = Redactor(self.options.pii_patterns) if self.options.redact_pii else None
        self.limiter = limiter_for(model, self.options.api_base, self.options.max_concurrency)

    def messages(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[dict[str, str]]:
        """The chat messages sent for one conversation (exposed for inspection and tests)."""
        questions = [{"id": c.id, "question": c.question, "answers": c.answers, "applies_when": c.applies_when,
                      "guidance": c.guidance, "descriptions": c.scale.descriptions} for c in criteria]
        transcript = render_transcript(conversation, max_chars=MAX_TRANSCRIPT_CHARS)
        user = self.batch.render(transcript=transcript, questions=questions, short=self.options.short_answers,
                                 evidence=self.options.evidence, reasoning_words=self.options.reasoning_tokens * 3 // 4)
        return [{"role": "system", "content": self.system.render()}, {"role": "user", "content": user}]

    def request_shape(self, criteria: Sequence[Criterion]) -> dict[str, Any]:
        """``max_tokens``, ``timeout`` and ``response_format`` for a call with these questions."""
        o = self.options
        shape: dict[str, Any] = {
            "max_tokens": completion_budget(len(criteria), short=o.short_answers, reasoning_tokens=o.reasoning_tokens,
                                            evidence=o.evidence, cap=o.max_completion_tokens),
            "timeout": timeout_for(len(criteria), o.timeout, o.timeout_per_question),
        }
        schema = judgement_schema(criteria, short=o.short_answers, reasoning_tokens=o.reasoning_tokens,
                                  evidence=o.evidence)
        fmt = response_format(o.response_format, schema)
        if fmt is not None:
            shape["response_format"] = fmt
        return shape

    def _complete(self, messages: list[dict[str, str]], temperature: float, shape: dict[str, Any]) -> Any:
        use_offline_hubs()
        import litellm

        litellm.suppress_debug_info = True
        kwargs: dict[str, Any] = {
            "model": self.model, "messages": messages, "temperature": temperature,
            "drop_params": True, "num_retries": 0, **shape,
        }
        if self.options.logprobs:
            kwargs.update(logprobs=True, top_logprobs=5)
        if self.options.api_base:
            kwargs["api_base"] = self.options.api_base
            kwargs["api_key"] = self.options.api_key or "not-needed"
        elif self.options.api_key:
            kwargs["api_key"] = self.options.api_key
        for attempt in range(self.options.max_retries + 1):
            try:
                with self.limiter.slot():
                    response = litellm.completion(**kwargs)
                self.limiter.succeeded()
                record(usage_of(response, self.model, self.options.price_as))
                return response
            except Exception as exc:
                name = type(exc).__name__
                if any(t in name for t in _THROTTLING):
                    self.limiter.throttled_by_server()
                retryable = any(r in name for r in _RETRYABLE) and "Auth" not in name and "NotFound" not in name
                if not retryable or attempt == self.options.max_retries:
                    tried = f" after {attempt} retr{'y' if attempt == 1 else 'ies'}" if attempt else ""
                    raise _CallFailed(f"litellm {name}{tried}: {str(exc)[:300]}") from exc
                delay = self.backoff * (2**attempt) * (0.5 + random.random())
                log.warning("%s on %s; retrying in %.1fs", name, self.model, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        """Redact PII (unless turned off), ask the model, and map placeholders in its quotes back."""
        if self.redactor is None:
            return self._judge(conversation, criteria)
        redacted, redaction = self.redactor.redact(conversation)
        return [restore_judgement(j, redaction) for j in self._judge(redacted, criteria)]

    def _judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        messages = self.messages(conversation, criteria)
        samples = self.options.samples
        temperature = self.options.temperature if samples == 1 else max(self.options.temperature, 0.7)
        shape = self.request_shape(criteria)
        replies: list[tuple[list[dict[str, Any]], list[dict[str, float] | None]]] = []
        errors: list[str] = []
        for _ in range(samples):
            try:
                response = self._complete(messages, temperature, shape)
                choice = response.choices[0]
                items = parse_reply(choice.message.content or "", [c.id for c in criteria])
                content = getattr(getattr(choice, "logprobs", None), "content", None)
                if content is None and isinstance(getattr(choice, "logprobs", None), dict):
                    content = choice.logprobs.get("content")
                by_id = {str(i.get("id")): i for i in items}
                order = [str(i.get("id")) for i in items]
                allowed = [next((c.answers for c in criteria if c.id == cid), []) for cid in order]
                probs = dict(zip(order, answer_logprobs(content, allowed), strict=True))
                replies.append(([by_id.get(c.id, {}) for c in criteria], [probs.get(c.id) for c in criteria]))
            except (_CallFailed, ValueError) as exc:
                errors.append(str(exc))
        if not replies:
            return unscored_all(criteria, errors[-1], judge_id=self.id, model_id=self.model,
                                prompt_version=self.prompt_version)
        return [self._combine(criterion, [r[0][k] for r in replies], [r[1][k] for r in replies])
                for k, criterion in enumerate(criteria)]

    def _combine(self, criterion: Criterion, items: list[dict[str, Any]],
                 logprobs: list[dict[str, float] | None]) -> Judgement:
        common = {"judge_id": self.id, "model_id": self.model, "prompt_version": self.prompt_version}
        answers = [str(i.get("answer", "")).strip().lower() if i else "" for i in items]
        valid = [(a, i, lp) for a, i, lp in zip(answers, items, logprobs, strict=True)
                 if a in [x.lower() for x in criterion.answers]]
        if not valid:
            if not any(items):
                return Judgement.unscored(criterion.id, "the model's reply did not answer this question", **common)
            return Judgement.unscored(criterion.id, f"the model answered {answers[0]!r}, not one of "
                                      f"{criterion.answers}", **common)
        canonical = {x.lower(): x for x in criterion.answers}
        votes = Counter(canonical[a] for a, _, _ in valid)
        answer = votes.most_common(1)[0][0]
        first = next(i for a, i, _ in valid if canonical[a] == answer)
        reasons: list[str] = []
        if len(items) > 1:
            probabilities = {a: votes.get(a, 0) / len(items) for a in criterion.answers}
            kind = "sampling"
            if len(votes) > 1 or len(valid) < len(items):
                reasons.append("judges_disagree")
        elif valid[0][2] is not None:
            probabilities, kind = dict(valid[0][2]), "logprob"
            answer = max(probabilities, key=lambda a: probabilities[a])
        else:
            stated = first.get("confidence")
            confidence = float(stated) if isinstance(stated, int | float) and 0 <= stated <= 1 else None
            probabilities, kind = ({answer: confidence} if confidence is not None else {}), "verbal"
        quotes = [unescape(q) for q in quote_texts(first.get("quotes"))]
        return Judgement(
            criterion_id=criterion.id, answer=answer, confidence=probabilities.get(answer),
            confidence_kind=kind if probabilities else "none", probabilities=probabilities,  # type: ignore[arg-type]
            rationale=str(first.get("reasoning") or "")[:1000] or self._no_reasoning(), proposed_quotes=quotes,
            review_reasons=reasons, **common,
        )

    def _no_reasoning(self) -> str:
        return "short-answer mode: the model gave only the answer" if self.options.short_answers else ""


def create(arg: str | None, options: JudgeOptions) -> HostedJudge:
    """Registry factory for ``litellm/<model>``."""
    if not arg:
        from scorer._errors import JudgeError

        raise JudgeError("name the model: --judge litellm/<provider>/<model>, e.g. litellm/openai/gpt-4o-mini")
    return HostedJudge(arg, options)
