"""``rubricate score --batch-cancel JOB_ID``: stop a provider-batch job. What the provider has finished is collected
first (it is paid for), then every batch still at work is cancelled at the provider and the job is recorded
``cancelled``: never resumed nor found again by the same ``--batch`` command, which then starts a new job."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from cli._batch import collect, open_run, print_states
from cli._common import console, open_store
from scorer.batch import load_job
from scorer.batch.jobs import save_job
from scorer.settings import Settings

__all__ = ["cancel"]


def cancel(job_id: int, *, settings: Settings, out: Path | None) -> None:
    """Collect the job's finished batches, cancel the others at the provider, record the job cancelled. Run again
    on a cancelled job, it collects what batches that were still cancelling finished. A provider that cannot be
    reached stops it before anything changes (a :class:`JudgeError`)."""
    store = open_store(settings)
    try:
        job = load_job(store, job_id)
        if job.status == "done":
            console.print(f"provider batch job {job.id} is done: every conversation is stored, nothing to cancel")
            return
        again = job.status == "cancelled"
        run, policy = open_run(store, job, settings)
        states = run.poll()  # an unreachable provider stops here: the job is unchanged
        print_states(states)
        finished = [s for s in states if s.terminal]
        if finished:
            console.print(f"collecting {len(finished)} finished batch(es) first (their replies are paid for)")
        _, wrote = collect(run, finished, settings=settings, policy=policy, out=out, answered_only=True)
        stopped = run.cancel(states)
        for state in stopped:
            console.print(f"batch {escape(state.id)}: cancel requested, now [bold]{escape(state.status)}[/]")
        done = [s for s in stopped if s.terminal]
        if done:
            console.print(f"collecting what {len(done)} stopped batch(es) had finished")
            collect(run, done, settings=settings, policy=policy, out=out, answered_only=True, append=wrote)
        job.status = "cancelled"
        save_job(store, job)
    finally:
        store.close()
    if again and not states:
        console.print(f"provider batch job {job.id} was cancelled already; nothing is left at the provider")
        return
    console.print(f"provider batch job [bold]{job.id}[/] is [bold]cancelled[/]: {len(stopped)} batch(es) stopped at "
                  f"the provider, {len(finished) + len(done)} collected. Conversations without a stored result are "
                  "not scored: to score them start a new job with the same `rubricate score … --batch` command "
                  "(stored ones are not sent again)")
    still = [b.id for b in job.open_batches]
    if still:
        console.print(f"{len(still)} batch(es) still cancelling at the provider ({escape(', '.join(still))}): what "
                      "they finished before stopping is billed; collect it later with "
                      f"rubricate score --batch-cancel {job.id}")
