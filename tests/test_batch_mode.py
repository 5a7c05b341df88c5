"""``rubricate score --batch`` against a loopback fake of the OpenAI files + batches API (real HTTP, litellm's own
batch calls): submit → not ready → collected as online, priced at the batch rates; resume by job id stores each
card once; error-file lines and expired requests stay unscored and are submitted again; other judges are refused."""

from __future__ import annotations

import json
from pathlib import Path

import litellm
import pytest

from scorer._errors import JudgeError
from scorer.batch import load_job
from scorer.batch.jobs import save_job
from scorer.batch.provider import split_lines
from scorer.judges import JudgeOptions
from scorer.judges.hosted import HostedJudge
from scorer.redact import Redactor
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


def test_submit_wait_collect_matches_online_at_batch_prices(files: dict[str, Path], batch_stub: BatchStub) -> None:
    job, output = submit(files, batch_stub, "--out", str(files["out"]))
    assert "batch-resume" in output and len(batch_stub.batches) == 1
    assert "1 excluded by eligibility rules (1 tag:test)" in output and card_count(files) == 1
    assert json.loads(files["out"].read_text())["status"] == "excluded"
    lines = batch_stub.inputs("batch-1")
    assert [line["custom_id"] for line in lines] == ["c1", "c2", "c3"]
    judge = HostedJudge("openai/gpt-4o-mini", JudgeOptions())
    rubric = load_rubric(files["rubric"])
    asked = [c for c in rubric.criteria if c.check is None]
    redacted, _ = Redactor({}).redact(Conversation.model_validate(conversation_record("c1")))
    body = lines[0]["body"]
    assert body["messages"] == judge.messages(redacted, asked)  # the online request, PII redacted
    assert "ann.lee@example.com" not in json.dumps(lines)
    shape = judge.request_shape(asked)
    assert body["max_tokens"] == shape["max_tokens"] and body["response_format"] == shape["response_format"]
    assert body["model"] == "gpt-4o-mini" and body["logprobs"] is True
    assert 'question id="name"' not in body["messages"][1]["content"]  # a rule criterion never reaches the model

    code, output = resume(files, job)
    assert code == 0 and "not ready, run again later" in output and "in_progress" in output
    assert card_count(files) == 1

    batch_stub.ready = True
    code, output = resume(files, job, "--out", str(files["out"]))
    assert code == 0, output
    assert "3 scored" in output and "is done" in output and card_count(files) == 4
    batched = {r["conversation_id"]: r for r in map(json.loads, files["out"].read_text().splitlines())}

    code, output, exc = run_cli("score", str(files["convs"]), "--rubric", str(files["rubric"]), "--judge", MODEL,
                             "--api-base", batch_stub.base_url, "--db", f"sqlite:///{files['online']}",
                             "--out", str(files["online_out"]))
    assert code == 0, (output, exc)
    online = {r["conversation_id"]: r for r in map(json.loads, files["online_out"].read_text().splitlines())}
    prices = litellm.model_cost["gpt-4o-mini"]
    for cid, record in batched.items():
        for b, o in zip(record["judgements"], online[cid]["judgements"], strict=True):
            assert (b["answer"], b["evidence"], b["confidence"]) == (o["answer"], o["evidence"], o["confidence"])
            assert b["evidence"] and b["status"] == "scored"
        usage = record["usage"]
        assert usage["priced_as"] == "openai/gpt-4o-mini (batch)"
        batch_price = (usage["prompt_tokens"] * prices["input_cost_per_token_batches"]
                       + usage["completion_tokens"] * prices["output_cost_per_token_batches"])
        assert usage["cost_usd"] == pytest.approx(batch_price)
        assert usage["cost_usd"] < online[cid]["usage"]["cost_usd"]

    assert "is done" in resume(files, job)[1]
    _, output = submit(files, batch_stub)  # everything stored: nothing is sent again
    assert "nothing to submit" in output and len(batch_stub.batches) == 1


