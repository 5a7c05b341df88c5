"""The provider side of batch mode: which judges can batch, and litellm's file and batch calls (OpenAI dialect).

litellm 1.106.12 offers ``create_file``, ``create_batch``, ``retrieve_batch``, ``file_content`` and ``cancel_batch``
for the OpenAI-compatible providers ``openai``, ``hosted_vllm`` and ``litellm_proxy``; Anthropic's ``create_batch``
is not supported in it, so only those three are accepted (see docs/performance.md, "Provider batch mode").
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, Field

from scorer._errors import JudgeError
from scorer.judges import Judge, JudgeOptions
from scorer.settings import use_offline_hubs

__all__ = ["BATCH_PROVIDERS", "CANCELLING", "MAX_FILE_BYTES", "MAX_FILE_REQUESTS", "TERMINAL", "BatchClient",
           "BatchState", "batch_provider", "split_lines"]

BATCH_PROVIDERS = ("openai", "hosted_vllm", "litellm_proxy")
TERMINAL = ("completed", "failed", "expired", "cancelled")
CANCELLING = "cancelling"  # asked to stop; ``cancelled`` (with what it finished) within minutes
MAX_FILE_REQUESTS = 50_000  # OpenAI's limits per batch input file
MAX_FILE_BYTES = 200 * 1024 * 1024


def batch_provider(judge: Judge) -> str:
    """The litellm provider a judge's batch goes to; a :class:`JudgeError` saying why when it cannot batch."""
    from scorer.judges.hosted import HostedJudge

    works = (f"--batch works with an OpenAI-compatible litellm judge ({', '.join(BATCH_PROVIDERS)}), e.g. "
             "--judge litellm/openai/gpt-4o-mini; score without --batch otherwise")
    if not isinstance(judge, HostedJudge):
        raise JudgeError(f"--batch: {judge.id} does not call a provider's API, so there is no batch API to use; "
                         f"{works}")
    provider = judge.model.split("/", 1)[0] if "/" in judge.model else _provider_of(judge.model)
    if provider not in BATCH_PROVIDERS:
        why = ("litellm's create_batch does not support Anthropic's Message Batches in this version"
               if provider == "anthropic" else f"litellm has no OpenAI-dialect batch API for provider {provider!r}")
        raise JudgeError(f"--batch: {judge.id}: {why}; {works}")
    if judge.options.samples != 1:
        raise JudgeError("--batch sends one request per conversation: use --samples 1 (logprobs give the "
                         "confidence)")
    return provider


def _provider_of(model: str) -> str:
    use_offline_hubs()
    import litellm

    try:
        return str(litellm.get_llm_provider(model)[1])
    except Exception:  # an unknown bare model name
        return "unknown"


def split_lines(lines: Sequence[tuple[str, bytes]], *, max_requests: int = MAX_FILE_REQUESTS,
                max_bytes: int = MAX_FILE_BYTES) -> Iterator[list[tuple[str, bytes]]]:
    """(custom_id, encoded JSONL line) pairs in parts that stay within the provider's per-file limits."""
    part: list[tuple[str, bytes]] = []
    size = 0
    for key, line in lines:
        if part and (len(part) == max_requests or size + len(line) > max_bytes):
            yield part
            part, size = [], 0
        part.append((key, line))
        size += len(line)
    if part:
        yield part


class BatchState(BaseModel):
    """What the provider says about one batch."""

    id: str = Field(description="The provider's batch id.")
    status: str = Field(description="validating, in_progress, finalizing, completed, failed, expired, "
                        "cancelling, cancelled.")
    output_file_id: str | None = Field(default=None, description="JSONL of the replies, when there are some.")
    error_file_id: str | None = Field(default=None, description="JSONL of the requests that failed.")
    request_counts: dict[str, int] = Field(default_factory=dict, description="total, completed, failed.")

    @property
    def terminal(self) -> bool:
        """True when the provider will not change this batch any more."""
        return self.status in TERMINAL


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


class BatchClient:
    """litellm's batch functions for one provider, with the judge's ``api_base`` and ``api_key``."""

    def __init__(self, provider: str, options: JudgeOptions) -> None:
        self.provider = provider
        self.kwargs: dict[str, Any] = {"custom_llm_provider": provider}
        if options.api_base:
            self.kwargs.update(api_base=options.api_base, api_key=options.api_key or "not-needed")
        elif options.api_key:
            self.kwargs["api_key"] = options.api_key

    def _litellm(self) -> Any:
        use_offline_hubs()
        import litellm

        litellm.suppress_debug_info = True
        return litellm

    def _call(self, name: str, **kwargs: Any) -> Any:
        """One litellm batch call; a provider's refusal becomes a :class:`JudgeError` with its message."""
        try:
            return getattr(self._litellm(), name)(**kwargs, **self.kwargs)
        except Exception as exc:
            raise JudgeError(f"provider batch API ({self.provider}): {name} failed with litellm "
                             f"{type(exc).__name__}: {str(exc)[:300]}; nothing was lost (the job is kept): run the "
                             "command again once the cause is fixed") from exc

    def submit(self, lines: Sequence[bytes], metadata: dict[str, str]) -> tuple[str, str]:
        """Upload one JSONL file and start a batch on it; the input file id and the batch id."""
        uploaded = self._call("create_file", file=("rubricate-batch.jsonl", b"".join(lines)), purpose="batch")
        batch = self._call("create_batch", completion_window="24h", endpoint="/v1/chat/completions",
                           input_file_id=uploaded.id, metadata=metadata)
        return str(uploaded.id), str(batch.id)

    def retrieve(self, batch_id: str) -> BatchState:
        """The batch's status, counts and result files."""
        return _state(batch_id, self._call("retrieve_batch", batch_id=batch_id))

    def cancel(self, batch_id: str) -> BatchState:
        """Ask the provider to stop the batch (``POST /v1/batches/{id}/cancel``); its state afterwards, usually
        ``cancelling`` and later ``cancelled`` with an output file of the requests it finished before."""
        return _state(batch_id, self._call("cancel_batch", batch_id=batch_id))

    def lines(self, file_id: str) -> list[dict[str, Any]]:
        """A result file's JSONL lines, parsed."""
        content = self._call("file_content", file_id=file_id)
        text = content.content.decode("utf-8") if hasattr(content, "content") else str(content)
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _state(batch_id: str, batch: Any) -> BatchState:
    """A provider's batch object as a :class:`BatchState`."""
    counts = _field(batch, "request_counts")
    return BatchState(id=batch_id, status=str(_field(batch, "status")),
                      output_file_id=_field(batch, "output_file_id"), error_file_id=_field(batch, "error_file_id"),
                      request_counts={k: int(_field(counts, k) or 0) for k in ("total", "completed", "failed")}
                      if counts is not None else {})
