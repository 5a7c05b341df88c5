"""Storage: SQLAlchemy tables, Alembic migrations and repository functions (SQLite by default, any URL)."""

from scorer.store.repository import Store

__all__ = ["Store"]
