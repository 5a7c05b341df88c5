"""Benchmark: scale-out through the Celery path — `rubricate serve` (API only) + 2 `rubricate worker` processes on
PostgreSQL and Redis, fake judge plus rule criteria.

Sends N conversations at an open-loop rate (default 10,000 at 50 requests/s) and measures, in one run: ingest
latency (p50/p95/p99, from each request's scheduled time) while the workers score, conversations scored per
minute, end-to-end latency (request sent → score card stored, p50/p95), the workers' peak memory (RSS), and that
nothing was lost or scored twice (exactly one score card per conversation, counted in the database). Needs
PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379: a throwaway database (dropped at the end) and an empty
Redis database number claimed for the run (15 down to 12; the Celery keys the run made are deleted at the end), so
other tests' data is never touched. Writes bench-results/scale.json with the load average sampled through the run.

    python bench/bench_scale.py [--conversations 10000] [--rate 50] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._scale_sampling import Probe, Sampler, nice_of, uptime  # noqa: E402
from bench.bench_api import EXTRA_ENV, RUBRIC, cpu_seconds, fresh_postgres, percentile, run_load  # noqa: E402
from scorer.store import Store  # noqa: E402
from scorer.store.keys import create_key  # noqa: E402

# The fake judge answers the three model criteria; two rule criteria are answered by the rule engine in the workers.
RULE_RUBRIC = RUBRIC + """  - id: no_forbidden_phrases
    question: Did the agent keep from using any of the forbidden phrases?
    auto_fail: true
    check: {kind: phrases, forbid: ["calm down", "that's not my job"]}
  - id: named_greeting
    question: Did the agent's greeting include their own name or the company's name?
    check: {kind: phrases, require: ["my name is", "this is"], within: {first_turns: 1}}
"""
REDIS_HOST = "redis://127.0.0.1:6379"
CLAIM = "rubricate:bench-scale:claimed"


def claim_redis_db() -> tuple[str, Any]:
    """An empty Redis database number (15 down to 12) claimed for this run, and a cleanup that deletes what the
    run left there: the queue, kombu's bindings and unacked bookkeeping, the pidbox keys — never another db's."""
    import redis

    for db in range(15, 11, -1):
        client = redis.Redis.from_url(f"{REDIS_HOST}/{db}")
        if client.dbsize() == 0 and client.set(CLAIM, str(os.getpid()), nx=True, ex=6 * 3600):
            if client.dbsize() != 1:  # someone else wrote there at the same moment
                client.delete(CLAIM)
                continue

            def cleanup(client: Any = client) -> int:
                keys = list(client.scan_iter(count=1000))
                if keys:
                    client.delete(*keys)
                client.close()
                return len(keys)

            return f"{REDIS_HOST}/{db}", cleanup
        client.close()
    raise SystemExit("no empty Redis database among 12-15 to claim for the run")


def _spawn(args: list[str], env: dict[str, str], log: Path, prefix: list[str] | None = None
           ) -> subprocess.Popen[bytes]:
    # Run in the code root: ``python -c`` puts the working directory first on sys.path, ahead of PYTHONPATH, so
    # started from another checkout the server would import that checkout's code instead (--code-root).
    return subprocess.Popen([*(prefix or []), sys.executable, "-c", "from cli import main; main()", *args], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
                            cwd=env.get("PYTHONPATH") or None)


def _py_spy(pid: int, args: argparse.Namespace, tmp: Path) -> subprocess.Popen[bytes] | None:
    """Sample the API server with py-spy (``--py-spy PATH``) for the load's duration into ``--profile``."""
    if not args.py_spy:
        return None
    seconds = max(1, int(args.conversations / args.rate))
    return subprocess.Popen([args.py_spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "50", "--nonblocking",
                             "--threads", "-f", "raw", "-o", str(args.profile)], stdout=(tmp / "py-spy.log").open("w"),
                            stderr=subprocess.STDOUT)