def test_a_stopped_process_resumes_by_job_id_and_stores_each_card_once(files: dict[str, Path],
                                                                        batch_stub: BatchStub) -> None:
    job, _ = submit(files, batch_stub)
    batch_stub.ready = True
    _, output = submit(files, batch_stub)  # the same command again finds the open job instead of submitting
    assert "still open" in output and "3 scored" in output and len(batch_stub.batches) == 1
    store = Store(f"sqlite:///{files['db']}")
    try:  # as if the process had stopped after storing the cards, before marking the batch collected
        state = load_job(store, job)
        state.batches[0].collected, state.status = False, "running"
        save_job(store, state)
    finally:
        store.close()
    code, output = resume(files, job)
    assert code == 0 and "0 scored, 3 already stored" in output and "is done" in output
    assert card_count(files) == 4 and len(batch_stub.batches) == 1
    store = Store(f"sqlite:///{files['db']}")
    try:  # the jobs view (API, `rubricate jobs`) shows the batch job's own status and counts
        view = get_job(store, job)
    finally:
        store.close()
    assert view is not None and (view.kind, view.status, view.total, view.done, view.failed) == (
        "provider_batch", "done", 4, 4, 0)


@pytest.mark.parametrize(("trouble", "reason"), [("fail", "the request was refused"),
                                                  ("drop", "the batch ended expired")])
def test_failed_and_expired_requests_stay_unscored_and_are_submitted_again(
        files: dict[str, Path], batch_stub: BatchStub, trouble: str, reason: str) -> None:
    job, _ = submit(files, batch_stub)
    getattr(batch_stub, trouble).add("c2")
    batch_stub.ready = True
    code, output = resume(files, job, "--out", str(files["out"]))
    assert code == 1 and "2 unscored judgement(s)" in output
    records = {r["conversation_id"]: r for r in map(json.loads, files["out"].read_text().splitlines())}
    assert all(j["status"] == "scored" for j in records["c1"]["judgements"] + records["c3"]["judgements"])
    c2 = {j["criterion_id"]: j for j in records["c2"]["judgements"]}
    assert all(c2[cid]["status"] == "unscored" and reason in c2[cid]["reason"] for cid in ("greet", "solve"))
    assert c2["name"]["status"] == "scored"  # the rule criterion needs no reply
    assert "submitted again" in output and len(batch_stub.batches) == 2
    assert [line["custom_id"] for line in batch_stub.inputs("batch-2")] == ["c2"]

    getattr(batch_stub, trouble).clear()
    code, output = resume(files, job)
    assert code == 0 and "1 scored" in output and "is done" in output
    assert card_count(files) == 4


@pytest.mark.parametrize(("judge", "why"), [("litellm/anthropic/claude-3-5-haiku-20241022", "Anthropic"),
                                             ("fake", "does not call a provider's API")])
def test_batch_with_a_judge_that_cannot_batch_is_a_clear_error(files: dict[str, Path], judge: str, why: str) -> None:
    _, output, exc = run_cli("score", str(files["convs"]), "--rubric", str(files["rubric"]), "--judge", judge,
                          "--db", f"sqlite:///{files['db']}", "--batch")
    assert isinstance(exc, JudgeError), output
    assert why in str(exc) and "litellm/openai/gpt-4o-mini" in str(exc)


def test_request_files_are_split_at_the_provider_limits() -> None:
    lines = [(f"c{n}", b"x" * 10 + b"\n") for n in range(5)]
    assert [[cid for cid, _ in part] for part in split_lines(lines, max_requests=2)] == [
        ["c0", "c1"], ["c2", "c3"], ["c4"]]
    assert [len(part) for part in split_lines(lines, max_bytes=25)] == [2, 2, 1]
    assert [len(part) for part in split_lines(lines, max_bytes=5)] == [1, 1, 1, 1, 1]  # one line always goes


def test_a_submission_that_fails_keeps_the_job_and_the_same_command_submits_it(files: dict[str, Path],
                                                                                batch_stub: BatchStub) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    _, output, exc = run_cli("score", str(files["convs"]), "--rubric", str(files["rubric"]), "--judge", MODEL,
                          "--api-base", down, "--db", f"sqlite:///{files['db']}", "--batch")
    assert isinstance(exc, JudgeError) and "create_file failed" in str(exc), output
    assert "provider batch job 1 recorded" in output
    job, output = submit(files, batch_stub)  # the same command, with the server back, goes on with job 1
    assert job == 1 and "still open" in output and len(batch_stub.batches) == 1
    batch_stub.ready = True
    code, output = resume(files, job)  # by id: the job now holds the working --api-base
    assert code == 0 and "3 scored" in output and card_count(files) == 4
