"""A fresh PostgreSQL database per test session on the machine's server (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from scorer.store import Store

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

__all__ = ["ADMIN_URL", "fresh_postgres_url", "store_on"]


def fresh_postgres_url() -> Iterator[str]:
    """Create ``rubricate_t_<random>``, yield its URL, drop it; skip with the reason when no server answers."""
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"rubricate_t_{secrets.token_hex(4)}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server here
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({type(exc).__name__}: {exc})")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def store_on(kind: str, tmp_path: Path) -> Iterator[Store]:
    """A store for a test parametrised by database: ``sqlite`` (a file under ``tmp_path``) or ``postgresql``/
    ``postgres`` (a fresh database, dropped afterwards); for a fixture to ``yield from``."""
    from scorer.store import Store

    urls = iter([f"sqlite:///{tmp_path / 'store.db'}"]) if kind == "sqlite" else fresh_postgres_url()
    store = Store(next(urls))
    try:
        yield store
    finally:
        store.close()
        next(urls, None)
