"""The ``rubricate`` command line. Each module of this package registers one group of commands; commands parse
arguments and call library functions, nothing more."""

from __future__ import annotations

import importlib
import logging
import sys
import warnings

import typer
from rich.text import Text

from cli._common import console, err_console
from scorer._errors import RubricateError
from scorer.io import printable
from scorer.settings import use_offline_hubs

__all__ = ["build_app", "main"]

COMMAND_MODULES = (
    "cli.score",
    "cli.labeling",
    "cli.review",
    "cli.evaluate",
    "cli.service",
    "cli.rubric",
    "cli.importing",
    "cli.alerts",
    "cli.calibration",
)

HELP = """Score support conversations against a QA rubric, with located evidence and a human review loop.

Typical run:  rubricate score convs.jsonl --rubric rubric.yaml --out scores.jsonl  then  rubricate show scores.jsonl
"""


def build_app() -> typer.Typer:
    """Assemble the Typer app from the command modules (each exposes ``register(app)``)."""
    app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich", pretty_exceptions_enable=False)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command group not written yet
            if exc.name == name:
                continue
            raise
        module.register(app)
    return app


def main() -> None:
    """Entry point of the ``rubricate`` script: our errors are printed plainly; ``--debug`` shows tracebacks."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    use_offline_hubs()
    if not debug:  # a library's notice to its own developers, not to a QA lead reading the output
        warnings.filterwarnings("ignore", message=r".*past_key_values.* is deprecated", category=FutureWarning)
    try:
        build_app()()
    except RubricateError as exc:
        if debug:
            raise
        err_console.print(Text.assemble(("error:", "bold red"), " ", printable(str(exc))), soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; everything finished before this point is stored")
        sys.exit(130)
    finally:
        console.file.flush()
