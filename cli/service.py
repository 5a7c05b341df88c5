"""``rubricate keys``, ``serve`` and ``worker``: run the scoring service and manage its API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli._common import DbOption, console, err_console, open_store, settings_for

__all__ = ["register"]

keys_app = typer.Typer(help="API keys for the service (stored hashed; a key is shown once).", no_args_is_help=True)

RoleOption = Annotated[str, typer.Option("--role", "-r", help="ingest, reviewer, admin (may do everything) or agent "
                                          "(sees one agent's conversations; needs --agent).")]


@keys_app.command("create")
def keys_create(role: RoleOption, name: Annotated[str, typer.Option("--name", "-n", help="A label.")] = "",
                agent: Annotated[str | None, typer.Option("--agent", help="For --role agent: the agent id.")] = None,
                db: DbOption = None) -> None:
    """Create an API key and print it once; only its hash is stored."""
    from scorer.store.keys import create_key

    record, key = create_key(open_store(settings_for(db)), role, name, agent_id=agent)
    err_console.print(f"created key {record.id} (role {record.role}{', ' + name if name else ''}); "
                      "store it now, it is not shown again:")
    console.print(key, soft_wrap=True, highlight=False)


@keys_app.command("list")
def keys_list(db: DbOption = None) -> None:
    """List keys (id, name, role, prefix, created, revoked); never the keys themselves."""
    from scorer.store.keys import list_keys

    table = Table("id", "name", "role", "key", "created", "revoked")
    for k in list_keys(open_store(settings_for(db))):
        table.add_row(str(k.id), k.name, k.role, f"rk_{k.prefix}_…", f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (see `rubricate keys list`).")],
                db: DbOption = None) -> None:
    """Revoke a key: requests with it are refused (401) from now on."""
    from scorer.store.keys import revoke_key

    record = revoke_key(open_store(settings_for(db)), key_id)
    console.print(f"key {record.id} (rk_{record.prefix}_…, role {record.role}) is revoked")


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (env RUBRICATE_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env RUBRICATE_API_PORT).")] = None,
    db: DbOption = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP API. Without RUBRICATE_BROKER_URL it also scores in-process; with it, run `rubricate worker`."""
    import uvicorn

    from api.main import create_app

    settings = settings_for(db)
    mode = f"Celery on {settings.broker_url}" if settings.broker_url else "the in-process worker"
    err_console.print(f"rubricate API on http://{host or settings.api_host}:{port or settings.api_port} "
                      f"(docs at /docs); jobs run on {mode}")
    hosted = [spec for spec in [settings.judge, *settings.allowed_judges] if "litellm" in spec]
    if hosted:
        err_console.print(f"PII redaction before hosted judges ({', '.join(hosted)}): "
                          f"{'on' if settings.redact_pii else 'OFF (RUBRICATE_REDACT_PII=false)'}", markup=False)
    uvicorn.run(create_app(settings), host=host or settings.api_host, port=port or settings.api_port,
                log_level=log_level)


def worker(
    concurrency: Annotated[int | None, typer.Option(help="Threads (env RUBRICATE_WORKER_CONCURRENCY).")] = None,
    name: Annotated[str | None, typer.Option(help="Celery node name, e.g. w1@%h.")] = None,
    db: DbOption = None,
    dispatch: Annotated[bool, typer.Option(help="Also re-publish work left by failed publishes or dead workers "
                                                "(harmless to run in several places).")] = True,
    log_level: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
    nice: Annotated[int | None, typer.Option(min=0, max=19, help="CPU niceness to run at (env RUBRICATE_WORKER_NICE, "
                                             "default 10: scoring gives way to the API and the database on a shared "
                                             "host; 0 keeps the normal priority).")] = None,
) -> None:
    """Run a Celery worker that scores queued chunks (needs RUBRICATE_BROKER_URL); start as many as needed."""
    from api.jobs.broker import Dispatcher, Publisher, make_celery
    from api.jobs.priority import lower_priority
    from api.jobs.runtime import JobRuntime, LazyStore

    settings = settings_for(db)
    if concurrency:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    # Before any thread starts (niceness is per thread on Linux; threads inherit it).
    own, group = lower_priority(settings.worker_nice if nice is None else nice)
    err_console.print(f"worker at CPU niceness {own}" + ("" if group is None else f" (its session's group: {group})"))
    store = LazyStore(settings)
    app = make_celery(settings, JobRuntime(settings, store))
    if dispatch:
        Dispatcher(store, Publisher(settings)).start()
    from api.jobs.alerts import AlertSender

    AlertSender(store.get, settings).start()  # alerts go out from the workers
    argv = ["worker", f"--concurrency={settings.worker_concurrency}", "--pool=threads", f"--loglevel={log_level}",
            "-Q", settings.broker_queue, "--without-gossip", "--without-mingle"]
    if name:
        argv += ["-n", name]
    app.worker_main(argv)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.command()(serve)
    app.command()(worker)
