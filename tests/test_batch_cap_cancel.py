"""Batch mode's limits, against the loopback batch server: a conversation that never scores (a request the provider
refuses every time, a reply that never parses) is submitted at most N times, then given up (stored unscored with
its last reason, for review; no further request reaches the provider); ``--batch-cancel`` collects what is
finished, cancels the open batches at the provider and closes the job; a provider that is down changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scorer._errors import JudgeError
from scorer.batch import BatchClient, BatchRun, create_job, load_job
from scorer.batch.jobs import save_job
from scorer.judges import JudgeOptions, get_judge
from scorer.judges.hosted import HostedJudge
from scorer.rubric import load_rubric
from scorer.store import Store
from scorer.store.jobs import get_job
from scorer.types import Conversation
from tests._batch_cli import MODEL, batch_files, card_count, conversation_record, resume, run_cli, submit
from tests.openai_batch_server import BatchStub
from tests.openai_stub_server import free_port


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    return batch_files(tmp_path, monkeypatch)


def _store(files: dict[str, Path]) -> Store:
    return Store(f"sqlite:///{files['db']}")


def _cancel(files: dict[str, Path], job: int, *extra: str) -> tuple[int, str, BaseException | None]:
    return run_cli("score", "--batch-cancel", str(job), "--db", f"sqlite:///{files['db']}", *extra)


def _records(path: Path) -> dict[str, dict[str, object]]:
    return {r["conversation_id"]: r for r in map(json.loads, path.read_text().splitlines())}


@pytest.mark.parametrize(("trouble", "reason", "limit_by"), [
    ("fail", "invalid_request: the request was refused", "option"),
    ("garble", "the reply holds no JSON object", "setting")])
def test_a_conversation_that_never_scores_is_given_up_after_the_attempt_limit(
        files: dict[str, Path], batch_stub: BatchStub, monkeypatch: pytest.MonkeyPatch, trouble: str, reason: str,
        limit_by: str) -> None:
    if limit_by == "setting":
        monkeypatch.setenv("RUBRICATE_BATCH_ATTEMPTS", "2")
    job, _ = submit(files, batch_stub, *(["--batch-attempts", "2"] if limit_by == "option" else []))
    getattr(batch_stub, trouble).add("c2")  # every time
    batch_stub.ready = True
    code, output = resume(files, job)
    assert code == 1 and "submitted again" in output and "c2: " in output and "(now attempt 2 of 2)" in output
    assert batch_stub.submitted("c2") == 2

    code, output = resume(files, job, "--out", str(files["out"]))
    assert code == 1, output
    assert "1 conversation(s) given up after 2 attempt(s)" in output and reason in output
    assert "is done" in output and "(1 given up, unscored)" in output
    assert len(batch_stub.batches) == 2 and batch_stub.submitted("c2") == 2 and batch_stub.submitted("c1") == 1
    c2 = {j["criterion_id"]: j for j in _records(files["out"])["c2"]["judgements"]}  # type: ignore[attr-defined]
    for question in ("greet", "solve"):  # stored unscored with the last reason, routed to review
        assert c2[question]["status"] == "unscored" and reason in c2[question]["reason"]
        assert c2[question]["needs_review"] and "unscored" in c2[question]["review_reasons"]
    store = _store(files)
    try:
        state, view = load_job(store, job), get_job(store, job)
    finally:
        store.close()
    assert (state.status, state.max_attempts, state.attempts) == ("done", 2, {"c1": 1, "c2": 2, "c3": 1})
    assert list(state.given_up) == ["c2"] and reason in state.given_up["c2"]
    assert view is not None and (view.status, view.done, view.failed) == ("done", 3, 1)

    code, output = resume(files, job)  # a done job sends nothing more, and still says what was given up
    assert code == 1 and "is done" in output and "c2: " in output
    code, output, _ = _cancel(files, job)
    assert code == 0 and "nothing to cancel" in output
    assert len(batch_stub.batches) == 2 and batch_stub.submitted("c2") == 2 and batch_stub.cancels == []


def _two_batches(files: dict[str, Path], stub: BatchStub) -> int:
    """A job over the file's conversations with two batches: [c1] and [c2, c3] (t1 is excluded, not sent)."""
    rubric = load_rubric(files["rubric"])
    judge = get_judge(MODEL, JudgeOptions(api_base=stub.base_url))
    assert isinstance(judge, HostedJudge)
    conversations = [Conversation.model_validate(conversation_record(c)) for c in ("c1", "c2", "c3")]
    conversations.append(Conversation.model_validate({**conversation_record("t1"), "tags": ["test"]}))
    store = _store(files)
    try:
        store.save_rubric(rubric)
        job = create_job(store, rubric=rubric, judge=judge.id, provider="openai", options=judge.options,
                         include_excluded=False, conversation_ids=[c.id for c in conversations], max_attempts=3)
        run = BatchRun(store, job, rubric, judge, BatchClient("openai", judge.options))
        run.submit(conversations[:1])
        run.submit(conversations[1:])
    finally:
        store.close()
    assert [[line["custom_id"] for line in stub.inputs(b)] for b in stub.batches] == [["c1"], ["c2", "c3"]]
    return job.id