def _wait_http(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def _count_in_database(store: Store, rule_ids: list[str]) -> tuple[list[Any], dict[str, int]]:
    """Per conversation: external id, stored at, score cards, first card's time; and database-wide counts."""
    from sqlalchemy import func, select

    from scorer.store.models import ConversationRow, JobRow, JudgementRow, ScoreCardRow

    with store.session() as s:
        rows = s.execute(select(ConversationRow.external_id, ConversationRow.created_at,
                                func.count(ScoreCardRow.id), func.min(ScoreCardRow.created_at))
                         .join(ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id, isouter=True)
                         .group_by(ConversationRow.id)).all()
        counts = {
            "judgements": s.scalar(select(func.count()).select_from(JudgementRow)) or 0,
            "rule_judgements_scored": s.scalar(select(func.count()).select_from(JudgementRow).where(
                JudgementRow.criterion_id.in_(rule_ids), JudgementRow.status == "scored")) or 0,
            "chunks_not_done": s.scalar(select(func.count()).select_from(JobRow).where(
                JobRow.kind == "score_chunk", JobRow.status != "done")) or 0,
        }
    return list(rows), counts


def run(url: str, redis_url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from sqlalchemy import func, select

    from scorer.store.models import ScoreCardRow

    store = Store(url)
    _, key = create_key(store, "admin", "bench-scale")
    queue = f"rubricate-bench-{secrets.token_hex(4)}"
    port = 18000 + secrets.randbelow(2000)
    env = {**os.environ, "RUBRICATE_DATABASE_URL": url, "RUBRICATE_DATA_DIR": str(tmp / "data"),
           "RUBRICATE_JUDGE": "fake", "RUBRICATE_BROKER_URL": redis_url, "RUBRICATE_BROKER_QUEUE": queue,
           "RUBRICATE_AUDIT_RATE": "0", "PYTHONPATH": str(args.code_root), **EXTRA_ENV}
    server = _spawn(["serve", "--port", str(port), "--log-level", "warning"], env, tmp / "serve.log")
    # --worker-nice N: start them at niceness N, their session's autogroup too (code without the worker's own
    # setting: with autogroups a process's niceness only ranks it within its session), and set the worker's own
    # RUBRICATE_WORKER_NICE=N (code with it); without it each worker runs at its code's default. Either way the
    # levels they actually ran at are read back from /proc and recorded.
    nice = ["sh", "-c", f'echo {args.worker_nice} > /proc/self/autogroup 2>/dev/null; exec nice -n '
            f'{args.worker_nice} "$0" "$@"'] if args.worker_nice else []
    worker_env = env if args.worker_nice is None else {**env, "RUBRICATE_WORKER_NICE": str(args.worker_nice)}
    workers = [_spawn(["worker", "--name", f"w{n}@%h", "--concurrency", "2", "--log-level", "WARNING"], worker_env,
                      tmp / f"w{n}.log", prefix=nice) for n in range(1, args.workers + 1)]
    base = f"http://127.0.0.1:{port}"
    sampler = Sampler([w.pid for w in workers])
    try:
        _wait_http(f"{base}/healthz", server, 60)
        httpx.post(f"{base}/v1/rubrics", content=RULE_RUBRIC, headers={"Authorization": f"Bearer {key}",
                                                                       "content-type": "application/yaml"})
        time.sleep(3)  # let the workers connect to the broker
        worker_nice = [nice_of(w.pid) for w in workers]
        sent_at = time.time()
        cpu0 = cpu_seconds(server.pid)
        spy = _py_spy(server.pid, args, tmp)
        probe = Probe(f"{base}/healthz", args.probe_rate, args.conversations / args.rate) if args.probe_rate else None
        load = run_load(base, key, args.rate, args.conversations / args.rate, warmup=0)
        cpu1 = cpu_seconds(server.pid)
        if probe is not None:
            load["probe_healthz"] = probe.result()
        if spy is not None:
            spy.wait(60)
        if cpu0 is not None and cpu1 is not None:
            load["server_cpu_ms_per_request"] = round((cpu1 - cpu0) * 1000 / max(1, load["requests"]), 2)
        deadline = time.monotonic() + (args.drain_seconds if workers else 0)
        while time.monotonic() < deadline:
            with store.session() as s:
                cards = s.scalar(select(func.count()).select_from(ScoreCardRow)) or 0
            if cards >= load["requests"] - load["errors"]:
                break
            time.sleep(1)
        time.sleep(2)  # a card stored twice would show up now
        rows, counts = _count_in_database(store, ["no_forbidden_phrases", "named_greeting"])
    finally:
        sampled = sampler.stop()
        for process in [server, *workers]:
            process.terminate()
        for process in [server, *workers]:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        store.close()

    def aware(value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    scored = [r for r in rows if r[2]]
    e2e = [(aware(r[3]) - aware(r[1])).total_seconds() for r in scored]
    finished = [aware(r[3]).timestamp() for r in scored]
    span = (max(finished) - sent_at) if finished else 0.0
    accepted = load["requests"] - load["errors"]
    return {
        "ingest": load,
        "conversations_stored": len(rows), "scored": len(scored), "database": counts,
        # lost: accepted (202) but not in the database; unscored: stored, its work still queued when the bench
        # stopped waiting (scored later by the workers, not lost)
        "lost": max(0, accepted - len(rows)), "unscored_when_stopped": len(rows) - len(scored),
        "scored_twice": sum(1 for r in rows if r[2] > 1),
        "scored_per_minute": round(len(scored) / span * 60, 1) if span else None,
        "worker_nice_measured": worker_nice,
        "end_to_end_s": {"p50": round(percentile(e2e, 50), 2), "p95": round(percentile(e2e, 95), 2),
                         "mean": round(statistics.fmean(e2e), 2), "max": round(max(e2e), 2)} if e2e else None,
        **sampled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="Requests per second (open loop).")
    parser.add_argument("--drain-seconds", type=float, default=600.0, help="Most seconds to wait for scoring.")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (0: ingest alone, nothing "
                        "is scored; the scoring checks are then skipped).")
    parser.add_argument("--worker-nice", type=int, default=None, help="Run the workers at this nice level (the "
                        "API keeps priority on a machine they share, as on separate hosts); default: the worker's "
                        "own default (RUBRICATE_WORKER_NICE, 10 since `rubricate worker --nice`; 0 before).")
    parser.add_argument("--probe-rate", type=float, default=0.0, help="Also send GET /healthz (no key, body or "
                        "database) at this rate during the load: the HTTP stack's floor under the same load.")
    parser.add_argument("--code-root", type=Path, default=ROOT, help="Checkout whose rubricate the server and "
                        "workers run (e.g. another branch's worktree, for a before/after comparison).")
    parser.add_argument("--py-spy", default=None, help="py-spy executable: profile the API server during the load")
    parser.add_argument("--profile", type=Path, default=ROOT / "bench-results" / "scale-server.pyspy.txt",
                        help="where --py-spy writes its samples (collapsed stacks)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "scale.json")
    args = parser.parse_args()
    pg = fresh_postgres()
    if pg is None:
        raise SystemExit("PostgreSQL on 127.0.0.1:5432 is needed for this benchmark")
    url, drop = pg
    before = uptime()
    print(f"start: {before}")
    try:
        redis_url, clean_redis = claim_redis_db()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                result = run(url, redis_url, args, Path(tmp))
        finally:
            print(f"Redis {redis_url}: deleted the run's {clean_redis()} key(s)")
    finally:
        drop()
    result.update({"cpus": os.cpu_count(), "uptime_before": before, "uptime_after": uptime(),
                   "workers": args.workers, "worker_threads": 2, "worker_nice_asked": args.worker_nice,
                   "judge": "fake + 2 rule criteria", "rate": args.rate, "extra_env": EXTRA_ENV,
                   "code_root": str(args.code_root)})
    lat = result["ingest"]["latency_ms"]
    probe = f"healthz probe {result['ingest']['probe_healthz']['latency_ms']}; " if args.probe_rate else ""
    print(f"{result['ingest']['requests']} conversations at {result['ingest']['achieved_rate']}/s: ingest p50 "
          f"{lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms ({result['ingest']['errors']} errors); "
          f"{result['scored']} scored ({result['unscored_when_stopped']} stored but not yet scored when the bench "
          f"stopped waiting, {result['lost']} lost, {result['scored_twice']} scored twice), "
          f"{result['scored_per_minute']} scored/min, end-to-end {result['end_to_end_s']}, worker peak RSS "
          f"{result['worker_peak_rss_mb']} MB; workers at nice (own/autogroup) "
          f"{result['worker_nice_measured']}; "
          f"{probe}1-min load average during the run {result['load_1min']}; "
          f"after: {result['uptime_after']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
