"""A fresh PostgreSQL database per test session on the machine's server (127.0.0.1:5432, trust auth)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

__all__ = ["ADMIN_URL", "fresh_postgres_url"]


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
