"""``rubricate score --batch`` and ``--batch-resume``: submit through the provider's batch API, report its
progress, and collect finished batches through the shared scoring loop (the logic lives in ``scorer.batch``;
``--batch-cancel`` is in :mod:`cli._batch_cancel`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer
from rich.markup import escape
from rich.text import Text

from cli._common import console, err_console, open_store
from cli._scoring import print_run_summary, run_scoring
from scorer._errors import StorageError
from scorer.batch import (
    BatchClient,
    BatchJob,
    BatchRun,
    BatchState,
    batch_provider,
    create_job,
    find_open_job,
    load_job,
)
from scorer.eligibility import SpamScorer
from scorer.io import BadRecord, printable
from scorer.judges import Judge, get_judge
from scorer.judges.hosted import HostedJudge
from scorer.policy import build_policy
from scorer.routing import RoutingPolicy
from scorer.settings import Settings
from scorer.store import Store
from scorer.types import Conversation, Rubric

__all__ = ["collect", "open_run", "print_states", "report_given_up", "resume", "submit_or_resume"]

_SHOWN = 5  # conversations listed by name in a report; the rest are counted


def _hint(job_id: int) -> str:
    return f"rubricate score --batch-resume {job_id}"


def _run(store: Store, job: BatchJob, rubric: Rubric, judge: Judge, spam: SpamScorer | None) -> BatchRun:
    provider = batch_provider(judge)
    assert isinstance(judge, HostedJudge)  # batch_provider says so
    return BatchRun(store, job, rubric, judge, BatchClient(provider, judge.options), spam)


def submit_or_resume(records: Sequence[Conversation | BadRecord], rubric: Rubric, judge: Judge, *,
                     settings: Settings, store: Store | None, policy: RoutingPolicy | None, out: Path | None,
                     include_excluded: bool, spam: SpamScorer | None, attempts: int | None = None) -> None:
    """Submit the conversations not stored yet as a new job, or go on with the open job for the same ones."""
    if store is None:
        raise StorageError("--batch needs the database (its job and results live there)")
    try:
        provider = batch_provider(judge)
        assert isinstance(judge, HostedJudge)  # batch_provider says so
        for bad in (r for r in records if isinstance(r, BadRecord)):
            err_console.print(Text.assemble((f"✗ {printable(bad.location)}", "red"), ": ", printable(bad.reason)))
        conversations = [r for r in records if isinstance(r, Conversation)]
        job = find_open_job(store, rubric, judge.id, [c.id for c in conversations])
        if job is not None:
            console.print(f"provider batch job [bold]{job.id}[/] for these conversations is still open: collecting "
                          "it instead of submitting again")
            job.options = judge.options.model_dump(mode="json", exclude={"api_key"})  # e.g. a corrected --api-base
            job.max_attempts = attempts or job.max_attempts or settings.batch_attempts
            _advance(_run(store, job, rubric, judge, spam), settings=settings, policy=policy, out=out)
            return
        job = create_job(store, rubric=rubric, judge=judge.id, provider=provider, options=judge.options,
                         include_excluded=include_excluded, conversation_ids=[c.id for c in conversations],
                         max_attempts=attempts or settings.batch_attempts)
        console.print(f"provider batch job [bold]{job.id}[/] recorded ({provider}, {escape(judge.id)}); if "
                      f"submitting stops half-way, run the same command again or {_hint(job.id)}")
        run = _run(store, job, rubric, judge, spam)
        submission = run.submit(conversations)
        _score_now(run, submission.no_call, settings=settings, policy=policy, out=out)
        _report_submitted(run, submission.requests, [b.id for b in submission.batches])
    finally:
        store.close()
    if any(isinstance(r, BadRecord) for r in records):
        raise typer.Exit(1)


def open_run(store: Store, job: BatchJob, settings: Settings, attempts: int | None = None) -> \
        tuple[BatchRun, RoutingPolicy]:
    """The batch work of a stored job (its rubric version, judge and options), with the routing policy; the
    attempt limit is ``attempts`` when given, else the job's own (else the ``batch_attempts`` setting)."""
    rubric = store.get_rubric(job.rubric_id, job.rubric_version)
    if rubric is None:
        raise StorageError(f"job {job.id}: rubric {job.rubric_id} version {job.rubric_version} is not stored")
    judge = get_judge(job.judge, job.judge_options())
    from scorer.spam import load_spam_filter

    spam = None if job.include_excluded else load_spam_filter(settings)
    job.max_attempts = attempts or job.max_attempts or settings.batch_attempts
    return _run(store, job, rubric, judge, spam), build_policy(settings, rubric, judge.id, store).policy


def resume(job_id: int, *, settings: Settings, out: Path | None, attempts: int | None = None) -> None:
    """Poll the job's batches; collect the finished ones; submit again what stayed unscored."""
    store = open_store(settings)
    try:
        run, policy = open_run(store, load_job(store, job_id), settings, attempts)
        _advance(run, settings=settings, policy=policy, out=out)
    finally:
        store.close()


def print_states(states: Sequence[BatchState]) -> None:
    """One line per batch: the provider's status and request counts."""
    for state in states:
        counts = ", ".join(f"{k} {v}" for k, v in state.request_counts.items())
        console.print(f"batch {escape(state.id)}: [bold]{escape(state.status)}[/]" + (f" ({counts})" if counts else ""))


