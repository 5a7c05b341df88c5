"""The rows of the peers bench as objects the bench can interleave: ``score(item)`` judges one conversation and
returns its answers and the reasons for any unanswered question.

* :class:`Hosted` — rubricate's ``litellm/…`` judge on the served model (grouped or one call per question);
* :class:`Local` — rubricate's local judge (in process, no server);
* :class:`Cascade` — ``cascade:learned>litellm/…``: rubricate's learned judge, trained on the human labels of
  *other* conversations of the same dataset (as a QA team's reviews would train it), answers where its calibrated
  confidence clears the criterion's auto-accept threshold; the served model is asked only the rest, in one call
  per conversation (none when nothing is left);
* :class:`Peer` — Autorubric or DeepEval, each a long-lived process in its own venv speaking the runners' line
  protocol (job first, then one conversation per line), so their imports and set-up are paid once, outside the
  timing, as rubricate's model load is.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from scorer.judges import JudgeOptions, get_judge
from scorer.judges.cascade import CascadeJudge
from scorer.judges.hosted import HostedJudge
from scorer.judges.learned import LearnedJudge, LearnedModel
from scorer.types import Criterion, Judgement, Rubric

__all__ = ["Cascade", "Hosted", "Local", "Peer"]

RUNNERS = Path(__file__).resolve().parent


def _row(judgements: list[Judgement]) -> tuple[dict[str, str | None], list[str]]:
    """Answers per criterion, and the (shortened) reasons of the unscored ones."""
    return ({j.criterion_id: j.answer for j in judgements},
            [j.reason[:160] for j in judgements if j.status == "unscored" and j.reason])


class Hosted:
    def __init__(self, base_url: str, model: str, rubric: Rubric, *, short: bool, per_question: bool,
                 timeout: float, logprobs: bool = True) -> None:
        options = JudgeOptions(api_base=base_url, timeout=timeout, max_retries=0, short_answers=short,
                               response_format="json_object_schema", evidence=not short, logprobs=logprobs)
        self.judge = HostedJudge(f"openai/{model}", options)
        self.rubric, self.per_question = rubric, per_question

    def score(self, item: Any) -> tuple[dict[str, str | None], list[str]]:
        criteria = list(self.rubric.criteria)
        groups: list[list[Criterion]] = [[c] for c in criteria] if self.per_question else [criteria]
        return _row([j for group in groups for j in self.judge.judge(item.conversation, group)])

    def close(self) -> None:
        return None


class Cascade:
    def __init__(self, base_url: str, model: str, rubric: Rubric, learned: LearnedModel, *, timeout: float,
                 cache_dir: Path | None, logprobs: bool = True) -> None:
        served = Hosted(base_url, model, rubric, short=True, per_question=False, timeout=timeout, logprobs=logprobs)
        first = LearnedJudge(learned, cache_dir=cache_dir)
        self.judge = CascadeJudge([first, served.judge], f"cascade:learned>{model}")
        self.rubric = rubric

    def score(self, item: Any) -> tuple[dict[str, str | None], list[str]]:
        return _row(self.judge.judge(item.conversation, self.rubric.criteria))

    def close(self) -> None:
        return None


class Local:
    def __init__(self, rubric: Rubric, warm_up: Any) -> None:
        self.judge = get_judge("local", JudgeOptions(evidence=False))
        self.rubric = rubric
        self.judge.judge(warm_up.conversation, rubric.criteria)  # load and warm up outside the timing

    def score(self, item: Any) -> tuple[dict[str, str | None], list[str]]:
        judgements = self.judge.judge(item.conversation, self.rubric.criteria)
        return {j.criterion_id: j.answer for j in judgements}, [j.reason or "" for j in judgements
                                                                if j.status == "unscored"]

    def close(self) -> None:
        return None


class Peer:
    def __init__(self, name: str, python: Path, base_url: str, model: str, rubric: Rubric, timeout: float) -> None:
        runner = RUNNERS / f"{name}_runner.py"
        self.name = name
        self.proc = subprocess.Popen([str(python), str(runner)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env={**os.environ, "OPENAI_API_KEY": "not-needed",
                                                     "DEEPEVAL_TELEMETRY_OPT_OUT": "YES", "PYTHONPATH": ""})
        job = {"base_url": base_url, "model": model, "timeout": timeout,
               "criteria": [{"id": c.id, "question": c.question, "answers": c.answers,
                             "applies_when": c.applies_when} for c in rubric.criteria]}
        self._send(job)
        if not self._receive().get("ready"):
            raise RuntimeError(f"{name}'s runner did not start")

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def _receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}'s runner stopped (exit code {self.proc.wait()}); its stderr is above")
        return dict(json.loads(line))

    def score(self, item: Any) -> tuple[dict[str, str | None], list[str]]:
        conv = item.conversation
        self._send({"id": conv.id, "turns": [{"speaker": t.speaker, "text": t.text} for t in conv.turns]})
        reply = self._receive()
        return dict(reply["answers"]), list(reply.get("errors", []))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
