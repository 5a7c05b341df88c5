"""What keeps ingest fast while workers score on the same host: a worker lowers its own CPU priority (``--nice``,
default 10), the API freezes its start-up heap out of the garbage collector's reach and keeps the interpreter's
switch interval short in either job mode, and a request does not ping a broker that answered within the last
second — while a failed publish still makes the next request ask it again."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.jobs.broker import BrokerUnavailable, Publisher
from api.jobs.priority import AUTOGROUP
from scorer.settings import Settings
from tests._api_fixtures import ROOT, conversation, free_port, make_settings, open_api


def _priority_in_child(new_session: bool) -> list[str]:
    code = ("import os; from api.jobs.priority import lower_priority; "
            "print(lower_priority(7), lower_priority(3), os.nice(0), lower_priority(0), sep=';')")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          start_new_session=new_session).stdout.strip().split(";")


def test_lower_priority_raises_the_niceness_and_never_lowers_it() -> None:
    start = os.nice(0)
    level = max(7, start)
    assert _priority_in_child(new_session=False) == [f"({level}, None)", f"({level}, None)", str(level),
                                                      f"({level}, None)"]  # a shared autogroup is left alone


@pytest.mark.skipif(not AUTOGROUP.exists(), reason="this kernel does not group tasks by session")
def test_a_worker_leading_its_own_session_lowers_its_autogroup_too() -> None:
    level = max(7, os.nice(0))  # a new session's autogroup starts at nice 0
    assert _priority_in_child(new_session=True) == [f"({level}, 7)", f"({level}, 7)", str(level), f"({level}, 7)"]


def test_workers_run_at_nice_10_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUBRICATE_WORKER_NICE", raising=False)
    assert Settings().worker_nice == 10
    monkeypatch.setenv("RUBRICATE_WORKER_NICE", "0")
    assert Settings().worker_nice == 0
    from cli import build_app

    result = CliRunner().invoke(build_app(), ["worker", "--help"], env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.exit_code == 0 and "--nice" in result.output


class FakeRedis:
    """Counts pings; refuses while ``down``."""

    def __init__(self) -> None:
        self.pings = 0
        self.down = False

    def ping(self) -> bool:
        self.pings += 1
        if self.down:
            raise ConnectionError("refused (test)")
        return True

    def close(self) -> None:
        pass


def _publisher(tmp_path: Path) -> tuple[Publisher, FakeRedis]:
    settings = make_settings(tmp_path, broker_url=f"redis://127.0.0.1:{free_port()}/0", broker_timeout_seconds=0.5)
    publisher = Publisher(settings)
    fake = FakeRedis()
    publisher._redis = fake
    publisher.trusted_seconds = 3600.0  # no clock in the test: trusted until something fails
    return publisher, fake


def test_a_broker_that_answered_is_not_pinged_again_until_a_publish_fails(tmp_path: Path) -> None:
    publisher, fake = _publisher(tmp_path)
    try:
        publisher.check()
        publisher.check()
        assert fake.pings == 1
        publisher.check(trusted_seconds=0)  # what /readyz does: always ask
        assert fake.pings == 2
        with pytest.raises(BrokerUnavailable):
            publisher.publish([1])  # nothing listens on that port: the publish fails
        fake.down = True
        with pytest.raises(BrokerUnavailable):
            publisher.check()  # asked again, and refused
        assert fake.pings == 3
        with pytest.raises(BrokerUnavailable):
            publisher.check()  # a refusal is not remembered as an answer
        assert fake.pings == 4
    finally:
        publisher.close()


def test_a_request_accepted_while_the_broker_is_trusted_but_dead_stays_pending(tmp_path: Path) -> None:
    """The broker died just after answering: the request is accepted (202) and its chunk waits, ``pending`` in the
    database, for a dispatcher to publish it — nothing accepted is lost."""
    from sqlalchemy import select

    from scorer.store.models import JobRow

    settings = make_settings(tmp_path, broker_url=f"redis://127.0.0.1:{free_port()}/0", broker_timeout_seconds=0.5)
    with open_api(settings) as api:
        service: Any = api.client.app.state.service  # type: ignore[attr-defined]
        service.publisher._answered_at = float("inf")  # as if it had just answered
        api.add_rubric()
        r = api.ingest(conversation("accepted-while-trusted"))
        assert r.status_code == 202
        service.dispatcher.stop()  # its publish fails (nothing listens): the chunk is left pending
        with api.store.session() as s:
            assert set(s.scalars(select(JobRow.status).where(JobRow.kind == "score_chunk"))) == {"pending"}


def test_the_api_freezes_its_start_up_heap_and_shortens_the_switch_interval_while_it_runs(tmp_path: Path) -> None:
    interval = sys.getswitchinterval()
    settings = make_settings(tmp_path, broker_url=f"redis://127.0.0.1:{free_port()}/0", broker_timeout_seconds=0.5)
    with open_api(settings):
        assert gc.get_freeze_count() > 10_000
        assert sys.getswitchinterval() <= 0.001
    assert gc.get_freeze_count() == 0 and sys.getswitchinterval() == interval