def collect(run: BatchRun, states: Sequence[BatchState], *, settings: Settings, policy: RoutingPolicy | None,
            out: Path | None, answered_only: bool = False, append: bool = False) -> tuple[bool, bool]:
    """Store the finished batches among ``states`` through the pipeline, then mark them collected; (whether
    everything collected was scored, whether anything was)."""
    replay, ready = run.replay_judge(states, answered_only=answered_only)
    ok = True
    if ready:
        summary, redacted = run_scoring(ready, run.rubric, replay, settings=settings, store=run.store, policy=policy,
                                        out=out, include_excluded=run.job.include_excluded, spam=run.spam,
                                        append=append)
        print_run_summary(summary, out, settings.resolved_database_url(), run.rubric.version, redacted)
        ok = summary.ok
    run.collected(states)
    return ok, bool(ready)


def report_given_up(job: BatchJob, ids: Sequence[str]) -> None:
    """Which conversations were given up and why (the first few by name, then a count)."""
    if not ids:
        return
    console.print(f"[bold red]{len(ids)} conversation(s) given up[/] after {job.max_attempts} attempt(s): stored "
                  "unscored with the last reason (routing sends unscored answers to review), not submitted again")
    for cid in ids[:_SHOWN]:
        console.print(Text(f"  {cid}: {job.given_up.get(cid, 'unscored')}"))
    if len(ids) > _SHOWN:
        console.print(f"  … and {len(ids) - _SHOWN} more")


def _advance(run: BatchRun, *, settings: Settings, policy: RoutingPolicy | None, out: Path | None) -> None:
    job = run.job
    if job.status == "cancelled":
        _report_cancelled(job)
        raise typer.Exit(1)
    if job.status == "done":
        console.print(f"provider batch job {job.id} is done: every conversation is stored (read them with "
                      "`rubricate score` again, which costs no model call)")
        report_given_up(job, list(job.given_up))
        if job.given_up:
            raise typer.Exit(1)
        return
    states = run.poll()
    print_states(states)
    ok, _ = collect(run, states, settings=settings, policy=policy, out=out)
    if any(not s.terminal for s in states):
        console.print(f"not ready, run again later: {_hint(job.id)}")
        return
    submission = run.submit(run.conversations())
    _score_now(run, submission.no_call, settings=settings, policy=policy, out=None)
    report_given_up(job, submission.given_up)
    if submission.batches:
        _report_submitted(run, submission.requests, [b.id for b in submission.batches], again=True)
    else:
        console.print(f"provider batch job {job.id} is done: every conversation is stored"
                      + (f" ({len(job.given_up)} given up, unscored)" if job.given_up else ""))
    if not ok or submission.given_up:
        raise typer.Exit(1)


def _report_cancelled(job: BatchJob) -> None:
    console.print(f"provider batch job {job.id} was [bold]cancelled[/] (rubricate score --batch-cancel): nothing "
                  "more is collected or submitted for it. To score its conversations, start a new job with the "
                  f"same command: rubricate score INPUT --rubric RUBRIC --judge {escape(job.judge)} --batch "
                  "(conversations stored meanwhile are not sent again)")
    if job.open_batches:
        console.print(f"{len(job.open_batches)} of its batch(es) were still cancelling at the provider: collect "
                      f"what they finished with rubricate score --batch-cancel {job.id}")


def _score_now(run: BatchRun, conversations: list[Conversation], *, settings: Settings,
               policy: RoutingPolicy | None, out: Path | None) -> None:
    """Conversations that need no model call (rules only, excluded) are stored at once."""
    if not conversations:
        return
    judge, _ = run.replay_judge()
    summary, _ = run_scoring(conversations, run.rubric, judge, settings=settings, store=run.store, policy=policy,
                             out=out, include_excluded=run.job.include_excluded, spam=run.spam)
    if summary.excluded:
        reasons = ", ".join(f"{n} {escape(reason)}" for reason, n in sorted(summary.excluded.items()))
        console.print(f"{sum(summary.excluded.values())} excluded by eligibility rules ({reasons}); stored with "
                      "their reason, not sent")
    if summary.scored:
        console.print(f"{summary.scored} conversation(s) answered without the model (rules), stored")


def _report_submitted(run: BatchRun, requests: int, batch_ids: list[str], *, again: bool = False) -> None:
    job = run.job
    stored = len(job.conversation_ids) - requests
    if not batch_ids:
        console.print(f"nothing to submit: all {stored} conversation(s) are stored already; job {job.id} is done")
        return
    if again:
        waiting = [cid for b in job.batches if b.id in batch_ids for cid in b.conversation_ids]
        for conversation in run.conversations(waiting[:_SHOWN]):
            console.print(Text(f"  {conversation.id}: {run.last_reason(conversation)} (now attempt "
                               f"{job.attempts.get(conversation.id, 1)} of {job.max_attempts})"))
        if len(waiting) > _SHOWN:
            console.print(f"  … and {len(waiting) - _SHOWN} more")
        console.print(f"{requests} conversation(s) still unscored were submitted again")
    console.print(f"submitted {requests} request(s) in {len(batch_ids)} batch(es) ({', '.join(batch_ids)}); "
                  f"{stored} conversation(s) already stored or needing no model call")
    console.print(f"the provider has up to 24 h; collect with: {_hint(job.id)} (or run the same command again)")
