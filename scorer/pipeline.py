"""Score one conversation or a batch: rules + judge → check answers → locate evidence → route → score card → store.

Criteria with a ``check:`` block are answered by the rule engine (``scorer.rules``) whatever the judge is; the judge
is asked only the others, in the same single pass.

A conversation already scored with the same transcript, rubric version and judge is read back from the store and
costs no model call. A failure in one conversation never stops the batch: it becomes unscored judgements (judge
errors) or a reported failure (bad input), and everything scored before it is already stored.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from scorer.conditions import split_applicable
from scorer.eligibility import SpamScorer, eligibility_check
from scorer.evidence import attach_evidence
from scorer.io import BadRecord
from scorer.judges import Judge
from scorer.routing import RoutingPolicy, route
from scorer.rules.engine import answer_rules
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
    spam: SpamScorer | None = None,
) -> tuple[ScoreCard, bool]:
    """Score one conversation; returns the card and whether it came from the store (no model call).

    A stored card is returned as it is, except that criteria left unscored (a timeout, a model error) are asked
    again; only those are updated. A conversation the rubric's eligibility rules exclude gets an ``excluded``
    card with the reason, stored like any other, and no model call (``include_excluded`` scores it anyway);
    ``spam``, a trained spam filter, is asked after the rules (``learned:spam``, see :mod:`scorer.eligibility`).
    """
    cached = store.find_score_card(conversation, rubric, judge.id) if store is not None else None
    if cached is not None and cached.status == "excluded" and include_excluded:
        store.delete_score_card(conversation, rubric, judge.id)  # type: ignore[union-attr]
        cached = None
    if cached is not None and all(j.status == "scored" for j in cached.judgements):
        return cached, True
    excluded = None if include_excluded or cached else eligibility_check(conversation, rubric, judge.id, spam)
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
    card = score_card(conversation.id, rubric, judge.id, judgements, auto_fail_threshold=policy.threshold_for)
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
    """The one scoring step: answer rule criteria, ask the judge the rest, check its answers, locate evidence and
    (with a policy) route.

    Criteria with a ``check:`` block are answered by the rule engine and never reach the judge; the judge answers
    the others in one call; results come back one per criterion, in order. With ``guard`` (the default) a judge
    that raises is turned into unscored judgements with the reason — nothing is guessed; ``guard=False`` lets the
    error through, for callers that stop a run and report what was measured (the rubric lab).
    """
    ask, not_applicable = split_applicable(conversation, criteria)  # applies_if: na without a judge
    rules = answer_rules(conversation, ask)  # check: criteria are answered by rules, never by the judge
    asked = [c for c in ask if c.check is None]
    try:
        raw = judge.judge(conversation, asked) if asked else []
    except Exception as exc:  # a judge must not raise; if it does, nothing is guessed
        if not guard:
            raise
        log.exception("judge %s failed on %s", judge.id, conversation.id)
        raw = [Judgement.unscored(c.id, f"judge error: {exc}", judge_id=judge.id) for c in asked]
    raw = [*rules, *raw, *not_applicable.values()]
    out = []
    for criterion, judgement in zip(criteria, check_judgements(criteria, raw, judge.id), strict=True):
        if criterion.id in not_applicable:  # decided by a rule on the conversation's fields: nothing to review
            out.append(judgement)
            continue
        located = attach_evidence(conversation, judgement, about=criterion.about)
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
    batch_size: int = 64,
    budget: Budget | None = None,
    spam: SpamScorer | None = None,
) -> Iterator[BatchItem]:
    """Score every record in turn, yielding one :class:`BatchItem` each; the batch never stops on one failure.

    Records are read ``batch_size`` at a time; a judge with a ``prepare`` ability (the learned judge) gets the
    conversations of each group that are not already stored in one call, so it embeds them in one batched pass —
    a stored result is never embedded again. With a ``budget``, each freshly scored card is charged to it and
    nothing more is started once it is used up (``budget.stopped`` says why); records not started are not yielded.
    """
    for group in _groups(records, batch_size):
        _prepare(judge, [r for r in group if isinstance(r, Conversation)], rubric, store)
        for record in group:
            if budget is not None and budget.stopped:
                return
            item = _score_record(record, rubric, judge, store, policy, include_excluded, spam)
            if budget is not None and item.card is not None and not item.cached:
                budget.charge(item.card.usage)
            if on_item is not None:
                on_item(item)
            yield item


def _groups(records: Iterable[Conversation | BadRecord], size: int) -> Iterator[list[Conversation | BadRecord]]:
    iterator = iter(records)
    while group := list(itertools.islice(iterator, max(1, size))):
        yield group


def _prepare(judge: Judge, conversations: list[Conversation], rubric: Rubric, store: Store | None) -> None:
    if not conversations:
        return
    try:
        if store is not None:
            conversations = [c for c in conversations if not _stored(store, c, rubric, judge)]
        if conversations:
            judge.prepare(conversations)
    except Exception:  # preparing is an optimisation: each conversation is still judged (and fails) on its own
        log.exception("judge %s could not prepare a batch", judge.id)


def _stored(store: Store, conversation: Conversation, rubric: Rubric, judge: Judge) -> bool:
    cached = store.find_score_card(conversation, rubric, judge.id)
    return cached is not None and all(j.status == "scored" for j in cached.judgements)


def _score_record(record: Conversation | BadRecord, rubric: Rubric, judge: Judge, store: Store | None,
                  policy: RoutingPolicy | None, include_excluded: bool, spam: SpamScorer | None) -> BatchItem:
    if isinstance(record, BadRecord):
        return BatchItem(record.location, record.conversation_id, error=record.reason)
    try:
        card, cached = score_conversation(record, rubric, judge, store=store, policy=policy,
                                          include_excluded=include_excluded, spam=spam)
        return BatchItem(record.id, record.id, card=card, cached=cached)
    except Exception as exc:  # storage trouble etc.: report it, go on with the next one
        log.exception("could not score %s", record.id)
        return BatchItem(record.id, record.id, error=f"{type(exc).__name__}: {exc}")
