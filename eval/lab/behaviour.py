"""The behavioural check's run: ask every wording (and its paraphrases) of a sample's conversations, keep the answers.

Each criterion under test becomes a :class:`Wording`: the question as written plus paraphrases that ask the same
behaviour in other words. A judge whose questions are answered independently of each other (``independent_questions``
— the local judge scores each question on its own copy of the transcript encoding) gets all of them in one call per
conversation; any other judge (a hosted model answering a batch in one reply) gets one call per wording set, so it
never sees two wordings of the same question side by side. Answers are checked against the scale and their
evidence located in the transcript, as in scoring. A judge that fails mid-run ends the run early; what was measured
until then is kept and the reason is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eval.lab.paraphrase import paraphrase_criteria, paraphrases
from eval.lab.sample import Sample
from scorer.judges import Judge
from scorer.pipeline import judge_step
from scorer.types import Criterion, Judgement

__all__ = ["Answers", "LabRun", "Wording", "make_wordings", "run_wordings"]

log = logging.getLogger(__name__)


@dataclass
class Wording:
    """One criterion wording under test: asked as ``criterion`` (whose id is unique in the run), compared with the
    human labels stored under ``label_id``; ``paraphrases`` ask the same behaviour in other words."""

    key: str
    criterion: Criterion
    label_id: str
    paraphrases: list[Criterion] = field(default_factory=list)
    side: str = ""

    def as_written(self) -> Wording:
        """The same wording without its paraphrases."""
        return Wording(self.key, self.criterion, self.label_id, [], self.side)


@dataclass
class Answers:
    """Per conversation (by index in the sample): the answer to the wording, to each paraphrase, and of judge 2."""

    original: list[Judgement | None]
    paraphrased: list[list[Judgement | None]]
    second: list[Judgement | None]


@dataclass
class LabRun:
    """Everything a lab run asked and got back; metrics are computed from it (:mod:`eval.lab.measures`)."""

    sample: Sample
    wordings: list[Wording]
    answers: dict[str, Answers]
    judge_id: str
    judge2_id: str | None
    reads_wording: bool
    completed: int = 0
    stopped: str | None = None


def make_wordings(criteria: Sequence[Criterion], *, n_paraphrases: int = 3, custom: dict[str, list[str]] | None = None,
                  side: str = "", label_ids: dict[str, str] | None = None) -> list[Wording]:
    """Wordings for ``criteria``; ``custom`` maps a criterion id to its own paraphrases (else templates); with a
    ``side`` ("a"/"b") the ids asked are prefixed so two rubrics' criteria can share a run."""
    out = []
    for c in criteria:
        key = f"{side}.{c.id}" if side else c.id
        asked = c.model_copy(update={"id": key}) if side else c
        texts = (custom or {}).get(c.id) or paraphrases(c.question, n_paraphrases)
        out.append(Wording(key, asked, (label_ids or {}).get(c.id, c.id),
                           paraphrase_criteria(asked, texts[:n_paraphrases] if n_paraphrases else []), side))
    return out


def _groups(wordings: Sequence[Wording], together: bool) -> list[list[Criterion]]:
    """The criteria asked per call: all at once, or one call per side and wording set (original, paraphrase k)."""
    sets: dict[tuple[str, int], list[Criterion]] = {}
    for w in wordings:
        for k, criterion in enumerate([w.criterion, *w.paraphrases]):
            sets.setdefault(("", 0) if together else (w.side, k), []).append(criterion)
    return list(sets.values())


def _ask(judge: Judge, conversation_index: int, sample: Sample, criteria: list[Criterion]) -> dict[str, Judgement]:
    conversation = sample.items[conversation_index].conversation
    return {j.criterion_id: j for j in judge_step(conversation, criteria, judge, guard=False)}


def run_wordings(sample: Sample, wordings: list[Wording], judge: Judge, *, judge2: Judge | None = None,
                 progress: Callable[[int], None] | None = None) -> LabRun:
    """Ask every wording of every conversation; stops early (keeping what it has) if a judge raises."""
    wording_aware = judge.reads_wording
    if not wording_aware:
        wordings = [w.as_written() for w in wordings]
    n = len(sample.items)
    answers = {w.key: Answers([None] * n, [[None] * n for _ in w.paraphrases], [None] * n) for w in wordings}
    run = LabRun(sample, wordings, answers, judge.id, judge2.id if judge2 else None, wording_aware)
    groups = _groups(wordings, judge.independent_questions)
    originals = _groups([w.as_written() for w in wordings], False) if judge2 else []
    try:
        judge.prepare([item.conversation for item in sample.items])
        for i in range(n):
            got: dict[str, Judgement] = {}
            for group in groups:
                got.update(_ask(judge, i, sample, group))
            second: dict[str, Judgement] = {}
            for group in originals:
                second.update(_ask(judge2, i, sample, group))  # type: ignore[arg-type]
            for w in wordings:
                slot = answers[w.key]
                slot.original[i] = got.get(w.criterion.id)
                for k, p in enumerate(w.paraphrases):
                    slot.paraphrased[k][i] = got.get(p.id)
                slot.second[i] = second.get(w.criterion.id)
            run.completed = i + 1
            if progress:
                progress(i + 1)
    except KeyboardInterrupt:
        run.stopped = f"interrupted after {run.completed} of {n} conversations"
    except Exception as exc:  # a judge that fails mid-run: report what was measured until then
        log.exception("lab run stopped")
        run.stopped = f"the judge failed after {run.completed} of {n} conversations: {type(exc).__name__}: {exc}"
    return run
