"""``cascade:<a>><b>[>…]``: cheap judges first; a later judge is asked only what the earlier ones are not sure of.

E.g. ``cascade:learned>litellm/openai/gpt-4o-mini``. Per conversation, the first judge answers every criterion; an
answer is kept where its confidence clears that judge's auto-accept threshold for the criterion (the learned judge's
``accept_threshold``: the calibrated confidence that kept the target accuracy on held-out training predictions; a
judge without thresholds — e.g. deterministic rules — keeps only answers of confidence 1). The criteria left over
go to the next judge together, in one call per conversation, and so on; the last judge answers whatever is left.
If the last judge cannot answer, the earlier judge's (unaccepted) answer is kept, so routing sends it to review.

``calls`` counts the conversations each judge was asked about and ``answered_by`` the judgements each one gave:
model calls saved = conversations whose leftover was empty before the model stage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from scorer._errors import JudgeError
from scorer.judges._base import Judge, JudgeOptions
from scorer.types import Conversation, Criterion, Judgement

__all__ = ["CascadeJudge", "create"]


def _threshold(judge: Judge, criterion_id: str) -> float | None:
    accept = getattr(judge, "accept_threshold", None)
    return accept(criterion_id) if callable(accept) else 1.0


def _accepted(judge: Judge, judgement: Judgement) -> bool:
    threshold = _threshold(judge, judgement.criterion_id)
    return (judgement.status == "scored" and threshold is not None and judgement.confidence is not None
            and judgement.confidence >= threshold)


class CascadeJudge(Judge):
    """Judges asked in order, each only about what the earlier ones left; see the module docstring."""

    def __init__(self, stages: Sequence[Judge], judge_id: str) -> None:
        if len(stages) < 2:
            raise JudgeError("a cascade needs at least two judges: cascade:<a>><b>, e.g. cascade:learned>local")
        self.stages = list(stages)
        self.id = judge_id
        self.reads_wording = any(s.reads_wording for s in self.stages)
        self.independent_questions = all(s.independent_questions for s in self.stages)
        self.calls: Counter[str] = Counter()
        self.answered_by: Counter[str] = Counter()

    def prepare(self, conversations: Sequence[Conversation]) -> None:
        """Let the first judge batch its work (the learned judge embeds every conversation in one pass)."""
        self.stages[0].prepare(conversations)

    def _ask(self, stage: Judge, conversation: Conversation, criteria: Sequence[Criterion]) -> dict[str, Judgement]:
        self.calls[stage.id] += 1
        try:
            return {j.criterion_id: j for j in stage.judge(conversation, criteria)}
        except Exception as exc:  # a judge must not raise; if it does, its part is unscored
            return {c.id: Judgement.unscored(c.id, f"judge error: {exc}", judge_id=stage.id) for c in criteria}

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        final: dict[str, tuple[Judge, Judgement]] = {}
        fallback: dict[str, tuple[Judge, Judgement]] = {}
        left = list(criteria)
        for n, stage in enumerate(self.stages):
            if not left:
                break
            answers = self._ask(stage, conversation, left)
            last = n == len(self.stages) - 1
            for criterion in left:
                found = answers.get(criterion.id)
                if found is None:
                    continue
                if last or _accepted(stage, found):
                    if found.status == "scored" or criterion.id not in fallback:
                        final[criterion.id] = (stage, found)
                elif found.status == "scored":
                    fallback.setdefault(criterion.id, (stage, found))
            left = [c for c in left if c.id not in final]
        out = []
        for criterion in criteria:
            stage, judgement = final.get(criterion.id) or fallback.get(criterion.id) or (self.stages[-1], None)
            if judgement is None:
                out.append(Judgement.unscored(criterion.id, "no judge of the cascade answered", judge_id=self.id))
                continue
            self.answered_by[stage.id] += 1
            kept = "" if criterion.id in final else " (kept: the later judges could not answer)"
            out.append(judgement.model_copy(update={
                "judge_id": self.id, "rationale": f"cascade: answered by {stage.id}{kept} · {judgement.rationale}"}))
        return out


def create(arg: str | None, options: JudgeOptions) -> CascadeJudge:
    """Registry factory: ``cascade:learned>litellm/<model>`` builds each stage with the registry."""
    from scorer.judges._registry import get_judge

    specs = [s.strip() for s in (arg or "").split(">") if s.strip()]
    return CascadeJudge([get_judge(s, options) for s in specs], judge_id=f"cascade:{'>'.join(specs)}")
