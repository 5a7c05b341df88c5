"""Things every command needs: consoles, settings, opening the store, the shared option types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from scorer.settings import Settings
from scorer.store import Store

__all__ = [
    "DbOption",
    "JudgeOption",
    "RubricOption",
    "console",
    "err_console",
    "open_store",
    "settings_for",
]

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: SQLite in the data dir; env RUBRICATE_DATABASE_URL)."),
]
JudgeOption = Annotated[
    str | None,
    typer.Option("--judge", "-j", help="Judge: fake, local, local:<path>, litellm/<model>, learned, ensemble:a+b."),
]
RubricOption = Annotated[Path, typer.Option("--rubric", "-r", help="Rubric YAML file.", exists=False)]


def settings_for(db: str | None = None) -> Settings:
    """Settings from the environment, with the command line's ``--db`` taking precedence."""
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    return settings


def open_store(settings: Settings) -> Store:
    return Store(settings.resolved_database_url(), auto_migrate=settings.auto_migrate)
