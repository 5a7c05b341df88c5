"""Open the database: engine, sessions, and Alembic upgrades (SQLite by default, any SQLAlchemy URL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import InvalidatePoolError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from scorer._errors import StorageError
from scorer.store.rollup import install

__all__ = ["PING_IDLE_SECONDS", "alembic_config", "current_revision", "head_revision", "make_engine",
           "make_sessionmaker", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
PING_IDLE_SECONDS = 1.0
"""A server connection idle in the pool for longer than this is pinged before use (SQLAlchemy's ``pool_pre_ping``
pinged at every checkout: three round trips per ingest request)."""
_RETURNED = "rubricate_returned"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode, NORMAL syncs the log at checkpoints rather than at every commit: a committed transaction survives
    # the process being killed, and the database stays consistent after a power cut (which may lose the newest
    # commits). FULL would add an fsync to every API request.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder created, WAL mode and foreign keys. Server databases
    get a liveness check when a connection is taken from the pool after more than :data:`PING_IDLE_SECONDS` idle
    (a server restarted while the service was idle costs no failed request, see :func:`_ping_if_idle`); a SQLite
    file has no connection to lose, so it skips that round trip."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, object] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    try:
        engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
    except Exception as exc:  # bad URL, missing driver
        raise StorageError(f"cannot use database URL {_safe(url)}: {exc}") from exc
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        event.listen(engine, "connect", _note_returned)
        event.listen(engine, "checkin", _note_returned)
        event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


def _note_returned(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info[_RETURNED] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    """A pool ``checkout`` hook pinging a connection idle for more than :data:`PING_IDLE_SECONDS`, as
    ``pool_pre_ping`` does: a dead one makes the pool drop all its connections older than now and hand out a new
    one (``InvalidatePoolError``). A connection used within the last second is trusted: if the server went away
    within that second, the statement fails instead, SQLAlchemy drops the pool's connections the same way, the
    transaction is rolled back (nothing saved; the API answers 503) and the next request gets a new connection."""
    dialect = engine.dialect

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED, 0.0) <= PING_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError(f"connection lost while idle: {exc}") from exc
            raise

    return ping


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose commits keep the dashboard's rollups current (see ``scorer.store.rollup``)."""
    sessions = sessionmaker(engine, expire_on_commit=False)
    install(sessions)
    return sessions


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise StorageError(f"cannot reach the database {_safe(str(engine.url))}: {exc.orig}") from exc


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except OperationalError as exc:
        raise StorageError(f"cannot migrate the database {_safe(str(engine.url))}: {exc.orig}") from exc
