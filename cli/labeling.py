"""``rubricate labeling up|down|status``: the Label Studio server reviewers work in."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli._common import console, settings_for

__all__ = ["register"]

app = typer.Typer(help="Run Label Studio (its own venv, loopback only) for reviewers.", no_args_is_help=True)


@app.command()
def up(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: 8089 or a free one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print url, username, password and token as JSON.")] = False,
) -> None:
    """Install Label Studio into its own venv if needed and start it; prints URL, login and API token."""
    from labeling.server import start

    settings = settings_for()
    with console.status("starting Label Studio (the first run installs it, which takes a few minutes) …"):
        credentials = start(settings.data_dir / "label-studio", cache_dir=settings.cache_dir / "label-studio",
                            port=port)
    if as_json:
        print(json.dumps(credentials.model_dump()))
        return
    console.print(f"Label Studio is running at [bold]{credentials.url}[/]")
    console.print(f"  login:    {credentials.username}\n  password: {credentials.password}")
    console.print(f"  API token: {credentials.token}")
    console.print("Next: rubricate review push --rubric <rubric.yaml>")


@app.command()
def down() -> None:
    """Stop the Label Studio server started by `labeling up` (its data stays)."""
    from labeling.server import stop

    stopped = stop(settings_for().data_dir / "label-studio")
    console.print("Label Studio stopped" if stopped else "Label Studio was not running")


@app.command()
def status() -> None:
    """Say whether Label Studio is running, and where."""
    from labeling.server import status as server_status

    running = server_status(settings_for().data_dir / "label-studio")
    console.print(f"running at {running.url}" if running else "not running (start it with `rubricate labeling up`)")
    if running is None:
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="labeling")
