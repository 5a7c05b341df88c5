"""``rubricate calibration start|pull|report|consensus``: calibration sessions — the same conversations answered
independently by several reviewers, then agreement (Krippendorff's α), grade-the-grader and the disagreements."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli._common import DbOption, RubricOption, console, open_store, settings_for
from cli.review import connection_for

__all__ = ["register"]

app = typer.Typer(help="Calibration sessions: several reviewers, the same conversations, blind.",
                  no_args_is_help=True)
SessionArg = Annotated[str, typer.Argument(help="The session name printed by `calibration start`.")]


@app.command()
def start(
    rubric: RubricOption,
    reviewers: Annotated[str, typer.Option(help="Reviewer names, comma-separated (at least two).")],
    conversations: Annotated[int, typer.Option("--conversations", min=1, help="How many conversations.")] = 10,
    name: Annotated[str | None, typer.Option(help="Session name (default: cal-<date>-<time>).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the conversation draw.")] = 0,
    judge: Annotated[str | None, typer.Option("--judge", "-j", help="Compare with this judge's cards.")] = None,
    db: DbOption = None,
) -> None:
    """Push the same conversations to each reviewer's own Label Studio project, blind (no AI answer, no other
    reviewer's answers); creates the reviewers' Label Studio accounts if needed."""
    from labeling.calibration import push_session
    from scorer.rubric import load_rubric
    from scorer.store.calibration_sessions import create_session, pick_conversations

    names = [r.strip() for r in reviewers.split(",") if r.strip()]
    settings = settings_for(db)
    the_rubric = load_rubric(rubric)
    store = open_store(settings)
    store.save_rubric(the_rubric)
    chosen = pick_conversations(store, the_rubric, conversations, seed=seed, judge=judge)
    session_name = name or datetime.now(UTC).strftime("cal-%Y%m%d-%H%M%S")
    connection = connection_for(settings)  # fail before anything is written when Label Studio is away
    session = create_session(store, session_name, the_rubric, chosen, names, judge)
    with console.status("creating reviewer accounts and projects …"):
        projects = push_session(store, connection, session, the_rubric)
    console.print(f"calibration session [bold]{session_name}[/]: {len(chosen)} conversation(s) for "
                  f"{', '.join(names)}")
    for reviewer, where in projects.items():
        console.print(f"  {reviewer}: {connection.url}/projects/{where['project']}")
    console.print(f"after the reviewers answered: rubricate calibration report {session_name} --html report.html")


def _pull(store, settings, session, rubric) -> None:  # type: ignore[no-untyped-def]
    from labeling.calibration import pull_session

    with console.status("pulling the reviewers' answers …"):
        summary = pull_session(store, connection_for(settings), session, rubric)
    console.print(f"{summary.stored} new or changed answer(s), {summary.unchanged} unchanged")


def _load(session_name: str, db: str | None):  # type: ignore[no-untyped-def]
    from scorer.store.calibration_sessions import get_session

    settings = settings_for(db)
    store = open_store(settings)
    session = get_session(store, session_name)
    rubric = store.get_rubric(session.rubric_id, session.rubric_version)
    assert rubric is not None  # stored when the session started
    return settings, store, session, rubric


@app.command()
def pull(session_name: SessionArg, db: DbOption = None) -> None:
    """Store the reviewers' answers of the session (kept apart from reviews; safe to repeat)."""
    settings, store, session, rubric = _load(session_name, db)
    _pull(store, settings, session, rubric)


@app.command()
def report(
    session_name: SessionArg,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write the meeting report here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    no_pull: Annotated[bool, typer.Option("--no-pull", help="Use the answers pulled before.")] = False,
    db: DbOption = None,
) -> None:
    """Per criterion: α among reviewers, each reviewer and the AI against the consensus, and the disagreements."""
    from eval.session_report import session_html, session_report
    from scorer.store.calibration_sessions import ai_answers, session_answers

    settings, store, session, rubric = _load(session_name, db)
    if not no_pull:
        _pull(store, settings, session, rubric)
    result = session_report(session.name, rubric, session.reviewers, session.conversation_ids,
                            session_answers(store, session.id), ai_answers(store, session, rubric))
    if as_json:
        print(json.dumps({"criteria": [vars(c) for c in result.criteria],
                          "disagreements": [vars(d) for d in result.disagreements]}, indent=2))
    else:
        table = Table(title=f"calibration session {session.name} · {rubric.id}@{rubric.version}")
        for column in ("criterion", "units", "α", *[f"{r} vs consensus" for r in session.reviewers], "AI vs cons."):
            table.add_column(column)
        pct = lambda v: "—" if v is None else f"{v:.0%}"  # noqa: E731
        for c in result.criteria:
            table.add_row(Text(c.criterion_id), str(c.units), "—" if c.alpha is None else f"{c.alpha:.2f}",
                          *[pct(c.reviewer_vs_consensus[r]) for r in session.reviewers], pct(c.ai_vs_consensus))
        console.print(table)
        console.print(f"{len(result.disagreements)} disagreement(s) to discuss")
        for d in result.disagreements:
            shown = ", ".join(f"{r}={a}" for r, a in sorted(d.answers.items()))
            console.print(Text(f"  {d.conversation_id} / {d.criterion_id}: {shown} · AI={d.ai}"))
    if html_out is not None:
        transcripts = {cid: c for cid in session.conversation_ids if (c := store.get_conversation(cid)) is not None}
        html_out.write_text(session_html(result, transcripts), encoding="utf-8")
        console.print(f"report: {html_out}")


@app.command()
def consensus(session_name: SessionArg, db: DbOption = None) -> None:
    """Record the session's consensus answers in the review history (source calibration): from then on they count
    like reviewed answers for training and judge calibration. Without this, calibration answers change nothing."""
    from eval.session_report import session_report
    from scorer.store.calibration_sessions import ai_answers, record_consensus, session_answers

    _, store, session, rubric = _load(session_name, db)
    result = session_report(session.name, rubric, session.reviewers, session.conversation_ids,
                            session_answers(store, session.id), ai_answers(store, session, rubric))
    written = record_consensus(store, session, rubric, result.consensus)
    console.print(f"recorded {written} consensus answer(s) of {len(result.consensus)} in the review history")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="calibration")
