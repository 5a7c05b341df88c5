"""Score one conversation or a batch: judge → check answers → locate evidence → route → score card → store.

A conversation already scored with the same transcript, rubric version and judge is read back from the store and
costs no model call. A failure in one conversation never stops the batch: it becomes unscored judgements (judge
errors) or a reported failure (bad input), and everything scored before it is already stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from scorer.conditions import split_applicable
from scorer.eligibility import eligibility_check
from scorer.evidence import attach_evidence
from scorer.io import BadRecord
from scorer.judges import Judge
from scorer.routing import RoutingPolicy, route
from scorer.scoring import score_card
from scorer.store import Store
from scorer.types import Conversation, Criterion, Judgement, Rubric, ScoreCard
from scorer.usage import Budget, Usage, recording, total

__all__ = ["BatchItem", "BatchSummary", "check_judgements", "judge_step", "score_batch", "score_conversation"]

log = logging.getLogger(__name__)


def check_judgements(
    criteria: Sequence[Criterion], judgements: Sequence[Judgement], judge_id: str
) -> list[Judgement]:
    """One judgement per criterion, in order; missing ones and answers outside the scale become unscored."""
    by_id: dict[str, Judgement] = {}
    for j in judgements:
        by_id.setdefault(j.criterion_id, j)
    checked: list[Judgement] = []
    for criterion in criteria:
        found = by_id.get(criterion.id)
        if found is None:
            checked.append(Judgement.unscored(criterion.id, "the judge returned no answer", judge_id=judge_id))
        elif found.status == "scored" and found.answer not in criterion.answers:
            checked.append(found.model_copy(update={
                "status": "unscored", "answer": None, "confidence": None,
                "reason": f"the judge answered {found.answer!r}, not one of {criterion.answers}",
            }))
        else:
            checked.append(found)
    return checked


def score_conversation(
    conversation: Conversation,
    rubric: Rubric,
    judge: Judge,
    *,
    store: Store | None = None,
    policy: RoutingPolicy | None = None,
    include_excluded: bool = False,
) -> tuple[ScoreCard, bool]:
    """Score one conversation; returns the card and whether it came from the store (no model call).

    A stored card is returned as it is, except that criteria left unscored (a timeout, a model error) are asked
    again; only those are updated. A conversation the rubric's eligibility rules exclude gets an ``excluded``
    card with the reason, stored like any other, and no model call (``include_excluded`` scores it anyway).
    """
    cached = store.find_score_card(conversation, rubric, judge.id) if store is not None else None
    if cached is not None and cached.status == "excluded" and include_excluded:
        store.delete_score_card(conversation, rubric, judge.id)  # type: ignore[union-attr]
        cached = None
    if cached is not None and all(j.status == "scored" for j in cached.judgements):
        return cached, True
    excluded = None if include_excluded or cached else eligibility_check(conversation, rubric, judge.id)
    if excluded is not None:
        if store is not None:
            store.save_score_card(conversation, rubric, excluded)
        return excluded, False
    retry = {j.criterion_id for j in cached.judgements if j.status == "unscored"} if cached else None
    criteria = [c for c in rubric.criteria if retry is None or c.id in retry]
    policy = policy or RoutingPolicy()
    with recording() as usage:
        fresh = dict(zip([c.id for c in criteria], judge_step(conversation, criteria, judge, policy=policy,
                                                              rubric_version=rubric.version), strict=True))
    judgements = [fresh.get(c.id) or next(j for j in cached.judgements if j.criterion_id == c.id)  # type: ignore[union-attr]
                  for c in rubric.criteria]
    card = score_card(conversation.id, rubric, judge.id, judgements)
    if usage.spent or (cached is not None and cached.usage is not None):
        card.usage = total([cached.usage if cached else None, usage])
    if store is not None:
        if cached is None:
            store.save_score_card(conversation, rubric, card)
        else:
            store.replace_unscored(conversation, rubric, card)
    return card, False


def judge_step(
    conversation: Conversation, criteria: Sequence[Criterion], judge: Judge, *,
    policy: RoutingPolicy | None = None, rubric_version: str = "", guard: bool = True,
) -> list[Judgement]:
    """The one scoring step: ask the judge, check its answers, locate evidence and (with a policy) route.

    Returns one judgement per criterion, in order. With ``guard`` (the default) a judge that raises is turned
    into unscored judgements with the reason — nothing is guessed; ``guard=False`` lets the error through, for
    callers that stop a run and report what was measured (the rubric lab).
    """
    ask, not_applicable = split_applicable(conversation, criteria)  # applies_if: na without a judge
    try:
        raw = judge.judge(conversation, ask) if ask else []
    except Exception as exc:  # a judge must not raise; if it does, nothing is guessed
        if not guard:
            raise
        log.exception("judge %s failed on %s", judge.id, conversation.id)
        raw = [Judgement.unscored(c.id, f"judge error: {exc}", judge_id=judge.id) for c in ask]
    raw = [*raw, *not_applicable.values()]
    out = []
    for criterion, judgement in zip(criteria, check_judgements(criteria, raw, judge.id), strict=True):
        if criterion.id in not_applicable:  # decided by a rule on the conversation's fields: nothing to review
            out.append(judgement)
            continue
        located = attach_evidence(conversation, judgement)
        if policy is not None:
            located = route(located, criterion, policy, conversation_id=conversation.id,
                            rubric_version=rubric_version)
        out.append(located)
    return out


@dataclass
class BatchItem:
    """The outcome for one input record: a card, or the reason it could not be scored."""

    location: str
    conversation_id: str | None
    card: ScoreCard | None = None
    cached: bool = False
    error: str | None = None


@dataclass
class BatchSummary:
    """Counts of a batch run, for the closing summary and the exit code."""

    scored: int = 0
    cached: int = 0
    failed_records: list[BatchItem] = field(default_factory=list)
    unscored_judgements: int = 0
    needs_review: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    stopped: str | None = None
    not_started: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed_records and self.unscored_judgements == 0

    def add(self, item: BatchItem) -> None:
        if item.card is None:
            self.failed_records.append(item)
            return
        if item.card.status == "excluded":
            reason = item.card.excluded_reason or "excluded"
            self.excluded[reason] = self.excluded.get(reason, 0) + 1
            return
        self.cached += item.cached
        self.scored += not item.cached
        if not item.cached and item.card.usage is not None:
            self.usage.add(item.card.usage)
        self.unscored_judgements += sum(j.status == "unscored" for j in item.card.judgements)
        self.needs_review += sum(j.needs_review for j in item.card.judgements)


def score_batch(
    records: Iterable[Conversation | BadRecord],
    rubric: Rubric,
    judge: Judge,
    *,
    store: Store | None = None,
    policy: RoutingPolicy | None = None,
    on_item: Callable[[BatchItem], None] | None = None,
    include_excluded: bool = False,
    budget: Budget | None = None,
) -> Iterator[BatchItem]:
    """Score every record in turn, yielding one :class:`BatchItem` each; the batch never stops on one failure.

    With a ``budget``, each freshly scored card is charged to it and nothing more is started once it is used up
    (``budget.stopped`` says why); the records not started are not yielded.
    """
    for record in records:
        if budget is not None and budget.stopped:
            return
        if isinstance(record, BadRecord):
            item = BatchItem(record.location, record.conversation_id, error=record.reason)
        else:
            try:
                card, cached = score_conversation(record, rubric, judge, store=store, policy=policy,
                                                  include_excluded=include_excluded)
                item = BatchItem(record.id, record.id, card=card, cached=cached)
                if budget is not None and not cached:
                    budget.charge(card.usage)
            except Exception as exc:  # storage trouble etc.: report it, go on with the next one
                log.exception("could not score %s", record.id)
                item = BatchItem(record.id, record.id, error=f"{type(exc).__name__}: {exc}")
        if on_item is not None:
            on_item(item)
        yield item
