"""Usage of one litellm response: tokens (with the prompt-cache hits the provider reports) and the price from
litellm's offline cost map (``LITELLM_LOCAL_MODEL_COST_MAP=True``: no network)."""

from __future__ import annotations

import logging
from typing import Any

from scorer.usage import Usage

__all__ = ["usage_of"]

log = logging.getLogger(__name__)


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def _cached_tokens(usage: Any) -> int:
    """Prompt tokens read from the provider's cache: OpenAI/vLLM/litellm ``prompt_tokens_details.cached_tokens``,
    Anthropic ``cache_read_input_tokens``."""
    details = _field(usage, "prompt_tokens_details")
    cached = _field(details, "cached_tokens") if details is not None else None
    if not cached:
        cached = _field(usage, "cache_read_input_tokens")
    return int(cached or 0)


def usage_of(response: Any, model: str, price_as: str | None = None) -> Usage:
    """Tokens and cost of one completion. ``price_as`` names the cost-map model to price with (a self-hosted
    model's hosted twin); otherwise ``model`` itself. The cost is None when that model is not in the map."""
    raw = _field(response, "usage")
    prompt = int(_field(raw, "prompt_tokens") or 0) if raw is not None else 0
    completion = int(_field(raw, "completion_tokens") or 0) if raw is not None else 0
    cached = _cached_tokens(raw) if raw is not None else 0
    priced = price_as or model
    cost: float | None
    try:
        import litellm

        prompt_cost, completion_cost = litellm.cost_per_token(
            model=priced, prompt_tokens=prompt, completion_tokens=completion, cache_read_input_tokens=cached)
        cost = float(prompt_cost) + float(completion_cost)
    except Exception as exc:  # not in the cost map (a self-hosted model): tokens only
        log.debug("no price for %s: %s", priced, exc)
        cost = None
    return Usage(calls=1, prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached, cost_usd=cost,
                 priced_as=priced if cost is not None else None)
