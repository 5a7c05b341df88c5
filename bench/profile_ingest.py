"""Profile: where one ingest request's time goes on the Celery path (PostgreSQL + Redis), stage by stage.

Runs the ingest request path in this process, sequentially, without HTTP and without workers, so nothing competes
for the CPU but the databases: the API-key check, the broker check, the ingest transaction (conversation, job,
chunk), the publish to Redis and the chunk's status update after it. Each stage is timed by wrapping the function
the route calls; prints the median and p95 per stage and the SQL statements the request sends (counted with a
SQLAlchemy event). Both hand-over modes are timed in alternating blocks, side by side: the request publishing its
chunk itself (as before) and the dispatcher thread doing it. Uses a throwaway PostgreSQL database and a claimed
empty Redis database (as bench_scale). Besides wall time, the CPU time of the request's own thread
(``time.thread_time``) is recorded per request: what caps the API's throughput on a busy machine.

``--code-root A --code-root B`` compares checkouts (e.g. main's and this branch's) side by side: this script runs
once per checkout in a child process importing that checkout's code, alternating, ``--rounds`` times each.
``--cprofile PATH`` writes a cProfile of the request thread (dispatcher mode) for ``pstats``.

    python bench/profile_ingest.py [--requests 400] [--json PATH]
    python bench/profile_ingest.py --requests 200 --rounds 3 --code-root /work/main --code-root . --json PATH
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("PROFILE_CODE_ROOT") or Path(__file__).resolve().parent.parent).resolve()
sys.path.insert(0, str(ROOT))

from bench.bench_api import conversation, fresh_postgres, percentile  # noqa: E402
from bench.bench_scale import RULE_RUBRIC, claim_redis_db, uptime  # noqa: E402

Timings = dict[str, list[float]]


def timed(owner: Any, name: str, stage: str, timings: Timings) -> None:
    """Replace ``owner.name`` with a wrapper adding its wall time to ``timings[stage]`` (this process only); a
    name the checkout does not have is skipped (another checkout may split its stages differently)."""
    original: Callable[..., Any] | None = getattr(owner, name, None)
    if original is None:
        return

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings[stage].append((time.perf_counter() - t0) * 1000)

    setattr(owner, name, wrapper)


MODES = ("publish in the request", "publish from the dispatcher thread")


def profile(url: str, redis_url: str, requests: int, block: int = 25, cprofile: Path | None = None
            ) -> dict[str, Any]:
    """Time the request path in both hand-over modes, alternating blocks of ``block`` requests (so drifting load
    on the machine hits both alike): the request publishing and flipping its chunk to queued itself (what
    ``hand_over`` does when no dispatcher runs, and did always before), and handing the chunk to the dispatcher."""
    from sqlalchemy import event

    import api.auth
    import api.jobs.broker
    import api.routers.conversations as route
    import api.state
    from api.schemas.conversations import IngestRequest
    from api.state import ServiceState
    from scorer.rubric import parse_rubric
    from scorer.settings import Settings
    from scorer.store.keys import create_key

    settings = Settings(database_url=url, broker_url=redis_url, judge="fake",
                        broker_queue=f"rubricate-profile-{secrets.token_hex(4)}")
    state = ServiceState(settings)
    store = state.store.get()
    store.save_rubric(parse_rubric(RULE_RUBRIC))
    _, secret = create_key(store, "ingest", "profile")
    statements = [0]
    me = threading.get_ident()

    def count(*_: Any, **__: Any) -> None:  # statements sent by the request (this thread), not the dispatcher's
        if threading.get_ident() == me:
            statements[0] += 1

    event.listen(store.engine, "before_cursor_execute", count)
    timings: Timings = defaultdict(list)
    timed(api.state.ServiceState, "check_broker", "broker check (Redis ping)", timings)
    timed(route, "_commit", "ingest transaction", timings)
    timed(api.state, "set_chunk_status", "chunk status -> queued, in the request", timings)
    timed(api.auth, "verify_key", "API key check", timings)
    timed(api.jobs.broker.Dispatcher, "publish_submitted", "dispatcher: publish + status (off the request path)",
          timings)
    assert state.publisher is not None
    timed(state.publisher, "publish", "publish to Redis (either thread)", timings)
    results: dict[str, dict[str, list[float]]] = {m: {"total": [], "cpu": [], "statements": []} for m in MODES}
    profiler = cProfile.Profile(time.thread_time) if cprofile else None  # CPU time, not waits
    stage_by_mode: dict[str, Timings] = {m: defaultdict(list) for m in MODES}
    dispatcher = api.jobs.broker.Dispatcher(state.store, state.publisher, interval=3600)
    index = 0
    try:
        dispatcher.start()
        for round_ in range(-1, requests // (2 * block)):
            for mode in MODES:
                state.dispatcher = dispatcher if mode == MODES[1] else None
                for values in timings.values():
                    values.clear()
                for _ in range(block):
                    body = IngestRequest.model_validate({"rubric_id": "bench",
                                                         "conversation": conversation(f"p-{index}")})
                    index += 1
                    measured = round_ >= 0  # round -1 warms both paths up (connections, caches)
                    if profiler is not None and measured and mode == MODES[1]:
                        profiler.enable()
                    before, t0, c0 = statements[0], time.perf_counter(), time.thread_time()
                    key = api.auth.verify_key(store, secret)
                    assert key is not None
                    route._ingest(body, key, state, None)
                    cpu, elapsed = (time.thread_time() - c0) * 1000, (time.perf_counter() - t0) * 1000
                    if profiler is not None:
                        profiler.disable()
                    sent = statements[0] - before
                    if measured:
                        results[mode]["total"].append(elapsed)
                        results[mode]["cpu"].append(cpu)
                        results[mode]["statements"].append(sent)
                time.sleep(0.2)  # let the dispatcher catch up before the next block
                if round_ >= 0:
                    for stage, values in timings.items():
                        stage_by_mode[mode][stage].extend(values)
    finally:
        state.dispatcher = None
        dispatcher.stop()
        state.stop()
        store.close()
    if profiler is not None and cprofile is not None:
        profiler.dump_stats(str(cprofile))

    def summary(values: list[float]) -> dict[str, float]:
        return {"p50": round(statistics.median(values), 2), "p95": round(percentile(values, 95), 2),
                "mean": round(statistics.fmean(values), 2)}

    return {"requests_per_mode": len(results[MODES[0]]["total"]), "modes": {
        mode: {"request_ms": summary(r["total"]), "request_thread_cpu_ms": summary(r["cpu"]),
               "samples": {"request_ms": r["total"], "cpu_ms": r["cpu"]},
               "sql_statements_in_request": statistics.median(r["statements"]),
               "stages_ms": {stage: summary(v) for stage, v in stage_by_mode[mode].items() if v}}
        for mode, r in results.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--cprofile", type=Path, default=None, help="write a cProfile of the request thread")
    parser.add_argument("--code-root", type=Path, action="append", default=[],
                        help="a checkout to profile (repeat to compare; runs alternate in child processes)")
    parser.add_argument("--rounds", type=int, default=3, help="with --code-root: runs per checkout")
    args = parser.parse_args()
    if args.code_root:
        result = compare([p.resolve() for p in args.code_root], args.requests, args.rounds)
    else:
        result = run_here(args.requests, args.cprofile)
    print(json.dumps(_without_samples(result), indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


def _without_samples(result: Any) -> Any:
    if isinstance(result, dict):
        return {k: _without_samples(v) for k, v in result.items() if k != "samples"}
    if isinstance(result, list):
        return [_without_samples(v) for v in result]
    return result


def compare(roots: list[Path], requests: int, rounds: int) -> dict[str, Any]:
    """Run this script on each checkout in turn, ``rounds`` times, and pool each checkout's per-request samples."""
    pooled: dict[str, dict[str, dict[str, list[float]]]] = {str(r): defaultdict(lambda: defaultdict(list))
                                                            for r in roots}
    runs: list[dict[str, Any]] = []
    before = uptime()
    for round_ in range(rounds):
        for root in roots:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "child.json"
                env = {**os.environ, "PROFILE_CODE_ROOT": str(root), "PYTHONPATH": str(root)}
                subprocess.run([sys.executable, str(Path(__file__).resolve()), "--requests", str(requests),
                                "--json", str(out)], env=env, check=True, stdout=subprocess.DEVNULL)
                child = json.loads(out.read_text())
            for mode, found in child["modes"].items():
                for name, values in found["samples"].items():
                    pooled[str(root)][mode][name].extend(values)
            runs.append({"round": round_, "code_root": str(root), "uptime_after": child["uptime_after"],
                         "modes": {m: {"request_ms": f["request_ms"], "request_thread_cpu_ms":
                                       f["request_thread_cpu_ms"], "sql_statements_in_request":
                                       f["sql_statements_in_request"]} for m, f in child["modes"].items()}})
    pooled_summary = {root: {mode: {name: _summary(values) for name, values in found.items()}
                             for mode, found in modes.items()} for root, modes in pooled.items()}
    return {"requests_per_mode_per_run": requests // 2, "rounds": rounds, "pooled": pooled_summary, "runs": runs,
            "uptime_before": before, "uptime_after": uptime()}


def _summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": round(statistics.median(values), 2), "p95": round(percentile(values, 95), 2),
            "mean": round(statistics.fmean(values), 2)}


def run_here(requests: int, cprofile: Path | None) -> dict[str, Any]:
    """Profile this process's checkout on a throwaway PostgreSQL database and a claimed Redis database."""
    pg = fresh_postgres()
    if pg is None:
        raise SystemExit("PostgreSQL on 127.0.0.1:5432 is needed")
    url, drop = pg
    before = uptime()
    try:
        redis_url, clean = claim_redis_db()
        try:
            result = profile(url, redis_url, requests, cprofile=cprofile)
        finally:
            clean()
    finally:
        drop()
    result.update({"code_root": str(ROOT), "uptime_before": before, "uptime_after": uptime()})
    return result


if __name__ == "__main__":
    main()
