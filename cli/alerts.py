"""``rubricate alerts log|deliver|retry``: what alerts were sent where, every attempt, and sending them by hand."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli._common import DbOption, console, open_store, settings_for

__all__ = ["register"]

app = typer.Typer(help="Alert webhooks (RUBRICATE_ALERT_URL / _SECRET / _SCORE_BELOW, or a rubric's alerts:).",
                  no_args_is_help=True)


@app.command()
def log(
    status: Annotated[str | None, typer.Option(help="Only pending, delivered or failed deliveries.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest N deliveries.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
    db: DbOption = None,
) -> None:
    """Every alert delivery with each attempt: when, HTTP status or error, and where it stands now."""
    from scorer.store.alerts import list_deliveries

    deliveries = list_deliveries(open_store(settings_for(db)), status=status, limit=limit)
    if as_json:
        for d in deliveries:
            print(json.dumps({"id": d.id, "event": d.event, "conversation_id": d.conversation_id, "url": d.url,
                              "status": d.status, "attempts": [{"attempt": n, "status_code": code, "error": err,
                                                                "at": at.isoformat()}
                                                               for n, code, err, at in d.history]}))
        return
    table = Table(title=f"alert deliveries (newest {limit}; every attempt with --json)")
    for column in ("id", "event", "conversation", "status", "attempts", "last attempt"):
        table.add_column(column)
    for d in deliveries:
        last = "—"
        if d.history:
            _, code, err, at = d.history[-1]
            last = f"{at:%m-%d %H:%M:%S} " + (f"HTTP {code}" if code is not None else (err or "").split(":")[0])
        style = {"delivered": "green", "failed": "red"}.get(d.status, "yellow")
        table.add_row(str(d.id), d.event, Text(d.conversation_id), Text(d.status, style=style),
                      str(len(d.history)), Text(last))
    console.print(table)
    if not deliveries:
        console.print("no alerts recorded yet (set RUBRICATE_ALERT_URL or a rubric's alerts: url)")


@app.command()
def deliver(
    watch: Annotated[bool, typer.Option("--watch", help="Keep sending until interrupted.")] = False,
    now: Annotated[bool, typer.Option("--now", help="Try every pending alert now, without waiting for its backoff "
                                                    "(e.g. the receiver is back).")] = False,
    db: DbOption = None,
) -> None:
    """Send due alerts now (the worker does this by itself; this is for the command line and cron)."""
    import httpx

    from api.jobs.alerts import deliver_due

    settings = settings_for(db)
    store = open_store(settings)
    with httpx.Client(timeout=settings.alert_timeout_seconds) as client:
        while True:
            counts = deliver_due(store, settings, client, now=now)
            if counts or not watch:
                console.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing due")
            if not watch:
                return
            time.sleep(settings.alert_poll_seconds)


@app.command()
def retry(db: DbOption = None) -> None:
    """Give failed deliveries a new round of attempts (after the receiver was fixed)."""
    from scorer.store.alerts import requeue_failed

    console.print(f"{requeue_failed(open_store(settings_for(db)))} failed delivery(ies) queued again")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="alerts")
