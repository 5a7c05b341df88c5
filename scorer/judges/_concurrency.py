"""Adaptive concurrency for hosted calls: additive increase, multiplicative decrease (AIMD), bounded.

Every hosted call takes a slot. A rate limit (429) or a server error (5xx, overloaded) halves the number of slots
(never below one); each run of ``limit`` successful calls adds one back, up to the bound. All judges of a process
calling the same model on the same server share one limiter (:func:`limiter_for`), so a worker backs off as a
whole. :meth:`AdaptiveLimit.stats` gives the numbers a job status shows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["AdaptiveLimit", "limiter_for", "limiter_stats"]


class AdaptiveLimit:
    """At most ``limit`` calls in flight; ``limit`` moves between 1 and ``maximum`` with the server's answers."""

    def __init__(self, maximum: int, initial: int | None = None) -> None:
        if maximum < 1:
            raise ValueError("the concurrency bound must be at least 1")
        self.maximum = maximum
        self.limit = max(1, min(initial or maximum, maximum))
        self.in_flight = 0
        self.calls = 0
        self.throttled = 0
        self.lowest = self.limit
        self._streak = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the duration of a call."""
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()

    def succeeded(self) -> None:
        """A call came back fine: after ``limit`` of them in a row, allow one more in flight."""
        with self._cond:
            self.calls += 1
            self._streak += 1
            if self._streak >= self.limit and self.limit < self.maximum:
                self.limit += 1
                self._streak = 0
                self._cond.notify_all()

    def throttled_by_server(self) -> None:
        """A 429 or 5xx: halve the slots (at least one stays)."""
        with self._cond:
            self.calls += 1
            self.throttled += 1
            self._streak = 0
            self.limit = max(1, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)

    def stats(self) -> dict[str, int]:
        """Current and lowest limit, bound, calls in flight, calls made and calls throttled."""
        with self._cond:
            return {"limit": self.limit, "lowest": self.lowest, "maximum": self.maximum,
                    "in_flight": self.in_flight, "calls": self.calls, "throttled": self.throttled}


_LIMITERS: dict[tuple[str, str], AdaptiveLimit] = {}
_LOCK = threading.Lock()


def limiter_for(model: str, api_base: str | None, maximum: int) -> AdaptiveLimit:
    """The process-wide limiter for ``model`` on ``api_base`` (created with ``maximum`` on first use)."""
    key = (model, api_base or "")
    with _LOCK:
        if key not in _LIMITERS:
            _LIMITERS[key] = AdaptiveLimit(maximum)
        return _LIMITERS[key]


def limiter_stats() -> dict[str, Any]:
    """Every limiter of this process by ``model@server``, for job status and health."""
    with _LOCK:
        items = list(_LIMITERS.items())
    return {f"{model}@{base}" if base else model: limiter.stats() for (model, base), limiter in items}
