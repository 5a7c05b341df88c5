"""``rubricate rubric test|compare``: the behavioural check of wordings on real conversations, and two wordings side
by side. Both write JSON and an HTML page; both report what they measured even when the judge stops early."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from cli._common import console, err_console, settings_for

__all__ = ["compare_command", "test_command"]

_STYLE = {"measurable": "green", "ambiguous": "yellow", "not_measurable": "red", "inconclusive": "blue"}
DataOption = Annotated[Path, typer.Option("--data", "-d", help="Conversations JSONL (human labels optional).")]
LabJudge = Annotated[str, typer.Option("--judge", "-j", help="Judge that answers the wordings (must read them: "
                                       "local, local:<path>, litellm/<model>; fake for a dry run).")]
Judge2 = Annotated[str | None, typer.Option("--judge2", help="A second judge, for judge–judge agreement.")]
Paraphrases = Annotated[int, typer.Option("--paraphrases", "-p", min=0, max=4,
                                          help="Paraphrases per criterion (templates; 0 skips the stability check).")]
ParaphraseFile = Annotated[Path | None, typer.Option("--paraphrase-file", help="YAML {criterion_id: [paraphrase, "
                                                     "...]} to ask instead of the templates.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="Conversations to test on.")]
Seed = Annotated[int | None, typer.Option("--seed", help="Pick --limit conversations at random with this seed "
                                          "(default: the first ones).")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")]
HtmlOut = Annotated[Path | None, typer.Option("--html", help="Write the HTML page here (default: next to --json, "
                                              "or lab-report.html).")]


def _judges(spec: str, spec2: str | None, version: str) -> tuple[Any, Any]:
    from scorer.judges import get_judge

    options = settings_for().judge_options(version)
    return get_judge(spec, options), (get_judge(spec2, options) if spec2 else None)


def _custom(path: Path | None) -> dict[str, list[str]] | None:
    if path is None:
        return None
    import yaml

    from scorer._errors import RubricError

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise RubricError(f"{path}: expected a mapping of criterion id to a list of paraphrases")
    return {str(k): [str(x) for x in v] for k, v in data.items()}


def _run(sample: Any, wordings: Any, judge: Any, judge2: Any) -> Any:
    from eval.lab.behaviour import run_wordings

    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(f"asking {len(wordings)} wording(s) with {judge.id}", total=len(sample.items))
        run = run_wordings(sample, wordings, judge, judge2=judge2,
                           progress=lambda n: progress.update(task, completed=n))
    if run.stopped:
        err_console.print(f"[yellow]partial run[/]: {run.stopped}; the numbers below cover what was measured")
    return run


def _write(results: Any, meta: dict[str, Any], json_out: Path | None, html_out: Path | None, page: str) -> None:
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"run": meta, "results": results}, indent=2, ensure_ascii=False))
        console.print(f"JSON: {json_out}")
    target = html_out or (json_out.with_suffix(".html") if json_out else Path("lab-report.html"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    console.print(f"HTML: {target}")


def _fmt(value: float | None, pct: bool = True) -> str:
    return "—" if value is None else f"{value:.0%}" if pct else f"{value:.2f}"


def _show(results: Any, title: str) -> None:
    """A table of the numbers, then each criterion's reasons (kept out of the table so it fits a terminal)."""
    table = Table(title=title)
    for column in ("criterion", "verdict", "flips", "top", "n/a", "quoted", "κ 2 judges", "κ human (n)", "AUC"):
        table.add_column(column, no_wrap=column in ("criterion", "verdict"))
    for r in results:
        name = r.criterion_id + (f" ({r.side.upper()})" if r.side else "")
        human = f"{_fmt(r.human_kappa, False)} ({r.human_n})" if r.human_n else "—"
        table.add_row(name, f"[{_STYLE[r.verdict]}]{r.verdict}[/]", _fmt(r.flip_rate), _fmt(r.majority_share),
                      _fmt(r.na_rate), _fmt(r.evidence_rate), _fmt(r.judge_judge_kappa, False), human,
                      _fmt(r.human_auc, False))
    console.print(table)
    for r in results:
        name = r.criterion_id + (f" ({r.side.upper()})" if r.side else "")
        for line in r.reasons + r.notes:
            console.print(f"  [bold]{name}[/]: {line}", highlight=False)