def test_cancel_collects_what_is_finished_first_then_cancels_the_open_batches(files: dict[str, Path],
                                                                              batch_stub: BatchStub) -> None:
    job = _two_batches(files, batch_stub)
    batch_stub.ready, batch_stub.hold = True, {"batch-2"}  # batch-1 finished, batch-2 still at work
    batch_stub.partial = {"c2"}  # what batch-2 answered before it stopped
    code, output, exc = _cancel(files, job, "--out", str(files["out"]))
    assert code == 0, (output, exc)
    assert batch_stub.cancels == ["batch-2"]  # the finished batch is not cancelled
    assert output.index("collecting 1 finished batch(es) first") < output.index("batch-2: cancel requested")
    assert f"provider batch job {job} is cancelled: 1 batch(es) stopped at the provider, 2 collected" in output
    records = _records(files["out"])  # c1 (finished), then c2 (finished before the cancel); c3 never answered
    assert list(records) == ["c1", "c2"]
    assert all(j["status"] == "scored" for r in records.values() for j in r["judgements"])  # type: ignore[attr-defined]
    assert card_count(files) == 2
    store = _store(files)
    try:
        state, view = load_job(store, job), get_job(store, job)
    finally:
        store.close()
    assert state.status == "cancelled" and not state.open_batches
    assert view is not None and view.status == "cancelled"

    code, output = resume(files, job)
    assert code == 1 and "was cancelled" in output and "start a new job with the same command" in output
    assert len(batch_stub.batches) == 2 and batch_stub.cancels == ["batch-2"]  # nothing sent, nothing cancelled
    new, output = submit(files, batch_stub)  # the same command does not reuse the cancelled job
    assert new != job and "still open" not in output
    assert [line["custom_id"] for line in batch_stub.inputs("batch-3")] == ["c3"]  # stored ones are not sent


def test_a_batch_still_cancelling_is_collected_by_cancelling_again(files: dict[str, Path],
                                                                    batch_stub: BatchStub) -> None:
    job, _ = submit(files, batch_stub)
    batch_stub.cancel_at_once, batch_stub.partial = False, {"c1"}
    code, output, exc = _cancel(files, job)
    assert code == 0, (output, exc)
    assert "batch-1: cancel requested, now cancelling" in output and "still cancelling" in output
    assert card_count(files) == 1  # t1 (excluded) only
    code, output = resume(files, job)
    assert code == 1 and "was cancelled" in output and f"--batch-cancel {job}" in output
    code, output, exc = _cancel(files, job)  # the provider has stopped it now: what it finished is collected
    assert code == 0 and "batch-1: cancelled" in output and "1 scored" in output, (output, exc)
    assert card_count(files) == 2 and batch_stub.cancels == ["batch-1"]
    code, output, _ = _cancel(files, job)
    assert code == 0 and "cancelled already" in output and batch_stub.cancels == ["batch-1"]


def test_a_batch_that_finishes_while_being_cancelled_is_collected(files: dict[str, Path],
                                                                  batch_stub: BatchStub) -> None:
    job, _ = submit(files, batch_stub)
    batch_stub.finish_on_cancel = True  # finished between the look and the cancel: the provider refuses (400)
    code, output, exc = _cancel(files, job)
    assert code == 0, (output, exc)
    assert "batch-1: cancel requested, now completed" in output and "3 scored" in output
    assert card_count(files) == 4 and batch_stub.cancels == ["batch-1"]


def test_cancel_with_the_provider_down_is_a_clear_error_and_changes_nothing(files: dict[str, Path],
                                                                            batch_stub: BatchStub) -> None:
    job, _ = submit(files, batch_stub)
    store = _store(files)
    try:
        state = load_job(store, job)
        state.options["api_base"] = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
        save_job(store, state)
        before = load_job(store, job).model_dump()
    finally:
        store.close()
    code, output, exc = _cancel(files, job)
    assert isinstance(exc, JudgeError) and "retrieve_batch failed" in str(exc) and "job is kept" in str(exc), output
    store = _store(files)
    try:
        assert load_job(store, job).model_dump() == before
        view = get_job(store, job)
        assert view is not None and view.status == "running"
        state = load_job(store, job)
        state.options["api_base"] = batch_stub.base_url  # the provider is back
        save_job(store, state)
    finally:
        store.close()
    assert batch_stub.cancels == []
    code, output, exc = _cancel(files, job)
    assert code == 0 and "is cancelled" in output and batch_stub.cancels == ["batch-1"], (output, exc)
