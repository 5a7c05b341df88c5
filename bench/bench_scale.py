"""Benchmark: scale-out through the Celery path — `rubricate serve` (API only) + 2 `rubricate worker` processes on
PostgreSQL and Redis, fake judge.

Sends N conversations at an open-loop rate (default 10,000 at 50 requests/s) and measures, in one run: ingest
latency (p50/p95/p99, from each request's scheduled time) while the workers score, conversations scored per
minute, end-to-end latency (request sent → score card stored, p50/p95), the workers' peak memory (RSS), and that
nothing was lost or scored twice (exactly one score card per conversation). Needs PostgreSQL on 127.0.0.1:5432 and
Redis on 127.0.0.1:6379; a fresh database and a private queue are used and removed. Writes bench-results/scale.json.

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

from bench.bench_api import RUBRIC, cpu_seconds, fresh_postgres, percentile, run_load  # noqa: E402
from scorer.store import Store  # noqa: E402
from scorer.store.keys import create_key  # noqa: E402

REDIS = "redis://127.0.0.1:6379/12"


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process (Linux /proc), MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "from cli import main; main()", *args], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


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


def run(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from sqlalchemy import func, select

    from scorer.store.models import ConversationRow, ScoreCardRow

    store = Store(url)
    _, key = create_key(store, "admin", "bench-scale")
    queue = f"rubricate-bench-{secrets.token_hex(4)}"
    port = 18000 + secrets.randbelow(2000)
    env = {**os.environ, "RUBRICATE_DATABASE_URL": url, "RUBRICATE_DATA_DIR": str(tmp / "data"),
           "RUBRICATE_JUDGE": "fake", "RUBRICATE_BROKER_URL": REDIS, "RUBRICATE_BROKER_QUEUE": queue,
           "RUBRICATE_AUDIT_RATE": "0", "PYTHONPATH": str(ROOT)}
    server = _spawn(["serve", "--port", str(port), "--log-level", "warning"], env, tmp / "serve.log")
    workers = [_spawn(["worker", "--name", f"w{n}@%h", "--concurrency", "2", "--log-level", "WARNING"], env,
                      tmp / f"w{n}.log") for n in (1, 2)]
    base = f"http://127.0.0.1:{port}"
    peak = {w.pid: 0.0 for w in workers}
    try:
        _wait_http(f"{base}/healthz", server, 60)
        httpx.post(f"{base}/v1/rubrics", content=RUBRIC, headers={"Authorization": f"Bearer {key}",
                                                                  "content-type": "application/yaml"})
        time.sleep(3)  # let the workers connect to the broker
        sent_at = time.time()
        cpu0 = cpu_seconds(server.pid)
        load = run_load(base, key, args.rate, args.conversations / args.rate, warmup=0)
        cpu1 = cpu_seconds(server.pid)
        if cpu0 is not None and cpu1 is not None:
            load["server_cpu_ms_per_request"] = round((cpu1 - cpu0) * 1000 / max(1, load["requests"]), 2)
        deadline = time.monotonic() + args.drain_seconds
        cards = 0
        while time.monotonic() < deadline:
            for w in workers:
                peak[w.pid] = max(peak[w.pid], rss_mb(w.pid) or 0.0)
            with store.session() as s:
                cards = s.scalar(select(func.count()).select_from(ScoreCardRow)) or 0
            if cards >= load["requests"]:
                break
            time.sleep(1)
        with store.session() as s:
            rows = s.execute(select(ConversationRow.external_id, ConversationRow.created_at,
                                    func.count(ScoreCardRow.id), func.min(ScoreCardRow.created_at))
                             .join(ScoreCardRow, ScoreCardRow.conversation_id == ConversationRow.id, isouter=True)
                             .group_by(ConversationRow.id)).all()
    finally:
        for process in [server, *workers]:
            process.terminate()
        for process in [server, *workers]:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        import redis

        redis.Redis.from_url(REDIS).delete(queue)
        store.close()

    def aware(value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

    scored = [r for r in rows if r[2]]
    e2e = [(aware(r[3]) - aware(r[1])).total_seconds() for r in scored]
    finished = [aware(r[3]).timestamp() for r in scored]
    span = (max(finished) - sent_at) if finished else 0.0
    return {
        "ingest": load,
        "conversations_stored": len(rows), "scored": len(scored),
        "lost": load["requests"] - len(scored), "scored_twice": sum(1 for r in rows if r[2] > 1),
        "scored_per_minute": round(len(scored) / span * 60, 1) if span else None,
        "end_to_end_s": {"p50": round(percentile(e2e, 50), 2), "p95": round(percentile(e2e, 95), 2),
                         "mean": round(statistics.fmean(e2e), 2)} if e2e else None,
        "worker_peak_rss_mb": [round(v, 1) for v in peak.values()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="Requests per second (open loop).")
    parser.add_argument("--drain-seconds", type=float, default=600.0, help="Most seconds to wait for scoring.")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "scale.json")
    args = parser.parse_args()
    pg = fresh_postgres()
    if pg is None:
        raise SystemExit("PostgreSQL on 127.0.0.1:5432 is needed for this benchmark")
    url, drop = pg
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result = run(url, args, Path(tmp))
    finally:
        drop()
    result.update({"cpus": os.cpu_count(), "load_average": os.getloadavg(), "workers": 2,
                   "worker_threads": 2, "judge": "fake", "rate": args.rate})
    lat = result["ingest"]["latency_ms"]
    print(f"{result['ingest']['requests']} conversations at {result['ingest']['achieved_rate']}/s: ingest p50 "
          f"{lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms ({result['ingest']['errors']} errors); "
          f"{result['scored']} scored ({result['lost']} lost, {result['scored_twice']} scored twice), "
          f"{result['scored_per_minute']} scored/min, end-to-end {result['end_to_end_s']}, worker peak RSS "
          f"{result['worker_peak_rss_mb']} MB")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
