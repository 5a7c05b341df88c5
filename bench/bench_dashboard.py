"""Benchmark: server time of the QA dashboard's overview and agent pages on a large programme.

Generates N conversations (default 100,000) × the 11 criteria of examples/rubrics/support-core.yaml, scored with
the fake judge through the real scoring path (evidence located, routing applied; each of the 1,000 distinct
transcripts is judged once and its card reused, as the fake judge answers from the transcript alone), and writes
them with bulk INSERTs: conversations over 26 weeks, 60 agents in 6 teams, 3 channels, 4 languages; one ``ai``
history event per judgement as the store writes, the routed judgements queued, half of those reviewed (confirmed
or corrected). Then loads ``/ui/`` and ``/ui/agents/{id}`` in-process (the app, its SQL and its templates; no
network) with varied filters — the default 28 days, one week, all dates, a team, a channel, a language, an agent —
and reports p50/p95 per page, reading the daily rollups (the default) and, side by side in the same run, with
``RUBRICATE_UI_ROLLUPS=false`` (every card and judgement aggregated: the numbers before the rollups). The bulk
INSERTs bypass the Store, so the rollups are rebuilt once after them (timed). Runs on SQLite, and on PostgreSQL
when 127.0.0.1:5432 answers. Target: p95 < 300 ms on SQLite. Writes bench-results/dashboard.json.

    python bench/bench_dashboard.py [--conversations 100000] [--loads 42] [--exact-loads 42] [--no-postgres]
                                    [--sqlite-file bench.db]   # keep (or reuse) the generated SQLite database
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import create_engine, insert, text  # noqa: E402

from api.main import create_app  # noqa: E402
from scorer.judges.fake import FakeJudge  # noqa: E402
from scorer.pipeline import score_conversation  # noqa: E402
from scorer.routing import RoutingPolicy  # noqa: E402
from scorer.rubric import load_rubric  # noqa: E402
from scorer.settings import Settings  # noqa: E402
from scorer.store import Store  # noqa: E402
from scorer.store.keys import create_key  # noqa: E402
from scorer.store.models import (  # noqa: E402
    ConversationRow,
    JudgementRow,
    ReviewEventRow,
    ReviewQueueRow,
    ScoreCardRow,
)
from scorer.store.rollup import rebuild  # noqa: E402
from scorer.types import Conversation, ScoreCard  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import fresh_postgres  # noqa: E402  (the same throwaway PostgreSQL database)

TEAMS = ["EN Chat", "EN Voice", "EN Email", "ZH Care", "RO Care", "BG Care"]
LANGUAGES = {"EN Chat": "en", "EN Voice": "en", "EN Email": "en", "ZH Care": "zh", "RO Care": "ro", "BG Care": "bg"}
CHANNELS = {"EN Chat": "chat", "EN Voice": "call", "EN Email": "email", "ZH Care": "chat", "RO Care": "call",
            "BG Care": "chat"}
START = datetime(2026, 6, 1, tzinfo=UTC)
OPENINGS = ["Hello, this is {n} from Northwind.", "Hi.", "Good morning, {n} speaking.", "Yes?",
            "Hello, you're through to Parcelo, my name is {n}."]
MIDDLES = ["I'm sorry the parcel is late, I understand that is frustrating.", "Refunds take time.",
           "Could you give me the order number?", "I have booked an engineer for tomorrow 8-10 am.",
           "That's not my problem.", "I've refunded the charge; it shows within 3 days.",
           "You should have read the terms.", "Next, plug the router back in and wait two minutes."]
CLOSINGS = ["Anything else I can help with? Have a good day!", "Bye.", "Thanks for contacting us.", ""]


def variants(count: int) -> list[list[dict[str, str]]]:
    rng = random.Random(7)
    out = []
    for i in range(count):
        agent = [rng.choice(OPENINGS).format(n=f"Agent{i % 60}"), rng.choice(MIDDLES), rng.choice(MIDDLES)]
        closing = rng.choice(CLOSINGS)
        turns = [{"speaker": "customer", "text": f"My order {1000 + i} has a problem."},
                 {"speaker": "agent", "text": " ".join(agent)}, {"speaker": "customer", "text": "OK."}]
        if closing:
            turns.append({"speaker": "agent", "text": closing})
        out.append(turns)
    return out


def generate(url: str, n: int, distinct: int = 1000, chunk: int = 5000) -> dict[str, Any]:
    """Fill the database at ``url`` (migrated by Store) with ``n`` scored conversations; returns counts."""
    t0 = time.perf_counter()
    rubric = load_rubric(ROOT / "examples" / "rubrics" / "support-core.yaml")
    store = Store(url)
    version_id = store.save_rubric(rubric)
    store.close()
    judge, policy = FakeJudge(), RoutingPolicy(threshold=0.75, audit_rate=0.02)
    cards: dict[int, tuple[str, ScoreCard]] = {}
    pool = variants(distinct)
    for v, turns in enumerate(pool):
        conv = Conversation.model_validate({"id": f"v{v}", "turns": turns})
        cards[v] = (conv.content_hash(), score_conversation(conv, rubric, judge, policy=policy)[0])
    rng = random.Random(11)
    engine = create_engine(url)
    counts = {"conversations": 0, "judgements": 0, "queued": 0, "reviews": 0}
    jid = qid = eid = 0
    for lo in range(0, n, chunk):
        conv_rows, card_rows, j_rows, q_rows, e_rows = [], [], [], [], []
        for i in range(lo, min(n, lo + chunk)):
            team = TEAMS[i % len(TEAMS)]
            agent = i % 60
            v = rng.randrange(distinct)
            digest, card = cards[v]
            started = START + timedelta(minutes=int(i * (26 * 7 * 24 * 60) / n) + rng.randrange(60))
            external = f"c{i:07d}"
            payload = {"id": external, "channel": CHANNELS[team], "language": LANGUAGES[team], "turns": pool[v],
                       "agent_id": f"A-{agent:03d}", "team": team}
            conv_rows.append({"id": i + 1, "external_id": external, "content_hash": digest, "channel": CHANNELS[team],
                              "language": LANGUAGES[team], "payload": payload, "agent_id": f"A-{agent:03d}",
                              "agent_name": f"Agent {agent}", "team": TEAMS[agent % len(TEAMS)] if agent else None,
                              "started_at": started, "csat": float(1 + i % 5) if i % 3 else None, "tags": [],
                              "created_at": started, "updated_at": started})
            card_rows.append({"id": i + 1, "conversation_id": i + 1, "rubric_version_id": version_id,
                              "judge": judge.id, "content_hash": digest, "score": card.score,
                              "status": "scored", "auto_failed": card.auto_failed, "provisional": False,
                              "payload": card.model_dump(mode="json", exclude={"judgements"}) | {
                                  "conversation_id": external}, "created_at": started})
            for position, j in enumerate(card.judgements):
                jid += 1
                j_rows.append({"id": jid, "score_card_id": i + 1, "position": position,
                               "criterion_id": j.criterion_id, "status": j.status, "answer": j.answer,
                               "needs_review": j.needs_review, "confidence": j.confidence,
                               "payload": j.model_dump(mode="json"), "created_at": started})
                base = {"judgement_id": jid, "conversation_id": external, "criterion_id": j.criterion_id,
                        "rubric_version": rubric.version, "evidence": [], "superseded": False, "audit": False}
                eid += 1
                e_rows.append({**base, "id": eid, "kind": "ai", "answer": j.answer, "source": "ai",
                               "external_id": judge.id, "external_version": "", "created_at": started})
                if j.needs_review:
                    qid += 1
                    reviewed = qid % 2 == 0
                    q_rows.append({"id": qid, "judgement_id": jid, "reasons": j.review_reasons, "audit": False,
                                   "state": "reviewed" if reviewed else "queued", "created_at": started})
                    if reviewed:
                        eid += 1
                        corrected = qid % 6 == 0
                        e_rows.append({**base, "id": eid, "kind": "corrected" if corrected else "confirmed",
                                       "answer": j.answer, "source": "label_studio", "external_id": str(qid),
                                       "external_version": "1", "reviewer": f"rev{qid % 4}",
                                       "created_at": started + timedelta(days=2)})
                        counts["reviews"] += 1
        with engine.begin() as conn:
            for table, rows in ((ConversationRow, conv_rows), (ScoreCardRow, card_rows), (JudgementRow, j_rows),
                                (ReviewQueueRow, q_rows), (ReviewEventRow, e_rows)):
                if rows:
                    conn.execute(insert(table), rows)
        counts["conversations"] += len(conv_rows)
        counts["judgements"] += len(j_rows)
        counts["queued"] += len(q_rows)
        print(f"  {counts['conversations']:,} conversations written ({time.perf_counter() - t0:.0f} s)", flush=True)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("conversations", "score_cards", "judgements", "review_queue", "review_events"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def rebuild_rollups(url: str) -> float:
    """Recompute the rollups after the bulk INSERTs (which bypass the Store's sessions); returns seconds."""
    store = Store(url)
    t = time.perf_counter()
    with store.session() as s:
        rebuild(s)
    store.close()
    return round(time.perf_counter() - t, 1)


def loads(url: str, tmp: Path, count: int, rollups: bool = True) -> dict[str, Any]:
    """Time ``count`` loads of the overview and of agent pages with varied filters, in-process."""
    store = Store(url)
    key = create_key(store, "reviewer", "bench")[1]
    store.close()
    settings = Settings(_env_file=None, database_url=url, data_dir=tmp / "data", worker_enabled=False,  # type: ignore[call-arg]
                        judge="fake", ui_rollups=rollups)
    newest = START + timedelta(weeks=26)
    filters: list[tuple[str, dict[str, str]]] = [
        ("default 28 days", {}), ("one week", {"start": (newest - timedelta(days=7)).date().isoformat(),
                                               "end": newest.date().isoformat()}),
        ("all dates", {"start": "all"}), ("team", {"team": "RO Care"}), ("channel", {"channel": "email"}),
        ("language", {"language": "zh", "start": (newest - timedelta(days=90)).date().isoformat()}),
        ("agent filter", {"agent": "A-007"})]
    rng = random.Random(3)
    out: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {key}", "accept": "text/html"}
    with TestClient(create_app(settings)) as client:
        for page in ("overview", "agent"):
            times: list[float] = []
            by_filter: dict[str, list[float]] = {}
            client.get("/ui/", headers=headers)  # warm-up: templates compiled, connections opened
            for k in range(count):
                name, params = filters[k % len(filters)]
                path = "/ui/" if page == "overview" else f"/ui/agents/A-{rng.randrange(60):03d}"
                if page == "agent":
                    params = {k2: v for k2, v in params.items() if k2 != "agent"}
                t = time.perf_counter()
                r = client.get(path, params=params, headers=headers)
                elapsed = (time.perf_counter() - t) * 1000
                assert r.status_code == 200, (path, params, r.status_code, r.text[:300])
                times.append(elapsed)
                by_filter.setdefault(name, []).append(elapsed)
            out[page] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_p95(times), 1),
                         "max_ms": round(max(times), 1), "loads": len(times),
                         "by_filter_p50_ms": {k: round(statistics.median(v), 1) for k, v in by_filter.items()}}
            how = "rollups" if rollups else "exact"
            print(f"  {page} ({how}): p50 {out[page]['p50_ms']} ms, p95 {out[page]['p95_ms']} ms "
                  f"(by filter: {out[page]['by_filter_p50_ms']})", flush=True)
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=42, help="Loads per page (filters cycle through 7 kinds).")
    parser.add_argument("--exact-loads", type=int, default=None,
                        help="Loads per page without the rollups (default: --loads; 0 skips).")
    parser.add_argument("--sqlite-file", type=Path, default=None,
                        help="Generate the SQLite database here and keep it; reused (not regenerated) if it exists.")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "dashboard.json")
    args = parser.parse_args()
    results: dict[str, Any] = {"conversations": args.conversations, "criteria": 11, "target_p95_ms_sqlite": 300}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        sqlite_file = args.sqlite_file or tmp / "bench.db"
        reuse = args.sqlite_file is not None and sqlite_file.exists()
        backends: list[tuple[str, str, Any]] = [("sqlite", f"sqlite:///{sqlite_file}", None)]
        if not args.no_postgres and (pg := fresh_postgres()) is not None:
            backends.append(("postgresql", pg[0], pg[1]))
        for name, url, cleanup in backends:
            try:
                if name == "sqlite" and reuse:
                    print(f"== {name}: reusing {sqlite_file}", flush=True)
                    t = time.perf_counter()
                    Store(url).close()  # an older schema is upgraded here (migration 0007 fills the rollups)
                    results[name] = {"generated": {"reused": str(sqlite_file),
                                                   "open_seconds": round(time.perf_counter() - t, 1)}}
                else:
                    print(f"== {name}: generating {args.conversations:,} conversations × 11 criteria", flush=True)
                    results[name] = {"generated": generate(url, args.conversations)}
                results[name]["rollup_rebuild_seconds"] = rebuild_rollups(url)
                print(f"== {name}: rollups rebuilt in {results[name]['rollup_rebuild_seconds']} s", flush=True)
                print(f"== {name}: timing page loads", flush=True)
                results[name].update(loads(url, tmp, args.loads))
                exact = args.loads if args.exact_loads is None else args.exact_loads
                if exact:
                    results[name]["exact"] = loads(url, tmp, exact, rollups=False)
            finally:
                if cleanup:
                    cleanup()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
