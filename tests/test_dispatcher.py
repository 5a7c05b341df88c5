"""The dispatcher thread publishes what requests hand over (the request waits neither for the broker nor for a
second transaction): submitted chunks are published and marked queued; a failed publish leaves them pending and
the periodic pass publishes them once the broker is back; stopping publishes what was still submitted."""

from __future__ import annotations

from pathlib import Path

from api.jobs.broker import BrokerUnavailable, Dispatcher
from api.jobs.runtime import LazyStore
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.jobs import create_job
from scorer.store.models import JobRow
from tests._api_fixtures import make_settings, wait_for


class FakePublisher:
    """Records what it is asked to publish; refuses while ``down``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.down = False
        self.published: list[int] = []
        self.attempts = 0

    def publish(self, chunk_ids: list[int]) -> None:
        self.attempts += 1
        if self.down:
            raise BrokerUnavailable("the job broker at redis://fake is unreachable (test)")
        self.published.extend(chunk_ids)


def _pending_chunks(store: Store, n: int) -> list[int]:
    with store.session() as s:
        _, chunk_ids = create_job(s, kind="ingest", rubric_id="r", rubric_version="1", judge="fake",
                                  conversation_ids=[f"c{i}" for i in range(n)], chunk_size=1, status="pending")
    return chunk_ids


def _status(store: Store, chunk_ids: list[int]) -> set[str]:
    with store.session() as s:
        return {s.get(JobRow, i).status for i in chunk_ids}  # type: ignore[union-attr]


def _setup(tmp_path: Path, interval: float) -> tuple[Store, FakePublisher, Dispatcher]:
    settings = make_settings(tmp_path)
    store = Store(settings.resolved_database_url())
    publisher = FakePublisher(settings)
    return store, publisher, Dispatcher(LazyStore(settings, store), publisher, interval=interval)  # type: ignore[arg-type]


def test_submitted_chunks_are_published_from_the_dispatcher_thread_and_marked_queued(tmp_path: Path) -> None:
    store, publisher, dispatcher = _setup(tmp_path, interval=3600)  # no periodic pass: only what is submitted
    chunks = _pending_chunks(store, 3)
    dispatcher.start()
    try:
        dispatcher.submit(chunks[:2])
        dispatcher.submit(chunks[2:])
        wait_for(lambda: _status(store, chunks) == {"queued"}, 10, "the chunks to be marked queued")
        assert sorted(publisher.published) == sorted(chunks)  # each once
    finally:
        dispatcher.stop()
        store.close()


def test_a_failed_publish_leaves_the_chunks_pending_until_the_periodic_pass_publishes_them(tmp_path: Path) -> None:
    store, publisher, dispatcher = _setup(tmp_path, interval=0.3)
    chunks = _pending_chunks(store, 2)
    publisher.down = True
    dispatcher.start()
    try:
        dispatcher.submit(chunks)
        wait_for(lambda: publisher.attempts >= 1, 10, "a publish attempt")
        assert _status(store, chunks) == {"pending"} and publisher.published == []
        publisher.down = False  # the broker is back
        wait_for(lambda: _status(store, chunks) == {"queued"}, 10, "the periodic pass to publish them")
        assert sorted(set(publisher.published)) == sorted(chunks)
    finally:
        dispatcher.stop()
        store.close()


def test_what_requests_submit_within_the_batch_window_is_published_in_one_pass(tmp_path: Path) -> None:
    store, publisher, dispatcher = _setup(tmp_path, interval=3600)
    dispatcher.batch_seconds = 3600  # the window ends only when the dispatcher stops: no clock in the test
    chunks = _pending_chunks(store, 3)
    dispatcher.start()
    for chunk in chunks:  # three requests, one chunk each
        dispatcher.submit([chunk])
    dispatcher.stop()
    try:
        assert (dispatcher.passes, publisher.attempts) == (1, 1)
        assert sorted(publisher.published) == sorted(chunks) and _status(store, chunks) == {"queued"}
    finally:
        store.close()


def test_stopping_publishes_what_was_still_submitted(tmp_path: Path) -> None:
    store, publisher, dispatcher = _setup(tmp_path, interval=3600)
    chunks = _pending_chunks(store, 4)
    dispatcher.start()
    dispatcher.submit(chunks)
    dispatcher.stop()
    try:
        assert sorted(publisher.published) == sorted(chunks) and _status(store, chunks) == {"queued"}
    finally:
        store.close()


def test_the_periodic_pass_settles_the_rollup_groups_the_workers_marked(tmp_path: Path) -> None:
    from sqlalchemy import select

    from scorer.judges.fake import FakeJudge
    from scorer.pipeline import score_conversation
    from scorer.rubric import load_rubric
    from scorer.store.rollup_models import CardDayRow, DirtyRow
    from tests._dashboard_data import RUBRIC, conversation

    store, _publisher, dispatcher = _setup(tmp_path, interval=0.2)
    for i in range(3):  # what a worker's writes leave: marks, no recomputed rows yet
        score_conversation(conversation(i), load_rubric(RUBRIC), FakeJudge(), store=store)
    with store.session() as s:
        assert s.scalars(select(DirtyRow.id)).all() and not s.scalars(select(CardDayRow.id)).all()
    dispatcher.start()
    try:
        def settled() -> bool:
            with store.session() as s:
                return not s.scalars(select(DirtyRow.id)).all() and bool(s.scalars(select(CardDayRow.id)).all())
        wait_for(settled, timeout=20, what="the marked rollup groups settled")
    finally:
        dispatcher.stop()
