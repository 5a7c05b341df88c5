"""Fixtures and helpers for the API tests: settings for a temporary database, an app with keys of every role, and
processes (``rubricate serve`` / ``rubricate worker``) started with the probe judge. Nothing of ours is mocked."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.keys import ROLES, create_key

__all__ = ["RUBRIC_YAML", "Api", "conversation", "dump", "free_port", "make_settings", "open_api", "spawn", "stop",
           "wait_for", "wait_http"]

ROOT = Path(__file__).resolve().parent.parent
RUBRIC_YAML = """id: svc
name: Service test rubric
criteria:
  - {id: greet, question: "Did the agent greet the customer?", category: opening}
  - {id: solve, question: "Did the agent offer a solution?", scale: yes_no_na, weight: 2}
"""


def conversation(cid: str, text: str = "Hello, I am Ana from Parcelly. I will send a new parcel today.",
                 **extra: Any) -> dict[str, Any]:
    return {"id": cid, "channel": "chat", "language": "en",
            "turns": [{"speaker": "customer", "text": "My parcel never arrived."},
                      {"speaker": "agent", "text": text}], **extra}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: a temporary SQLite database, the fake judge, fast polling and heartbeats."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "database_url": f"sqlite:///{tmp_path / 'api.db'}", "judge": "fake",
        "worker_poll_seconds": 0.05, "job_heartbeat_seconds": 0.2, "job_stale_seconds": 1.5, "broker_url": None,
        "label_studio_url": None, "audit_rate": 0.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Api:
    """A running app (lifespan entered) with one key per role and helpers for the common steps."""

    client: TestClient
    store: Store
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str = "admin", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", **headers}

    def add_rubric(self, text: str = RUBRIC_YAML) -> dict[str, Any]:
        r = self.client.post("/v1/rubrics", content=text, headers=self.auth(**{"content-type": "application/yaml"}))
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def ingest(self, *conversations: dict[str, Any], role: str = "ingest", key: str | None = None,
               **body: Any) -> httpx.Response:
        headers = self.auth(role, **({"Idempotency-Key": key} if key else {}))
        payload = {"rubric_id": "svc", "conversations": list(conversations), **body}
        return self.client.post("/v1/conversations", json=payload, headers=headers)

    def wait_job(self, job_id: int, timeout: float = 30.0) -> dict[str, Any]:
        job: dict[str, Any] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.client.get(f"/v1/scoring-jobs/{job_id}", headers=self.auth()).json()
            if job.get("status") in ("done", "failed"):
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


@contextmanager
def open_api(settings: Settings) -> Iterator[Api]:
    """Enter the app's lifespan, create a key of each role, yield; the worker stops on exit."""
    app = create_app(settings)
    with TestClient(app) as client:
        store = app.state.service.store.get()
        keys = {role: create_key(store, role, f"test {role}", agent_id="A-1" if role == "agent" else None)[1]
                for role in ROLES}
        yield Api(client, store, keys)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Run ``rubricate ARGS`` with the probe judge registered, in its own process group."""
    code = "from tests._slow_judge import run_cli; run_cli()"
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env={**os.environ, **env},
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal the process's group (the process and any children) and wait for it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout, url, interval=0.1)


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)[:3000]