def test_command(rubric: Annotated[Path, typer.Argument(help="Rubric YAML.")], data: DataOption,
                 judge: LabJudge = "local", judge2: Judge2 = None, paraphrases: Paraphrases = 3,
                 paraphrase_file: ParaphraseFile = None,
                 criterion: Annotated[list[str] | None, typer.Option("--criterion", "-c",
                                                                      help="Test only these criteria.")] = None,
                 limit: Limit = 50, seed: Seed = None, json_out: JsonOut = None, html_out: HtmlOut = None) -> None:
    """Behavioural check on conversations: paraphrase stability, label balance, N/A and evidence rates, judge–judge
    agreement (--judge2) and agreement with human labels where the data has them. Exit code 1 when a criterion is
    not measurable."""
    from eval.lab.behaviour import make_wordings
    from eval.lab.measures import measure
    from eval.lab.sample import load_sample
    from eval.report.lab import test_report
    from scorer._errors import RubricError
    from scorer.rubric import load_rubric

    the_rubric = load_rubric(rubric)
    try:
        criteria = [the_rubric.criterion(c) for c in criterion] if criterion else the_rubric.criteria
    except KeyError as exc:
        raise RubricError(str(exc.args[0])) from exc
    sample = load_sample(data, the_rubric.criteria, limit=limit, seed=seed)
    for note in sample.notes:
        err_console.print(f"[yellow]note[/]: {note}")
    the_judge, second = _judges(judge, judge2, the_rubric.version)
    wordings = make_wordings(criteria, n_paraphrases=paraphrases, custom=_custom(paraphrase_file))
    run = _run(sample, wordings, the_judge, second)
    results = measure(run)
    meta = {"rubric": f"{the_rubric.id} @ {the_rubric.version}", "data": str(data), "judge": run.judge_id,
            "judge2": run.judge2_id, "conversations": f"{run.completed} of {len(sample.items)}",
            "stopped": run.stopped, "notes": sample.notes}
    _show(results, f"rubric test · {rubric} · {run.judge_id} · {run.completed} conversations")
    _write([r.model_dump() for r in results], meta, json_out, html_out, test_report(results, meta))
    if any(r.verdict == "not_measurable" for r in results):
        raise typer.Exit(1)


def compare_command(a: Annotated[Path, typer.Argument(help="Rubric A (e.g. the current version).")],
                    b: Annotated[Path, typer.Argument(help="Rubric B (the new wording).")], data: DataOption,
                    judge: LabJudge = "local", judge2: Judge2 = None, paraphrases: Paraphrases = 3,
                    pair: Annotated[list[str] | None, typer.Option("--pair", help="A_ID=B_ID (repeatable); default: "
                                                                   "ids in both whose wording changed.")] = None,
                    limit: Limit = 50, seed: Seed = None, json_out: JsonOut = None, html_out: HtmlOut = None) -> None:
    """Two wordings of the same criterion side by side on the same conversations, with a paired bootstrap interval
    on the difference in agreement with human labels."""
    from eval.lab.behaviour import make_wordings
    from eval.lab.compare import compare_pairs, pair_criteria
    from eval.lab.sample import load_sample
    from eval.report.lab import compare_report
    from scorer.rubric import load_rubric

    ra, rb = load_rubric(a), load_rubric(b)
    pairs = pair_criteria(ra, rb, pair or ())
    union = {c.id: c for c in [*rb.criteria, *ra.criteria]}
    sample = load_sample(data, list(union.values()), limit=limit, seed=seed)
    for note in sample.notes:
        err_console.print(f"[yellow]note[/]: {note}")
    the_judge, second = _judges(judge, judge2, ra.version)
    wordings = []
    for a_id, b_id in pairs:
        label_id = a_id if sample.labelled(a_id) or not sample.labelled(b_id) else b_id
        [wa] = make_wordings([ra.criterion(a_id)], n_paraphrases=paraphrases, side="a", label_ids={a_id: label_id})
        [wb] = make_wordings([rb.criterion(b_id)], n_paraphrases=paraphrases, side="b", label_ids={b_id: label_id})
        wordings.append((wa, wb))
    run = _run(sample, [w for pair_ in wordings for w in pair_], the_judge, second)
    comparisons = compare_pairs(run, wordings)
    meta = {"A": f"{a} ({ra.id} @ {ra.version})", "B": f"{b} ({rb.id} @ {rb.version})", "data": str(data),
            "judge": run.judge_id, "judge2": run.judge2_id,
            "conversations": f"{run.completed} of {len(sample.items)}", "stopped": run.stopped, "notes": sample.notes}
    _show([r for c in comparisons for r in (c.a, c.b)], f"rubric compare · {run.judge_id} · {run.completed} "
          "conversations")
    for c in comparisons:
        console.print(f"[bold]{c.a.criterion_id} → {c.b.criterion_id}[/]: {c.summary}")
    _write([c.model_dump() for c in comparisons], meta, json_out, html_out, compare_report(comparisons, meta))
