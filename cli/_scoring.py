"""The scoring loop every ``score`` path shares (online, and collecting a provider batch): progress, --out,
alerts, the closing summary."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from cli._common import console, err_console
from cli._show import usage_line
from scorer.eligibility import SpamScorer
from scorer.io import BadRecord, printable
from scorer.judges import Judge
from scorer.output import card_to_record
from scorer.pipeline import BatchSummary, score_batch
from scorer.routing import RoutingPolicy
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.alerts import fire_card_alerts
from scorer.types import Conversation, Rubric
from scorer.usage import Budget

__all__ = ["print_run_summary", "run_scoring"]


def run_scoring(records: Sequence[Conversation | BadRecord], rubric: Rubric, judge: Judge, *, settings: Settings,
                store: Store | None, policy: RoutingPolicy | None, out: Path | None, include_excluded: bool,
                budget: Budget | None = None, spam: SpamScorer | None = None,
                append: bool = False) -> tuple[BatchSummary, Counter[str]]:
    """Score ``records`` through the pipeline with a progress bar; cards go to the store and to ``out`` (added to
    its end with ``append``). Returns the summary and the PII kinds replaced before hosted calls."""
    by_id = {r.id: r for r in records if isinstance(r, Conversation)}
    alerts = 0
    summary = BatchSummary()
    redacted: Counter[str] = Counter()
    sink = out.open("a" if append else "w", encoding="utf-8") if out else None
    progress = Progress(TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        TextColumn("{task.fields[current]}", markup=False), console=err_console, transient=False)
    try:
        with progress:
            task = progress.add_task("score", total=len(records), current="")
            for item in score_batch(records, rubric, judge, store=store, policy=policy,
                                     include_excluded=include_excluded, budget=budget, spam=spam):
                summary.add(item)
                if store is not None and item.card is not None and not item.cached:
                    alerts += fire_card_alerts(store, settings, rubric, by_id[item.card.conversation_id], item.card)
                if item.card is not None and sink is not None:
                    sink.write(json.dumps(card_to_record(item.card, rubric), ensure_ascii=False) + "\n")
                    sink.flush()
                if item.card is not None:
                    redacted.update(next((j.pii_redacted for j in item.card.judgements if j.pii_redacted), {}))
                if item.error:
                    progress.console.print(Text.assemble((f"✗ {printable(item.location)}", "red"), ": ",
                                                         printable(item.error)))
                progress.update(task, advance=1, current=item.conversation_id or "")
    finally:
        if sink is not None:
            sink.close()
    if alerts:
        console.print(f"{alerts} alert(s) recorded; the worker sends them (or `rubricate alerts deliver`)")
    if budget is not None and budget.stopped:
        summary.stopped = budget.stopped
        summary.not_started = len(records) - summary.scored - summary.cached - len(summary.failed_records)
    return summary, redacted


def print_run_summary(summary: BatchSummary, out: Path | None, db_url: str | None, version: str,
                  redacted: Counter[str] | None = None) -> None:
    """The closing lines of a scoring run."""
    console.print(
        f"[bold]{summary.scored}[/] scored, {summary.cached} already stored (no model call), "
        f"[red]{len(summary.failed_records)}[/] bad record(s), {summary.unscored_judgements} unscored judgement(s), "
        f"{summary.needs_review} judgement(s) flagged for review · rubric version {version}"
    )
    if summary.excluded:
        reasons = ", ".join(f"{n} {escape(reason)}" for reason, n in sorted(summary.excluded.items()))
        console.print(f"[bold]{sum(summary.excluded.values())}[/] excluded by eligibility rules ({reasons}); "
                      "stored with their reason · score them anyway with --include-excluded")
    if summary.usage.spent:
        console.print(f"model usage: {usage_line(summary.usage)}")
    if summary.stopped:
        console.print(f"[bold red]stopped:[/] {escape(summary.stopped)}; {summary.not_started} conversation(s) "
                      "not started (run the same command again with a larger --max-cost to go on: stored results "
                      "are not scored again)")
    if out:
        console.print(Text(f"results: {out}   (view with: rubricate show {out})"))
    if db_url:
        console.print(Text(f"database: {db_url}"))
    if redacted:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(redacted.items()))
        console.print(f"PII replaced before the hosted call: {kinds}")
