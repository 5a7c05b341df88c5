"""Benchmark: API ingest latency under load, from a second process on loopback.

`rubricate serve` runs in its own process (in-process worker, fake judge, so scoring competes for the same CPU as
it would in production); this process sends one conversation per request at a fixed open-loop rate (default 50
requests/s for 20 s, after a warm-up) from a pool of keep-alive connections. Latency is measured from each
request's *scheduled* send time, so a slow server cannot hide behind a slow client (no coordinated omission).
Then it waits for the scoring jobs to drain. Runs on SQLite, and on PostgreSQL when the server on 127.0.0.1:5432
answers. Target: p95 < 50 ms for ingest. Also reports the server process's CPU time per request over the load
(scoring done meanwhile included), which other load on the machine disturbs far less than latency does. Writes
bench-results/api.json.

    python bench/bench_api.py [--rate 50] [--seconds 20] [--no-postgres] [--no-worker]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scorer.store import Store  # noqa: E402
from scorer.store.keys import create_key  # noqa: E402

RUBRIC = """id: bench
criteria:
  - {id: greeting, question: "Did the agent greet the customer?"}
  - {id: solution, question: "Did the agent offer an actionable solution?", scale: yes_no_na, weight: 2}
  - {id: closing, question: "Did the agent thank the customer before ending the conversation?"}
