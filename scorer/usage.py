"""Token and cost accounting: what model calls cost, per conversation and summed per job or batch.

A judge that calls a model reports each call's usage with :func:`record`; whoever wants the total for a piece of
work (the pipeline, per conversation) wraps it in :func:`recording`. The recorder lives in a context variable, so
threads scoring different conversations at once never mix their counts, and a judge that makes no call (local,
learned, fake) simply records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pydantic import BaseModel, Field

__all__ = ["Budget", "Usage", "record", "recording", "total"]


class Usage(BaseModel):
    """Calls, tokens and money spent on model calls. ``cost_usd`` is None when any call's price is unknown (a
    self-hosted model, or one missing from litellm's cost map): then only the tokens are known."""

    calls: int = Field(default=0, ge=0, description="Model calls made (retries and samples included).")
    prompt_tokens: int = Field(default=0, ge=0, description="Input tokens, as the provider counted them.")
    completion_tokens: int = Field(default=0, ge=0, description="Generated tokens (reasoning included).")
    cached_tokens: int = Field(default=0, ge=0, description="Input tokens the provider served from its prompt cache.")
    cost_usd: float | None = Field(default=0.0, description="US dollars from litellm's cost map; None if unknown.")
    priced_as: str | None = Field(default=None, description="The cost-map model the price was taken from.")

    def add(self, other: Usage) -> None:
        """Add ``other`` into this one (an unknown cost makes the sum's cost unknown)."""
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_tokens += other.cached_tokens
        self.cost_usd = None if self.cost_usd is None or other.cost_usd is None else self.cost_usd + other.cost_usd
        self.priced_as = self.priced_as or other.priced_as

    @property
    def spent(self) -> bool:
        """True when at least one call was made."""
        return self.calls > 0


_CURRENT: ContextVar[Usage | None] = ContextVar("rubricate_usage", default=None)


@contextmanager
def recording() -> Iterator[Usage]:
    """Collect the usage of every call :func:`record`-ed inside the block (nested blocks also add to the outer)."""
    outer = _CURRENT.get()
    usage = Usage()
    token = _CURRENT.set(usage)
    try:
        yield usage
    finally:
        _CURRENT.reset(token)
        if outer is not None:
            outer.add(usage)


def record(usage: Usage) -> None:
    """Report one call's usage to the innermost :func:`recording` block (a no-op outside one)."""
    current = _CURRENT.get()
    if current is not None:
        current.add(usage)


def total(items: Iterable[Usage | None]) -> Usage:
    """The sum of several usages (None entries are skipped)."""
    out = Usage()
    for item in items:
        if item is not None:
            out.add(item)
    return out


class Budget:
    """A spending cap for a batch or job: :meth:`charge` each card's usage, stop dispatching once :attr:`stopped`."""

    def __init__(self, max_cost_usd: float) -> None:
        if max_cost_usd < 0:
            raise ValueError("a budget cannot be negative")
        self.max_cost_usd = max_cost_usd
        self.spent = Usage()
        self.stopped: str | None = None

    def charge(self, usage: Usage | None) -> None:
        """Add one piece of work's usage; sets :attr:`stopped` (the reason) when the budget is used up or the
        price of the calls is unknown (then the cap cannot be kept)."""
        if usage is None or not usage.spent:
            return
        self.spent.add(usage)
        if self.spent.cost_usd is None:
            self.stopped = ("the calls' price is unknown (the model is not in litellm's cost map), so the budget "
                            "cannot be kept: name a priced model to price them as (--price-as), or drop the budget")
        elif self.spent.cost_usd >= self.max_cost_usd:
            self.stopped = f"budget of ${self.max_cost_usd:.4f} reached (${self.spent.cost_usd:.4f} spent)"
