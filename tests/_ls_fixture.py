"""A real Label Studio for the test session: its venv and migrated template are cached between runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from labeling.server import Credentials, start, stop
from scorer.settings import Settings

__all__ = ["label_studio", "ls_cache_dir"]


def ls_cache_dir() -> Path:
    """The same place `rubricate labeling up` uses (RUBRICATE_CACHE_DIR, default ~/.cache/rubricate)."""
    return Settings().cache_dir / "label-studio"


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Credentials]:
    """Start Label Studio (installing it into its own venv on the first run) and stop it at the end."""
    data_dir = tmp_path_factory.mktemp("label-studio")
    try:
        credentials = start(data_dir, cache_dir=ls_cache_dir())
    except Exception as exc:
        stop(data_dir)
        pytest.fail(f"Label Studio could not be started: {exc}")
    yield credentials
    stop(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)
