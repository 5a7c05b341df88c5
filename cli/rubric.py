"""``rubricate rubric check|diff|test|compare``: is a wording measurable, and what changed between two versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli._common import console, settings_for
from cli.rubric_lab import compare_command, test_command

__all__ = ["register"]

app = typer.Typer(help="The rubric authors' lab.", no_args_is_help=True)
_STYLE = {"measurable": "green", "ambiguous": "yellow", "not_measurable": "red"}


@app.command()
def check(rubric: Annotated[Path, typer.Argument(help="Rubric YAML.")],
          json_out: Annotated[Path | None, typer.Option("--json", help="Write the findings as JSON here.")] = None,
          ) -> None:
    """Static check, offline: trait words, double questions, no actor, unscoped always/never, missing N/A,
    mismatched scales, undescribed levels, and `check:` blocks (unknown kinds, empty lists, regexes that do not
    compile or can backtrack catastrophically, declared languages without phrases). Exit code 1 when a criterion
    is not measurable or a check block is invalid."""
    from eval.lab import check_rubric
    from eval.lab.rule_checks import check_blocks
    from scorer.rubric import load_rubric

    try:
        broken = check_blocks(rubric.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        broken = {}  # the loader below reports unreadable files
    if broken:
        for cid, problem in broken.items():
            console.print(Text(f"{rubric}: criterion {cid!r}: {problem}", style="red"))
        console.print(f"{len(broken)} criterion check block(s) invalid")
        raise typer.Exit(1)
    results = check_rubric(load_rubric(rubric))
    if json_out:
        json_out.write_text(json.dumps([r.model_dump(exclude={"findings"}) for r in results], indent=2,
                                       ensure_ascii=False))
    table = Table(title=f"rubric check · {rubric}", show_lines=True)
    for column in ("criterion", "verdict", "why", "suggestion"):
        table.add_column(column)
    for r in results:
        table.add_row(Text(r.criterion_id), Text(r.verdict, style=_STYLE[r.verdict]), Text("\n".join(r.reasons)),
                      Text(r.suggestion or ""))
    console.print(table)
    counts = {v: sum(r.verdict == v for r in results) for v in _STYLE}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items()))
    if counts["not_measurable"]:
        raise typer.Exit(1)


@app.command()
def diff(old: Annotated[Path, typer.Argument(help="The older rubric YAML.")],
         new: Annotated[Path, typer.Argument(help="The newer rubric YAML.")]) -> None:
    """Changed, added and removed criteria, and what must be re-validated before auto-accepting again."""
    from eval.lab import diff_rubrics
    from scorer.rubric import load_rubric

    result = diff_rubrics(load_rubric(old), load_rubric(new), models_dir=settings_for().models_dir)
    console.print(f"version {result.old_version} → {result.new_version}")
    for cid in result.added:
        console.print(f"[green]+ {cid}[/] (new)")
    for cid in result.removed:
        console.print(f"[red]- {cid}[/] (removed)")
    for cid, fields in result.changed.items():
        console.print(f"[yellow]~ {cid}[/]: {', '.join(fields)} changed")
    console.print(f"{len(result.unchanged)} unchanged")
    if result.revalidate:
        console.print("re-validate (refit calibration with `rubricate calibrate`) before auto-accepting: "
                      + ", ".join(result.revalidate))
    for folder in result.stale_models:
        console.print(f"learned model {folder} was trained for the old version: retrain with `rubricate train`")


app.command("test")(test_command)
app.command("compare")(compare_command)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="rubric")
