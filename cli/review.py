"""``rubricate review push|pull|status``: send uncertain judgements to reviewers and store their decisions."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cli._common import DbOption, RubricOption, console, open_store, settings_for
from scorer.settings import Settings

__all__ = ["connection_for", "register"]

app = typer.Typer(help="The human review loop in Label Studio.", no_args_is_help=True)


def connection_for(settings: Settings):  # type: ignore[no-untyped-def]
    """Label Studio from RUBRICATE_LABEL_STUDIO_URL/TOKEN, else the server `labeling up` started."""
    from labeling.server import LabelStudioError, status
    from labeling.sync import Connection

    if settings.label_studio_url and settings.label_studio_token:
        return Connection(settings.label_studio_url, settings.label_studio_token)
    running = status(settings.data_dir / "label-studio")
    if running is None:
        raise LabelStudioError("Label Studio is not running: start it with `rubricate labeling up` (or set "
                               "RUBRICATE_LABEL_STUDIO_URL and RUBRICATE_LABEL_STUDIO_TOKEN). Nothing was lost.")
    return Connection(running.url, running.token)


@app.command()
def push(rubric: RubricOption, db: DbOption = None,
         learn_share: Annotated[float, typer.Option(
             "--learn-share", min=0.0, max=0.9,
             help="Share of the batch to fill with the items the judge is least sure of or where judges disagree "
                  "(reason 'learn'): the reviews that teach the learned judge fastest. The random audit sample is "
                  "kept apart for unbiased agreement.")] = 0.2) -> None:
    """Queue what needs a human (low confidence, disagreement, no evidence, auto-fail, audit), fill part of the
    batch with what teaches the judge most (learn), and push it."""
    from labeling.sync import push as push_tasks
    from scorer.rubric import load_rubric

    settings = settings_for(db)
    the_rubric = load_rubric(rubric)
    store = open_store(settings)
    with console.status("pushing to Label Studio …"):
        result = push_tasks(store, connection_for(settings), the_rubric, learn_share=learn_share)
    console.print(f"{result.newly_queued} newly routed, {result.learn_queued} queued to learn from; pushed "
                  f"{result.judgements} judgement(s) in {result.tasks} "
                  f"task(s) to project {result.project_id}")


@app.command()
def pull(rubric: RubricOption, db: DbOption = None) -> None:
    """Store reviewers' confirmations and corrections (idempotent; safe to re-run after a crash)."""
    from labeling.sync import pull as pull_reviews
    from scorer.rubric import load_rubric

    settings = settings_for(db)
    the_rubric = load_rubric(rubric)
    store = open_store(settings)
    with console.status("pulling from Label Studio …"):
        result = pull_reviews(store, connection_for(settings), the_rubric)
    from scorer.store.alerts import fire_dispute_alerts

    fire_dispute_alerts(store, settings, the_rubric, result.disputes)
    console.print(f"stored {result.stored} new decision(s), {result.unchanged} unchanged, {result.deleted} deleted, "
                  f"{len(result.rejected)} rejected")
    for criterion, count in sorted(result.per_criterion.items()):
        console.print(f"  {criterion}: {count}")
    if result.labels or result.labels_deleted:
        counts = ", ".join(f"{n} {label}" for label, n in sorted(result.labels.items()))
        console.print(f"conversation labels: {counts or 'none new'}; {result.labels_deleted} deleted "
                      "(train the spam filter with `rubricate train --spam`)")
    for dispute in result.disputes:
        console.print(f"  dispute #{dispute.id} {escape(dispute.conversation_id)} / {escape(dispute.criterion_id)}: "
                      f"[bold]{dispute.status}[/] ({escape(str(dispute.disputed_answer))} → "
                      f"{escape(str(dispute.decided_answer))}), score {dispute.score_before} → {dispute.score_after}")
    for rejected in result.rejected:
        console.print(f"  [yellow]rejected[/] {escape(str(rejected.criterion_id or '?'))}: {escape(rejected.reason)}")


