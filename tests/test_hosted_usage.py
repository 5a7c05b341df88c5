"""Hosted calls at scale: request shaping for small served models, token/cost accounting, budget, adaptive
concurrency — against the project's real OpenAI-compatible HTTP stub."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from scorer.judges import JudgeOptions
from scorer.judges._concurrency import AdaptiveLimit, limiter_stats
from scorer.judges._hosted_parse import parse_reply
from scorer.judges.hosted import HostedJudge
from scorer.pipeline import BatchSummary, score_batch, score_conversation
from scorer.rubric import parse_rubric
from scorer.store import Store
from scorer.types import Conversation
from scorer.usage import Budget, Usage, record, recording
from tests.openai_stub_server import _CACHED, StubServer

RUBRIC = parse_rubric("""
id: usage
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
  - {id: solve, question: "Did the agent offer a solution?", scale: yes_no_na}
""")


def _conv(n: int) -> Conversation:
    return Conversation(id=f"u{n}", turns=[
        {"speaker": "customer", "text": f"My card number {n} is blocked"},
        {"speaker": "agent", "text": "Hello, I'm Ana from the bank. I have unblocked your card just now."}])


def _judge(stub: StubServer, model: str, **options: object) -> HostedJudge:
    opts = JudgeOptions(**{"api_base": stub.base_url, "timeout": 5.0, "max_retries": 2, **options})  # type: ignore[arg-type]
    return HostedJudge(f"openai/{model}", opts, backoff=0.01)


def test_request_is_schema_constrained_capped_and_sized_by_questions(openai_stub: StubServer) -> None:
    judge = _judge(openai_stub, "good", reasoning_tokens=40, timeout=2.0)
    assert judge.request_shape(RUBRIC.criteria)["timeout"] == 2.0 + 2 * 5.0  # sized by the number of questions
    card, _ = score_conversation(_conv(1), RUBRIC, judge)
    body = openai_stub.requests[-1]
    schema = body["response_format"]["json_schema"]["schema"]
    items = schema["properties"]["judgements"]["properties"]
    assert list(items) == ["greet", "solve"]
    assert items["solve"]["properties"]["answer"]["enum"] == ["no", "yes", "na"]
    assert items["greet"]["properties"]["reasoning"]["maxLength"] == 160
    assert body["max_tokens"] == 24 + 2 * (40 + 30 + 60)
    assert [j.answer for j in card.judgements] == ["yes", "yes"]  # the keyed reply form parses
    assert card.judgements[0].confidence_kind == "logprob" and card.judgements[0].evidence


def test_llama_cpp_python_dialect_and_no_response_format(openai_stub: StubServer) -> None:
    _judge(openai_stub, "good", response_format="json_object_schema").judge(_conv(2), RUBRIC.criteria)
    fmt = openai_stub.requests[-1]["response_format"]
    assert fmt["type"] == "json_object" and "judgements" in fmt["schema"]["properties"]
    _judge(openai_stub, "good", response_format="none").judge(_conv(2), RUBRIC.criteria)
    assert "response_format" not in openai_stub.requests[-1]


def test_short_answer_mode_reads_the_answer_from_logprobs(openai_stub: StubServer) -> None:
    judge = _judge(openai_stub, "good", short_answers=True)
    greet, solve = judge.judge(_conv(3), RUBRIC.criteria)
    assert solve.status == "scored"
    body = openai_stub.requests[-1]
    answers = body["response_format"]["json_schema"]["schema"]["properties"]["answers"]
    # mixed scales (yes/no and yes/no/na): each position gets its own answers
    assert answers["prefixItems"] == [{"type": "string", "enum": ["no", "yes"]},
                                      {"type": "string", "enum": ["no", "yes", "na"]}]
    assert answers["minItems"] == answers["maxItems"] == 2
    assert body["max_tokens"] == 24 + 2 * 8
    prompt = body["messages"][1]["content"]
    assert "think first" not in prompt and '{"answers": ["<answer to greet>", "<answer to solve>"]}' in prompt
    assert greet.answer == "yes" and greet.confidence_kind == "logprob" and 0.5 < (greet.confidence or 0) < 1
    assert solve.answer == "yes" and solve.probabilities.keys() == {"yes", "no", "na"}
    assert greet.rationale.startswith("short-answer mode") and not greet.proposed_quotes
    same = parse_rubric("id: s\ncriteria:\n  - {id: a, question: 'A?'}\n  - {id: b, question: 'B?'}\n")
    judge.judge(_conv(4), same.criteria)
    answers = openai_stub.requests[-1]["response_format"]["json_schema"]["schema"]["properties"]["answers"]
    assert answers["items"] == {"type": "string", "enum": ["no", "yes"]} and "prefixItems" not in answers


def test_short_answers_are_checked_against_each_questions_scale() -> None:
    from scorer.judges._hosted_parse import parse_reply

    items = parse_reply('{"answers": ["na", "yes", "no"]}', ["greet", "solve"])
    assert items == [{"id": "greet", "answer": "na"}, {"id": "solve", "answer": "yes"}]  # the extra one is dropped
    assert parse_reply('{"answers": ["yes"]}', ["greet", "solve"]) == [{"id": "greet", "answer": "yes"}]


def test_short_answer_outside_the_scale_or_missing_is_unscored(openai_stub: StubServer) -> None:
    openai_stub.scripted = {"greet": {"answer": "na"}}  # a yes/no question answered "na"; "solve" left out
    try:
        greet, solve = _judge(openai_stub, "scripted", short_answers=True).judge(_conv(5), RUBRIC.criteria)
    finally:
        openai_stub.scripted = {}
    assert greet.status == "unscored" and "'na'" in (greet.reason or "")
    assert solve.status == "unscored" and "did not answer" in (solve.reason or "")


def test_repeating_parts_come_first_and_the_transcript_last(openai_stub: StubServer) -> None:
    judge = _judge(openai_stub, "good")
    a, b = (judge.messages(_conv(n), RUBRIC.criteria) for n in (10, 11))
    assert a[0] == b[0]
    user_a, user_b = a[1]["content"], b[1]["content"]
    assert user_a.index("</questions>") < user_a.index("<transcript")
    assert user_a.rstrip().endswith("</transcript>")
    shared = user_a[: user_a.index("<transcript")]
    assert user_b.startswith(shared) and "number 10" not in shared


def test_tokens_cached_tokens_and_cost_per_card_and_batch(openai_stub: StubServer, tmp_path: object) -> None:
    import litellm

    judge = _judge(openai_stub, "gpt-4o-mini")
    store = Store(f"sqlite:///{tmp_path}/u.db")
    summary = BatchSummary()
    for item in score_batch([_conv(20), _conv(21)], RUBRIC, judge, store=store):
        summary.add(item)
    cards = [store.find_score_card(_conv(n), RUBRIC, judge.id) for n in (20, 21)]
    prices = litellm.model_cost["gpt-4o-mini"]
    for card in cards:
        assert card is not None and card.usage is not None  # stored and read back
        u = card.usage
        assert u.calls == 1 and u.prompt_tokens > 100 and u.completion_tokens > 10
        expected = ((u.prompt_tokens - u.cached_tokens) * prices["input_cost_per_token"]
                    + u.cached_tokens * prices["cache_read_input_token_cost"]
                    + u.completion_tokens * prices["output_cost_per_token"])
        assert u.cost_usd == pytest.approx(expected) and u.priced_as
    assert {c.usage.cached_tokens for c in cards if c and c.usage} == {0, _CACHED}
    assert summary.usage.calls == 2
    assert summary.usage.cost_usd == pytest.approx(sum(c.usage.cost_usd for c in cards if c and c.usage))
    again = list(score_batch([_conv(20)], RUBRIC, judge, store=store))  # read back: no call, nothing spent
    assert again[0].cached and openai_stub.counts["gpt-4o-mini"] == 2
    store.close()


def test_unknown_price_is_none_and_price_as_prices_it(openai_stub: StubServer) -> None:
    with recording() as usage:
        _judge(openai_stub, "good").judge(_conv(30), RUBRIC.criteria)
    assert usage.calls == 1 and usage.prompt_tokens > 0 and usage.cost_usd is None
    with recording() as priced:
        _judge(openai_stub, "good", price_as="gpt-4o-mini").judge(_conv(30), RUBRIC.criteria)
    assert priced.cost_usd is not None and priced.cost_usd > 0 and priced.priced_as == "gpt-4o-mini"


def test_budget_stops_dispatching_and_says_why(openai_stub: StubServer) -> None:
    budget = Budget(1e-9)
    items = list(score_batch([_conv(n) for n in range(40, 45)], RUBRIC, _judge(openai_stub, "gpt-4o-mini"),
                             budget=budget))
    assert len(items) == 1 and budget.stopped and "budget" in budget.stopped
    unknown = Budget(100.0)
    items = list(score_batch([_conv(n) for n in range(46, 49)], RUBRIC, _judge(openai_stub, "good"),
                             budget=unknown))
    assert len(items) == 1 and unknown.stopped and "price is unknown" in unknown.stopped


def test_recording_is_per_thread_and_nests() -> None:
    seen: dict[str, int] = {}

    def work(name: str, calls: int) -> None:
        with recording() as usage:
            for _ in range(calls):
                record(Usage(calls=1, prompt_tokens=10))
        seen[name] = usage.calls

    threads = [threading.Thread(target=work, args=(f"t{n}", n)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"t1": 1, "t2": 2, "t3": 3, "t4": 4}
    with recording() as outer:
        with recording() as inner:
            record(Usage(calls=1, cost_usd=0.5))
        record(Usage(calls=1, cost_usd=None))
    assert inner.cost_usd == 0.5 and outer.calls == 2 and outer.cost_usd is None


def test_adaptive_limit_halves_on_throttling_and_grows_back() -> None:
    limit = AdaptiveLimit(8)
    limit.throttled_by_server()
    limit.throttled_by_server()
    assert limit.limit == 2 and limit.stats()["throttled"] == 2
    for _ in range(2):
        limit.succeeded()
    assert limit.limit == 3
    for _ in range(100):
        limit.succeeded()
    assert limit.limit == 8  # bounded
    for _ in range(10):
        limit.throttled_by_server()
    assert limit.limit == 1 and limit.stats()["lowest"] == 1


def test_rate_limits_shrink_the_shared_limiter(openai_stub: StubServer) -> None:
    judge = _judge(openai_stub, "ratelimit-then-ok", max_concurrency=4)
    judge.judge(_conv(50), RUBRIC.criteria)
    stats = limiter_stats()[f"openai/ratelimit-then-ok@{openai_stub.base_url}"]
    assert stats["throttled"] == 2 and stats["lowest"] == 1 and stats["maximum"] == 4


def test_parse_reply_accepts_both_forms() -> None:
    assert parse_reply('{"judgements": {"a": {"answer": "yes"}}}') == [{"id": "a", "answer": "yes"}]
    assert parse_reply('{"judgements": [{"id": "a", "answer": "no"}]}') == [{"id": "a", "answer": "no"}]


def test_job_sums_usage_shows_concurrency_and_keeps_its_budget(openai_stub: StubServer, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from api.jobs.runner import work_on
    from api.jobs.runtime import JobRuntime
    from scorer.store.jobs import create_job, get_job
    from tests._api_fixtures import make_settings

    monkeypatch.setenv("OPENAI_API_BASE", openai_stub.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "not-needed")
    settings = make_settings(tmp_path)
    runtime = JobRuntime(settings)
    store = runtime.store.get()
    store.save_rubric(RUBRIC)
    convs = [_conv(n) for n in range(60, 66)]
    for conv in convs:
        store.save_conversation(conv)
    ids = {}
    for name, budget, part in (("open", None, convs[:2]), ("capped", 1e-9, convs[2:])):
        with store.session() as s:
            ids[name], _ = create_job(s, kind="rescore", rubric_id=RUBRIC.id, rubric_version=RUBRIC.version,
                                      judge="litellm/openai/gpt-4o-mini", conversation_ids=[c.id for c in part],
                                      chunk_size=10, max_cost_usd=budget)
    while work_on(runtime, "w-test") is not None:
        pass
    open_job, capped = get_job(store, ids["open"]), get_job(store, ids["capped"])
    assert open_job is not None and capped is not None
    assert open_job.done == 2 and open_job.usage is not None and open_job.usage["calls"] == 2
    assert open_job.usage["cost_usd"] > 0 and open_job.usage["prompt_tokens"] > 100
    assert any("gpt-4o-mini" in key for stats in open_job.concurrency.values() for key in stats)
    assert capped.done == 1 and capped.failed == 3 and capped.usage and capped.usage["calls"] == 1
    assert all("budget" in e for e in capped.errors) and len(capped.errors) == 3
    runtime.close()


def test_peers_bench_proxy_bridges_json_schema_and_meters(openai_stub: StubServer) -> None:
    from bench.peers.proxy import Proxy

    with Proxy(openai_stub.base_url.removesuffix("/v1"), max_tokens=99) as proxy:
        proxy.meter.label = "rubricate"
        judge = HostedJudge("openai/good", JudgeOptions(api_base=proxy.url, max_retries=0))
        greet, _ = judge.judge(_conv(70), RUBRIC.criteria)
        body = openai_stub.requests[-1]
        assert body["response_format"]["type"] == "json_object" and "schema" in body["response_format"]
        assert greet.answer == "yes"
        counts = proxy.meter.get("rubricate")
        assert counts["calls"] == 1 and counts["bridged_response_format"] == 1 and counts["prompt_tokens"] > 0


def test_cli_max_cost_stops_and_show_prints_usage(openai_stub: StubServer, tmp_path: Path) -> None:
    import json as _json

    from typer.testing import CliRunner

    from cli import build_app

    rubric = tmp_path / "r.yaml"
    rubric.write_text("id: usage\ncriteria:\n  - {id: greet, question: \"Did the agent greet the customer?\"}\n")
    data = tmp_path / "c.jsonl"
    data.write_text("".join(_json.dumps(_conv(n).model_dump(mode="json")) + "\n" for n in range(80, 84)))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(build_app(), [
        "score", str(data), "--rubric", str(rubric), "--judge", "litellm/openai/gpt-4o-mini", "--api-base",
        openai_stub.base_url, "--max-cost", "0.0000001", "--no-store", "--out", str(out)])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "stopped:" in text and "budget" in text and "3 conversation(s) not started" in text
    assert "model usage: 1 call(s)" in text
    record = _json.loads(out.read_text().splitlines()[0])
    assert record["usage"]["calls"] == 1 and record["usage"]["cost_usd"] > 0
    shown = CliRunner().invoke(build_app(), ["show", str(out)])
    assert "model usage: 1 call(s)" in " ".join(shown.output.split()) and shown.exit_code == 0
    summary = CliRunner().invoke(build_app(), ["show", str(out), "--summary"])
    assert "total model usage over 1 conversation(s): 1 call(s)" in " ".join(summary.output.split())
    assert summary.exit_code == 0


def test_logprobs_can_be_turned_off_for_servers_where_they_are_slow(openai_stub: StubServer) -> None:
    greet, solve = _judge(openai_stub, "good", short_answers=True, logprobs=False).judge(_conv(6), RUBRIC.criteria)
    body = openai_stub.requests[-1]
    assert "logprobs" not in body and "top_logprobs" not in body
    assert (greet.answer, solve.answer) == ("yes", "yes")
    assert greet.confidence_kind == "none" and greet.confidence is None  # nothing to read a confidence from
    _judge(openai_stub, "good", short_answers=True).judge(_conv(6), RUBRIC.criteria)
    assert openai_stub.requests[-1]["logprobs"] is True  # the default asks for them
