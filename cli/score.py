"""``rubricate score``, ``show``, ``judges`` and ``db``: score conversations and read the results."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.text import Text

from cli._common import DbOption, JudgeOption, console, err_console, open_store, settings_for
from cli._scoring import print_run_summary, run_scoring
from cli._show import print_records, print_summary
from cli.importing import (
    AgentSpeakerOption,
    AgentValues,
    BotValues,
    ColumnsOption,
    CustomerValues,
    FormatOption,
    read_for_scoring,
)
from scorer._errors import ConversationError
from scorer.io import drop_duplicates, read_conversations
from scorer.judges import JudgeOptions, available_judges, get_judge
from scorer.policy import build_policy
from scorer.rubric import load_rubric
from scorer.settings import Settings
from scorer.usage import Budget

__all__ = ["register"]

_DEFAULT = JudgeOptions.model_fields  # flags left unset keep the judge options' own defaults


class ResponseFormatChoice(StrEnum):
    """Values of --response-format (see scorer/judges/_hosted_request.py)."""

    json_schema = "json_schema"
    json_object_schema = "json_object_schema"
    json_object = "json_object"
    none = "none"


def score(
    input: Annotated[Path | None, typer.Argument(
        help="Conversations: JSONL (one per line), a JSON array, or --format.")] = None,
    rubric: Annotated[Path | None, typer.Option("--rubric", "-r", help="Rubric YAML file.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write one JSON result per line here.")] = None,
    judge: JudgeOption = None,
    api_base: Annotated[str | None, typer.Option(help="Base URL of an OpenAI-compatible server.")] = None,
    timeout: Annotated[float | None, typer.Option(
        help=f"Seconds per hosted model call (default {_DEFAULT['timeout'].default:g}).")] = None,
    samples: Annotated[int | None, typer.Option(
        help=f"Samples per call when the model gives no logprobs (default {_DEFAULT['samples'].default}).")] = None,
    no_evidence: Annotated[bool, typer.Option("--no-evidence", help="Do not ask for evidence quotes.")] = False,
    short_answers: Annotated[bool, typer.Option(
        "--short-answers", help="Hosted: ask for the answers only (no reasoning, no quotes); confidence from the "
        "answer tokens' logprobs. For small served models.")] = False,
    no_logprobs: Annotated[bool, typer.Option(
        "--no-logprobs", help="Hosted: do not ask for token logprobs (they make llama-cpp-python's server several "
        "times slower per generated token); confidence is then the model's own or none.")] = False,
    response_format: Annotated[ResponseFormatChoice | None, typer.Option(
        help="Hosted: grammar-constrained JSON dialect (json_object_schema for llama-cpp-python's server; default "
        f"{_DEFAULT['response_format'].default}).")] = None,
    max_completion_tokens: Annotated[int | None, typer.Option(
        help="Hosted: cap on generated tokens per call (default: sized from the number of questions).")] = None,
    price_as: Annotated[str | None, typer.Option(
        help="Hosted: price the calls as this litellm cost-map model, e.g. gpt-4o-mini for a self-hosted twin.")
    ] = None,
    max_cost: Annotated[float | None, typer.Option(
        min=0, help="Stop starting new conversations once this many US dollars are spent (litellm's cost map).")
    ] = None,
    db: DbOption = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not read or write the database.")] = False,
    no_redact_pii: Annotated[bool, typer.Option(
        "--no-redact-pii", help="Send transcripts to a hosted (litellm/…) judge without replacing emails, phone "
        "numbers, cards, IBANs and national ids by placeholders (env RUBRICATE_REDACT_PII=false).")] = False,
    input_format: FormatOption = "jsonl",
    columns: ColumnsOption = None,
    agent_values: AgentValues = None,
    customer_values: CustomerValues = None,
    bot_values: BotValues = None,
    agent_speaker: AgentSpeakerOption = None,
    include_excluded: Annotated[bool, typer.Option(
        "--include-excluded", help="Score conversations the rubric's eligibility rules exclude (too_short, "
        "bot_only, auto_reply, tag:spam, ...) instead of recording them as excluded.")] = False,
    batch: Annotated[bool, typer.Option(
        "--batch", help="Hosted (OpenAI-compatible litellm judge): submit through the provider's batch API (half "
        "the price, results within 24 h) and exit; collect with --batch-resume or by running the same command "
        "again.")] = False,
    batch_resume: Annotated[int | None, typer.Option(
        "--batch-resume", metavar="JOB_ID", help="Collect a --batch job (INPUT and --rubric are not needed): "
        "prints its status while the provider works; stores the results when it is done and submits again what "
        "stayed unscored.")] = None,
    batch_cancel: Annotated[int | None, typer.Option(
        "--batch-cancel", metavar="JOB_ID", help="Stop a --batch job: collect what the provider has finished "
        "(it is paid for), cancel its open batches at the provider, record the job cancelled (never resumed; the "
        "same --batch command then starts a new job).")] = None,
    batch_attempts: Annotated[int | None, typer.Option(
        "--batch-attempts", metavar="N", min=1, help="With --batch or --batch-resume: submit a conversation that "
        "stays unscored (a refused request, a reply that does not parse) at most N times, then give it up: stored "
        "unscored with the last reason, for review (default "
        f"{Settings.model_fields['batch_attempts'].default}, env RUBRICATE_BATCH_ATTEMPTS).")] = None,
) -> None:
    """Score every conversation in INPUT against the rubric; results go to the database and to --out.

    A conversation scored before with the same transcript, rubric version and judge is read back, not re-scored.
    Bad records are reported and skipped; the exit code is 1 when anything failed or stayed unscored.
    Conversations excluded by the rubric's eligibility rules are stored, written to --out and counted with their
    reason (no model call); --include-excluded scores them anyway.
    """
    settings = settings_for(db)
    if batch_resume is not None and batch_cancel is not None:
        raise ConversationError("--batch-resume and --batch-cancel: give one of them")
    if batch_cancel is not None and batch_attempts is not None:
        raise ConversationError("--batch-attempts limits the submissions of --batch and --batch-resume; "
                                "--batch-cancel submits nothing")
    if batch_cancel is not None:
        from cli._batch_cancel import cancel

        cancel(batch_cancel, settings=settings, out=out)
        return
    if batch_resume is not None:
        from cli._batch import resume

        resume(batch_resume, settings=settings, out=out, attempts=batch_attempts)
        return
    if input is None or rubric is None:
        raise ConversationError("name the conversations and the rubric: rubricate score INPUT --rubric RUBRIC "
                                "(or --batch-resume JOB_ID to collect a batch job)")
    if batch_attempts is not None and not batch:
        raise ConversationError("--batch-attempts limits the submissions of --batch: give --batch too")
    if batch and (no_store or max_cost is not None):
        raise ConversationError("--batch keeps its job and results in the database and prices at the provider: "
                                "it does not take --no-store or --max-cost")
    if out is not None and not out.parent.is_dir():
        raise ConversationError(f"--out {out}: the folder {out.parent} does not exist; create it (mkdir -p "
                                f"{out.parent}) or choose another path")
    if out is not None and out.is_dir():
        raise ConversationError(f"--out {out}: is a directory; give a file name such as {out / 'scores.jsonl'}")
    the_rubric = load_rubric(rubric, settings=settings)
    redact = settings.redact_pii and not no_redact_pii
    options = settings.judge_options(the_rubric.version, api_base=api_base, timeout=timeout, samples=samples,
                                     evidence=not no_evidence, redact_pii=redact,
                                     short_answers=short_answers or None, logprobs=False if no_logprobs else None,
                                     response_format=response_format.value if response_format else None,
                                     max_completion_tokens=max_completion_tokens, price_as=price_as)
    budget = Budget(max_cost) if max_cost is not None else None
    judge_spec = judge or settings.judge
    if "litellm" in judge_spec:
        console.print("PII redaction [bold]on[/]: emails, phone numbers, cards, IBANs and national ids are replaced "
                      "by placeholders before the hosted call (--no-redact-pii to send them)" if redact else
                      "[bold yellow]PII redaction off[/]: transcripts go to the hosted model verbatim")
    with console.status(f"loading judge {escape(judge_spec)} …"):
        the_judge = get_judge(judge_spec, options)
        from scorer.spam import load_spam_filter

        spam = None if include_excluded else load_spam_filter(settings)
    if spam is not None:
        console.print(f"learned spam filter on (P(spam) ≥ {the_rubric.eligibility.learned_spam_threshold} → "
                      f"learned:spam; trained on {spam.model.trained_on})")
    store = None if no_store else open_store(settings)
    if store is not None:
        store.save_rubric(the_rubric)
    plan = build_policy(settings, the_rubric, the_judge.id, store)
    for cid in plan.unvalidated:
        console.print(f"[yellow]{escape(cid)}[/] changed since it was calibrated: every answer goes to review until "
                      "`rubricate calibrate` re-validates it")
    policy = plan.policy
    raw = (read_conversations(input, max_depth=settings.max_json_depth, max_id_length=settings.max_id_length)
           if input_format == "jsonl" else read_for_scoring(
               input_format, input, columns=columns, agent_values=agent_values, customer_values=customer_values,
               bot_values=bot_values, agent_speaker=agent_speaker))
    records, duplicates = drop_duplicates(raw)
    for warning in duplicates:
        err_console.print(Text.assemble(("warning: ", "yellow"), f"{input}: {warning}"))
    if batch:
        from cli._batch import submit_or_resume

        submit_or_resume(records, the_rubric, the_judge, settings=settings, store=store, policy=policy, out=out,
                         include_excluded=include_excluded, spam=spam, attempts=batch_attempts)
        return
    try:
        summary, redacted = run_scoring(records, the_rubric, the_judge, settings=settings, store=store,
                                        policy=policy, out=out, include_excluded=include_excluded, budget=budget,
                                        spam=spam)
    finally:
        if store is not None:
            store.close()
    print_run_summary(summary, out, settings.resolved_database_url() if store else None, the_rubric.version, redacted)
    if not summary.ok or summary.stopped:
        raise typer.Exit(1)


def show(
    results: Annotated[Path, typer.Argument(help="A JSONL file written by `rubricate score --out`.")],
    conversation: Annotated[str | None, typer.Option("--conversation", "-c", help="Only this conversation.")] = None,
    review_only: Annotated[bool, typer.Option("--review", help="Only judgements flagged for review.")] = False,
    summary: Annotated[bool, typer.Option("--summary", help="One line per conversation.")] = False,
) -> None:
    """Print score results as readable tables: answers, confidence, evidence quotes and review flags."""
    if summary:
        print_summary(results)
        return
    print_records(results, conversation=conversation, review_only=review_only)


def judges() -> None:
    """List the judges that can be named with --judge."""
    for prefix, description in available_judges().items():
        console.print(f"[bold]{prefix}[/]  {description}")


db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create or upgrade the database schema to the newest revision."""
    from scorer.store.engine import current_revision, head_revision, make_engine, upgrade

    url = settings_for(db).resolved_database_url()
    engine = make_engine(url)
    before = current_revision(engine)
    upgrade(engine)
    console.print(f"database at revision {head_revision()} (was {before or 'empty'})")


@db_app.command("current")
def db_current(db: DbOption = None) -> None:
    """Print the database's schema revision."""
    from scorer.store.engine import current_revision, head_revision, make_engine

    engine = make_engine(settings_for(db).resolved_database_url())
    console.print(f"revision {current_revision(engine) or 'none'} (newest: {head_revision()})")


@db_app.command("rebuild-rollups")
def db_rebuild_rollups(db: DbOption = None) -> None:
    """Recompute the dashboard's daily rollups from the stored cards and reviews (repair; they are kept current on
    every write)."""
    from scorer.store import Store
    from scorer.store.rollup import rebuild

    store = Store(settings_for(db).resolved_database_url())
    try:
        with store.session() as s:
            rebuild(s)
    finally:
        store.close()
    console.print("dashboard rollups rebuilt")


def register(app: typer.Typer) -> None:
    app.command()(score)
    app.command()(show)
    app.command()(judges)
    app.add_typer(db_app, name="db")