"""
EXTRA_ENV: dict[str, str] = json.loads(os.environ.get("BENCH_EXTRA_ENV", "{}"))
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONNECTIONS = 64  # keep-alive connections of the load generator


def conversation(cid: str) -> dict[str, Any]:
    turns = [("customer", "Hi, my order 4471 arrived damaged, the screen is cracked."),
             ("agent", "Hello, this is Maria from Northwind. I'm sorry the screen arrived cracked!"),
             ("agent", "Could you send a photo of the box and the screen, please?"),
             ("customer", "Sent. The box was crushed on one side."),
             ("agent", "Thank you. I've arranged a replacement; it ships today and arrives by Thursday."),
             ("agent", "You'll get a prepaid label by email to return the damaged one within 30 days."),
             ("customer", "Great, thanks."),
             ("agent", "Is there anything else I can help with? Have a good day!")]
    return {"id": cid, "channel": "chat", "language": "en",
            "turns": [{"speaker": s, "text": t} for s, t in turns], "metadata": {"queue": "bench"}}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run_load(base: str, key: str, rate: float, seconds: float, warmup: int) -> dict[str, Any]:
    """Send ``rate`` requests/s for ``seconds`` from one asyncio loop: each request starts at its scheduled time
    whatever happened to the ones before (open loop)."""

    async def go() -> tuple[list[tuple[float, float, int]], float]:
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        # Requests due while every connection is busy wait here, not in httpx's pool: the pool rescans its whole
        # queue for each request, so a backlog of thousands made the load generator itself CPU-bound (quadratic).
        # Latency still counts from the scheduled time, so this wait is part of it (open loop).
        free = asyncio.Semaphore(CONNECTIONS)
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60,
                                     limits=limits) as client:
            async def send(index: int, scheduled: float) -> tuple[float, float, int]:
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                async with free:
                    sent = time.perf_counter()
                    try:
                        r = await client.post("/v1/conversations", json={
                            "rubric_id": "bench", "conversation": conversation(f"bench-{index}")})
                        code = r.status_code
                    except httpx.TransportError:  # e.g. a keep-alive connection the server closed: an error
                        code = 0
                    done = time.perf_counter()
                return done - scheduled, done - sent, code

            now = time.perf_counter()
            await asyncio.gather(*(send(-i - 1, now + i / rate) for i in range(warmup)))
            count = int(rate * seconds)
            start = time.perf_counter() + 0.2
            results = await asyncio.gather(*(send(i, start + i / rate) for i in range(count)))
            return list(results), time.perf_counter() - start

    results, elapsed = asyncio.run(go())
    count = len(results)
    scheduled = [r[0] * 1000 for r in results]
    service = [r[1] * 1000 for r in results]
    errors = sum(1 for r in results if r[2] != 202)
    codes: dict[str, int] = {}
    for r in results:
        if r[2] != 202:
            codes[str(r[2] or "connection")] = codes.get(str(r[2] or "connection"), 0) + 1
    return {
        "requests": count, "errors": errors, "error_codes": codes, "offered_rate": rate,
        "achieved_rate": round(count / elapsed, 1),
        "latency_ms": {"p50": round(percentile(scheduled, 50), 2), "p95": round(percentile(scheduled, 95), 2),
                       "p99": round(percentile(scheduled, 99), 2), "max": round(max(scheduled), 2),
                       "mean": round(statistics.fmean(scheduled), 2)},
        "service_time_ms": {"p50": round(percentile(service, 50), 2), "p95": round(percentile(service, 95), 2)},
    }


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its threads so far (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_stack() -> dict[str, str]:
    """The event loop and HTTP parser uvicorn picks ("auto") with what is installed."""
    import importlib.util

    return {"loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            "http": "httptools" if importlib.util.find_spec("httptools") else "h11"}


def bench_backend(name: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    store = Store(url)
    _, key = create_key(store, "admin", "bench")
    port = 18000 + secrets.randbelow(2000)
    env = {**os.environ, "RUBRICATE_DATABASE_URL": url, "RUBRICATE_DATA_DIR": str(tmp / f"data-{name}"),
           "RUBRICATE_JUDGE": "fake", "RUBRICATE_BROKER_URL": "", **EXTRA_ENV, "PYTHONPATH": str(ROOT)}
    if args.no_worker:
        env["RUBRICATE_WORKER_ENABLED"] = "false"
    log = (tmp / f"serve-{name}.log").open("w")
    server = subprocess.Popen([sys.executable, "-c", "from cli import main; main()", "serve", "--port",
                               str(port), "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start; see {log.name}")
            time.sleep(0.1)
        httpx.post(f"{base}/v1/rubrics", content=RUBRIC, headers={"Authorization": f"Bearer {key}",
                                                                  "content-type": "application/yaml"})
        cpu_before = cpu_seconds(server.pid)
        result = run_load(base, key, args.rate, args.seconds, args.warmup)
        cpu_after = cpu_seconds(server.pid)
        if cpu_before is not None and cpu_after is not None:
            result["server_cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1000 / (
                result["requests"] + args.warmup), 2)
        if args.no_worker:
            return result
        t0 = time.perf_counter()
        from sqlalchemy import func, select

        from scorer.store.models import JobRow, ScoreCardRow

        expected = result["requests"] + args.warmup
        while time.perf_counter() - t0 < 120:
            with store.session() as s:
                open_chunks = s.scalar(select(func.count()).select_from(JobRow).where(
                    JobRow.kind == "score_chunk", JobRow.status.not_in(("done", "failed"))))
                cards = s.scalar(select(func.count()).select_from(ScoreCardRow))
            if not open_chunks:
                break
            time.sleep(0.2)
        result["scoring"] = {"cards": cards, "expected": expected,
                             "drain_seconds_after_load": round(time.perf_counter() - t0, 2)}
        return result
    finally:
        server.terminate()
        server.wait(30)
        store.close()


def fresh_postgres() -> tuple[str, Any] | None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"rubricate_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL not available ({type(exc).__name__}); skipping it")
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="Requests per second (open loop).")
    parser.add_argument("--seconds", type=float, default=20.0, help="Measured duration (bounded).")
    parser.add_argument("--warmup", type=int, default=25)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-worker", action="store_true", help="No in-process scoring: ingest cost alone.")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "api.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"target": {"p95_ms": 50, "rate": args.rate}, "cpus": os.cpu_count(),
                               "load_average": os.getloadavg(), "server": server_stack(), "backends": {}}
    with tempfile.TemporaryDirectory() as tmp:
        results["backends"]["sqlite"] = bench_backend("sqlite", f"sqlite:///{tmp}/bench.db", args, Path(tmp))
        pg = None if args.no_postgres else fresh_postgres()
        if pg is not None:
            url, drop = pg
            try:
                results["backends"]["postgresql"] = bench_backend("postgresql", url, args, Path(tmp))
            finally:
                drop()
    for name, r in results["backends"].items():
        lat = r["latency_ms"]
        verdict = "meets" if lat["p95"] < 50 and not r["errors"] else "MISSES"
        drained = (f"; scoring drained {r['scoring']['drain_seconds_after_load']} s after the load "
                   f"({r['scoring']['cards']}/{r['scoring']['expected']} cards)" if "scoring" in r else "")
        print(f"{name:10s} {r['requests']} requests at {r['achieved_rate']}/s: p50 {lat['p50']} ms, p95 {lat['p95']} "
              f"ms, p99 {lat['p99']} ms, max {lat['max']} ms, {r['errors']} errors — {verdict} the p95 < 50 ms "
              f"target; server CPU {r.get('server_cpu_ms_per_request')} ms/request{drained}")
    results["meets_target"] = all(r["latency_ms"]["p95"] < 50 and not r["errors"]
                                  for r in results["backends"].values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