@app.command()
def sample(
    rubric: RubricOption,
    per_agent: Annotated[int, typer.Option("--per-agent", min=0, help="Conversations per agent per period.")] = 5,
    period: Annotated[str, typer.Option(help="Sampling period: day, week (ISO), month or all.")] = "week",
    balance: Annotated[str, typer.Option(help="Fields to balance across, comma-separated: channel, language, team, "
                                              "tags or a metadata key such as outcome.")] = "",
    csat_extremes: Annotated[int, typer.Option("--csat-extremes", min=0,
                                               help="Also take the N lowest and N highest CSAT per group.")] = 0,
    seed: Annotated[int, typer.Option(help="Same seed and data → same sample.")] = 0,
    reviewers: Annotated[str, typer.Option(help="Split the sample across these reviewers (comma-separated); each "
                                                "gets a Label Studio project of their own.")] = "",
    judge: Annotated[str | None, typer.Option("--judge", "-j", help="Only cards of this judge.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the picks, queue nothing.")] = False,
    push_now: Annotated[bool, typer.Option("--push", help="Push to Label Studio right after queueing.")] = False,
    db: DbOption = None,
) -> None:
    """Pick conversations for human review: N per agent per period, balanced, plus the CSAT extremes.

    Every judgement of a picked conversation is queued with its reason (sample:per_agent, sample:csat_low,
    sample:csat_high); conversations already reviewed or queued are skipped. Then `rubricate review push`.
    """
    from scorer.rubric import load_rubric
    from scorer.sampling import PERIODS, assign_reviewers
    from scorer.sampling import sample as pick
    from scorer.store.sampling import candidates, queue_picks

    if period not in PERIODS:
        raise typer.BadParameter(f"{period!r}: use one of {', '.join(PERIODS)}", param_hint="--period")
    fields = [f.strip() for f in balance.split(",") if f.strip()]
    names = [r.strip() for r in reviewers.split(",") if r.strip()]
    settings = settings_for(db)
    the_rubric = load_rubric(rubric)
    store = open_store(settings)
    pool = candidates(store, the_rubric, balance=fields, judge=judge)
    picks = pick(pool, per_agent=per_agent, period=period, balance=fields,  # type: ignore[arg-type]
                 csat_extremes=csat_extremes, seed=seed)
    queued = queue_picks(store, the_rubric, [] if dry_run else picks, reviewers=names, judge=judge)
    assigned = ({p.conversation_id: r for p, r in zip(picks, assign_reviewers(picks, names), strict=True)} if dry_run
                else {q.pick.conversation_id: q.reviewer for q in queued})
    table = Table(title=f"review sample · {len(picks)} of {len(pool)} unreviewed conversation(s) · seed {seed}")
    for column in ("agent", period, "conversation", "reason", "reviewer"):
        table.add_column(column)
    for p in picks:
        table.add_row(Text(p.agent_id), p.period, Text(p.conversation_id), p.reason,
                      Text(assigned.get(p.conversation_id) or "—"))
    console.print(table)
    if dry_run:
        console.print("dry run: nothing was queued; the reviewer column is who queueing would assign"
                      + ("" if names else " (none: the shared project; --reviewers splits the sample)"))
        return
    console.print(f"queued {sum(q.judgements for q in queued)} judgement(s) of {len(queued)} conversation(s)"
                  + ("" if push_now else " · send them with `rubricate review push`"))
    if push_now:
        from labeling.sync import push as push_tasks

        with console.status("pushing to Label Studio …"):
            result = push_tasks(store, connection_for(settings), the_rubric)
        console.print(f"pushed {result.judgements} judgement(s) in {result.tasks} task(s) to "
                      f"{len(result.projects)} project(s)")


@app.command()
def status(rubric: RubricOption, db: DbOption = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Per criterion: queued, pushed and reviewed items, and how often reviewers agreed with the AI."""
    from scorer.rubric import load_rubric
    from scorer.store.reviews import agreement, review_counts

    the_rubric = load_rubric(rubric)
    store = open_store(settings_for(db))
    counts, agreed = review_counts(store, the_rubric.version), agreement(store, the_rubric.version)
    rows = {c.id: {**counts.get(c.id, {"queued": 0, "pushed": 0, "reviewed": 0}), **agreed.get(c.id, {})}
            for c in the_rubric.criteria}
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"review status · {the_rubric.id}@{the_rubric.version}")
    for column in ("criterion", "queued", "pushed", "reviewed", "agreement", "audit agreement"):
        table.add_column(column)
    for cid, row in rows.items():
        pct = lambda v: "—" if v is None else f"{v:.0%}"  # noqa: E731
        table.add_row(cid, str(row.get("queued", 0)), str(row.get("pushed", 0)), str(row.get("reviewed", 0)),
                      f"{pct(row.get('agreement'))} (n={row.get('reviewed', 0) or 0})",
                      f"{pct(row.get('audit_agreement'))} (n={row.get('audit_reviewed', 0)})")
    console.print(table)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="review")
