"""Start and stop a real Label Studio server in its own virtual environment, on loopback only.

Label Studio pins ``openai<2``, which clashes with litellm, so it lives in its own venv under the cache directory.
Its state lives in a data directory (SQLite database, media). Credentials and an API token are generated once and
kept in ``credentials.json`` (mode 0600) in the data directory; only ``rubricate labeling up`` prints them.
The server gets a clean environment (bare HOST/PORT/USERNAME variables would leak into its settings), runs in its own
process group (it spawns children) and is stopped by that group.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from pydantic import BaseModel

from labeling._venv import LabelStudioError, ensure_template, ensure_venv

__all__ = ["Credentials", "LabelStudioError", "is_healthy", "start", "status", "stop"]

DEFAULT_PORT = 8089


class Credentials(BaseModel):
    """How to reach and log in to a Label Studio server."""

    url: str
    username: str
    password: str
    token: str


def is_healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``GET <url>/health`` answers 200."""
    try:
        return httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_port(preferred: int) -> int:
    if _port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _login(data_dir: Path) -> tuple[str, str, str]:
    path = data_dir / "credentials.json"
    if path.exists():
        saved = json.loads(path.read_text())
        return saved["username"], saved["password"], saved["token"]
    data_dir.mkdir(parents=True, exist_ok=True)
    username, password, token = "admin@rubricate.local", secrets.token_urlsafe(18), secrets.token_hex(20)
    path.write_text(json.dumps({"username": username, "password": password, "token": token}))
    path.chmod(0o600)
    return username, password, token


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status(data_dir: Path) -> Credentials | None:
    """The credentials of the server recorded in ``data_dir`` if it is running and healthy, else None."""
    record = data_dir / "server.json"
    if not record.exists():
        return None
    info = json.loads(record.read_text())
    url = f"http://127.0.0.1:{info['port']}"
    if not _alive(int(info["pid"])) or not is_healthy(url):
        return None
    username, password, token = _login(data_dir)
    return Credentials(url=url, username=username, password=password, token=token)


def _environment(data_dir: Path, username: str, password: str, token: str, venv: Path) -> dict[str, str]:
    return {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", str(data_dir)),
        "LANG": "C.UTF-8",
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir / "ls-data"),
        "LABEL_STUDIO_USERNAME": username,
        "LABEL_STUDIO_PASSWORD": password,
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "SSRF_PROTECTION_ENABLED": "false",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
    }


def start(data_dir: Path, *, cache_dir: Path, port: int | None = None, timeout: float = 240.0) -> Credentials:
    """Start Label Studio for ``data_dir`` (idempotent: a healthy running server is reused).

    ``cache_dir`` holds the venv and a migrated template data dir, shared by every data dir. A busy ``port``
    given explicitly is an error, never silently shifted.
    """
    data_dir = data_dir.resolve()
    running = status(data_dir)
    if running is not None:
        return running
    if port is not None and not _port_free(port):
        raise LabelStudioError(f"port {port} on 127.0.0.1 is busy; choose another with --port")
    chosen = port if port is not None else _pick_port(DEFAULT_PORT)
    venv = ensure_venv(cache_dir)
    username, password, token = _login(data_dir)
    if not (data_dir / "ls-data").exists():
        shutil.copytree(ensure_template(cache_dir), data_dir / "ls-data")
    log_path = data_dir / "label-studio.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(venv / "bin" / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
             "--port", str(chosen), "--enable-legacy-api-token"],
            env=_environment(data_dir, username, password, token, venv), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, cwd=data_dir,
        )
    (data_dir / "server.json").write_text(json.dumps({"pid": process.pid, "port": chosen}))
    url = f"http://127.0.0.1:{chosen}"
    deadline = time.monotonic() + timeout
    while not is_healthy(url):
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise LabelStudioError(f"Label Studio exited with code {process.returncode}; log tail:\n{tail}")
        if time.monotonic() > deadline:
            stop(data_dir)
            raise LabelStudioError(f"Label Studio did not answer on {url} within {timeout:.0f}s (log: {log_path})")
        time.sleep(0.5)
    response = httpx.get(f"{url}/api/projects", headers={"Authorization": f"Token {token}"}, timeout=10)
    if response.status_code != 200:
        raise LabelStudioError(f"Label Studio is up but refused the API token ({response.status_code})")
    return Credentials(url=url, username=username, password=password, token=token)


def stop(data_dir: Path, *, wait: float = 10.0) -> bool:
    """Stop the server recorded in ``data_dir`` by its process group; True when one was running."""
    record = data_dir.resolve() / "server.json"
    if not record.exists():
        return False
    pid = int(json.loads(record.read_text())["pid"])
    was_running = _alive(pid)
    if was_running:
        try:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + wait
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
                _reap(pid)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _reap(pid)
    record.unlink(missing_ok=True)
    return was_running


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
