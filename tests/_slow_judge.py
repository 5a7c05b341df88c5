"""A test judge that takes its time and records every call: ``probe`` or ``probe:<seconds per conversation>``.

It answers like the fake judge (so routing and evidence work), sleeps, and keeps the ids it was called with and the
most calls it saw in flight at once. With ``RUBRICATE_TEST_JUDGE_LOG`` set, each call also appends
``<pid> <conversation id>`` to that file, so tests can count model calls made in worker subprocesses.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

from scorer.judges import Judge, JudgeOptions, register_judge
from scorer.judges.fake import FakeJudge
from scorer.types import Conversation, Criterion, Judgement

__all__ = ["ProbeJudge", "create", "register", "run_cli"]


class ProbeJudge(Judge):
    """Fake answers, a delay, and a record of calls and peak concurrency."""

    def __init__(self, delay: float) -> None:
        self.id = "probe"
        self.delay = delay
        self.calls: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._fake = FakeJudge()
        self._log = os.environ.get("RUBRICATE_TEST_JUDGE_LOG")

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.calls.append(conversation.id)
        if self._log:
            with open(self._log, "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {conversation.id}\n")
        try:
            time.sleep(self.delay)
            return [j.model_copy(update={"judge_id": self.id}) for j in self._fake.judge(conversation, criteria)]
        finally:
            with self._lock:
                self.in_flight -= 1


def create(arg: str | None, options: JudgeOptions) -> ProbeJudge:
    return ProbeJudge(float(arg) if arg else 0.0)


def register() -> None:
    register_judge("probe", create, "test judge: fake answers after a delay, records calls")


def run_cli() -> None:
    """``python -c 'from tests._slow_judge import run_cli; run_cli()' <rubricate args>`` with the probe judge."""
    from cli import main

    register()
    main()
