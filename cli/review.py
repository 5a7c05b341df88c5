"""``rubricate review push|pull|status``: send uncertain judgements to reviewers and store their decisions."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

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
def push(rubric: RubricOption, db: DbOption = None) -> None:
    """Queue what needs a human (low confidence, disagreement, no evidence, auto-fail, audit) and push it."""
    from labeling.sync import push as push_tasks
    from scorer.rubric import load_rubric

    settings = settings_for(db)
    the_rubric = load_rubric(rubric)
    store = open_store(settings)
    with console.status("pushing to Label Studio …"):
        result = push_tasks(store, connection_for(settings), the_rubric)
    console.print(f"{result.newly_queued} newly routed; pushed {result.judgements} judgement(s) in {result.tasks} "
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
    console.print(f"stored {result.stored} new decision(s), {result.unchanged} unchanged, {result.deleted} deleted, "
                  f"{len(result.rejected)} rejected")
    for criterion, count in sorted(result.per_criterion.items()):
        console.print(f"  {criterion}: {count}")
    for dispute in result.disputes:
        console.print(f"  dispute #{dispute.id} {escape(dispute.conversation_id)} / {escape(dispute.criterion_id)}: "
                      f"[bold]{dispute.status}[/] ({escape(str(dispute.disputed_answer))} → "
                      f"{escape(str(dispute.decided_answer))}), score {dispute.score_before} → {dispute.score_after}")
    for rejected in result.rejected:
        console.print(f"  [yellow]rejected[/] {rejected.criterion_id or '?'}: {rejected.reason}")


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
