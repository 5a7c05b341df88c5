"""``ensemble:<a>+<b>[+…]``: several judges answer; their probabilities are averaged and disagreement is routed.

Per criterion, each member that scored contributes its per-answer probabilities (a member without them counts its
answer with its confidence, the rest spread evenly). The answer is the highest average; the confidence is that
average. Members that answered differently add ``judges_disagree`` to the review reasons. Unscored members are left
out and named in the rationale; if every member is unscored, so is the ensemble.
"""

from __future__ import annotations

from collections.abc import Sequence

from scorer._errors import JudgeError
from scorer.judges._base import Judge, JudgeOptions
from scorer.types import Conversation, Criterion, Judgement

__all__ = ["EnsembleJudge", "create"]

_KIND_ORDER = ["logprob", "classifier", "calibrated", "sampling", "verbal", "none"]


def _distribution(judgement: Judgement, answers: list[str]) -> dict[str, float]:
    if judgement.probabilities and set(judgement.probabilities) <= set(answers):
        return {a: judgement.probabilities.get(a, 0.0) for a in answers}
    confidence = judgement.confidence if judgement.confidence is not None else 1.0
    rest = (1 - confidence) / (len(answers) - 1) if len(answers) > 1 else 0.0
    return {a: confidence if a == judgement.answer else rest for a in answers}


class EnsembleJudge(Judge):
    """A judge made of judges; see the module docstring."""

    def __init__(self, members: Sequence[Judge], judge_id: str) -> None:
        if len(members) < 2:
            raise JudgeError("an ensemble needs at least two judges: ensemble:<a>+<b>")
        self.members = list(members)
        self.id = judge_id
        # The rubric lab asks paraphrases only of judges that read the wording, all at once only if every member
        # answers each question on its own (see eval.lab.behaviour).
        self.reads_wording = all(m.reads_wording for m in self.members)
        self.independent_questions = all(m.independent_questions for m in self.members)

    def prepare(self, conversations: Sequence[Conversation]) -> None:
        for member in self.members:
            member.prepare(conversations)

    def judge(self, conversation: Conversation, criteria: Sequence[Criterion]) -> list[Judgement]:
        outputs = []
        for member in self.members:
            try:
                outputs.append(member.judge(conversation, criteria))
            except Exception as exc:  # a member must not raise; treat it as unscored throughout
                outputs.append([Judgement.unscored(c.id, f"judge error: {exc}", judge_id=member.id)
                                for c in criteria])
        return [self._combine(c, [{j.criterion_id: j for j in out}.get(c.id) for out in outputs]) for c in criteria]

    def _combine(self, criterion: Criterion, judgements: list[Judgement | None]) -> Judgement:
        scored = [(m, j) for m, j in zip(self.members, judgements, strict=True) if j and j.status == "scored"]
        missing = [f"{m.id}: {j.reason if j else 'no answer'}"
                   for m, j in zip(self.members, judgements, strict=True) if not j or j.status != "scored"]
        if not scored:
            return Judgement.unscored(criterion.id, "every judge of the ensemble was unscored — " + "; ".join(missing),
                                      judge_id=self.id)
        answers = criterion.answers
        average = {a: sum(_distribution(j, answers)[a] for _, j in scored) / len(scored) for a in answers}
        answer = max(average, key=lambda a: average[a])
        reasons = [r for _, j in scored for r in j.review_reasons]
        if len({j.answer for _, j in scored}) > 1:
            reasons.append("judges_disagree")
        rationale = "; ".join(f"{m.id}: {j.answer} ({j.confidence:.2f})" if j.confidence is not None
                              else f"{m.id}: {j.answer}" for m, j in scored)
        if missing:
            rationale += " | unscored: " + "; ".join(missing)
        quotes = list(dict.fromkeys(q for _, j in scored for q in j.proposed_quotes))
        evidence = list({(e.turn, e.start, e.end): e for _, j in scored for e in j.evidence}.values())
        kind = max((j.confidence_kind for _, j in scored), key=_KIND_ORDER.index)
        return Judgement(
            criterion_id=criterion.id, answer=answer, confidence=round(average[answer], 6), confidence_kind=kind,
            probabilities=average, rationale=rationale, proposed_quotes=quotes, evidence=evidence,
            judge_id=self.id, model_id="+".join(j.model_id for _, j in scored),
            prompt_version="+".join(dict.fromkeys(j.prompt_version for _, j in scored)),
            review_reasons=list(dict.fromkeys(reasons)),
        )


def create(arg: str | None, options: JudgeOptions) -> EnsembleJudge:
    """Registry factory: ``ensemble:local+learned`` builds each member with the registry."""
    from scorer.judges._registry import get_judge

    specs = [s.strip() for s in (arg or "").split("+") if s.strip()]
    return EnsembleJudge([get_judge(s, options) for s in specs], judge_id=f"ensemble:{'+'.join(specs)}")
