"""A deterministic judge for tests and demos without a model. It never calls anything.

``fake`` picks each answer from a hash of the transcript and the criterion (stable across runs); ``fake:yes``,
``fake:no`` or ``fake:na`` always give that answer where the scale allows it; ``fake:unscored`` answers nothing.
Evidence quotes are the first sentence of the first agent turn, plus one quote that is not in the transcript, so the
evidence check has something to drop.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from scorer.judges._base import Judge, JudgeOptions
from scorer.types import NA, Conversation, Criterion, Judgement

__all__ = ["FakeJudge", "create"]

_SENTENCE = re.compile(r"^.+?(?:[.!?。！？](?=\s|$)|$)", re.S)
INVENTED_QUOTE = "this sentence is not in any transcript"


class FakeJudge(Judge):
    """Deterministic stand-in for a model judge; see the module docstring."""

    independent_questions = True

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode
        self.id = f"fake:{mode}" if mode else "fake"
        self.calls = 0

    def _answer(self, conversation: Conversation, criterion: Criterion) -> tuple[str, float]:
        digest = hashlib.sha256(f"{conversation.content_hash()}|{criterion.id}".encode()).digest()
        answers = criterion.answers
        if self.mode in answers:
            return str(self.mode), 0.9
        return answers[digest[0] % len(answers)], 0.5 + (digest[1] / 255) * 0.49

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        self.calls += 1
        out: list[Judgement] = []
        agent_turns = [t for t in conversation.turns if t.speaker == "agent"]
        for criterion in criteria:
            if self.mode == "unscored":
                out.append(Judgement.unscored(criterion.id, "fake judge asked to answer nothing", judge_id=self.id))
                continue
            answer, confidence = self._answer(conversation, criterion)
            others = [a for a in criterion.answers if a != answer]
            probabilities = {answer: confidence, **{a: (1 - confidence) / len(others) for a in others}}
            quotes: list[str] = []
            if answer != NA and agent_turns:
                match = _SENTENCE.match(agent_turns[0].text.strip())
                quotes = [match.group(0).strip() if match else agent_turns[0].text, INVENTED_QUOTE]
            out.append(
                Judgement(
                    criterion_id=criterion.id,
                    answer=answer,
                    confidence=round(confidence, 4),
                    confidence_kind="none",
                    probabilities=probabilities,
                    rationale=f"fake judge: answer derived from a hash of the transcript and {criterion.id!r}",
                    proposed_quotes=quotes,
                    judge_id=self.id,
                    model_id="fake",
                    prompt_version="none",
                )
            )
        return out


def create(arg: str | None, options: JudgeOptions) -> FakeJudge:
    """Registry factory for ``fake`` and ``fake:<answer>``."""
    return FakeJudge(arg)
