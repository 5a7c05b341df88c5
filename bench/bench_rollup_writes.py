"""Benchmark: what keeping the dashboard's rollups current costs a write.

Saves the same score cards (fake judge, 11 criteria) into two fresh SQLite databases side by side, one through the
Store (its sessions mark the touched (day, agent) rollup groups before each commit; the next dashboard read
recomputes them) and one with the rollup hooks left out, and reports the mean time of a ``save_score_card``. Two
programme shapes: conversations spread over agents (a group holds ~10), and conversations with no agent on one day
(one group growing with every save: the case that made recomputing in the writing transaction expensive).

    python bench/bench_rollup_writes.py [--cards 300]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import sessionmaker  # noqa: E402

from scorer.judges.fake import FakeJudge  # noqa: E402
from scorer.pipeline import score_conversation  # noqa: E402
from scorer.rubric import load_rubric  # noqa: E402
from scorer.store import Store  # noqa: E402
from scorer.types import Conversation  # noqa: E402


def conversations(n: int, spread: bool) -> list[Conversation]:
    start = datetime(2026, 10, 5, 8, tzinfo=UTC)
    return [Conversation.model_validate({
        "id": f"c{i}", "channel": "chat", "agent_id": f"A-{i % 10}" if spread else None,
        "started_at": (start + timedelta(hours=(i // 10) if spread else 0, minutes=i % 60)).isoformat(),
        "turns": [{"speaker": "customer", "text": f"Order {i} is late."},
                  {"speaker": "agent", "text": "Hello, I am sorry. I have sent a new parcel today."}]})
        for i in range(n)]


def timed(store: Store, items: list[tuple[Conversation, object]], rubric: object) -> float:
    t = time.perf_counter()
    for conversation, card in items:
        store.save_score_card(conversation, rubric, card)  # type: ignore[arg-type]
    return (time.perf_counter() - t) * 1000 / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=300)
    args = parser.parse_args()
    rubric = load_rubric(ROOT / "examples" / "rubrics" / "support-core.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        for spread in (True, False):
            items = [(c, score_conversation(c, rubric, FakeJudge())[0]) for c in conversations(args.cards, spread)]
            tracked = Store(f"sqlite:///{tmp}/t{spread}.db")
            plain = Store(f"sqlite:///{tmp}/p{spread}.db")
            plain._sessions = sessionmaker(plain.engine, expire_on_commit=False)  # no rollup hooks
            with_rollups, without = timed(tracked, items, rubric), timed(plain, items, rubric)
            shape = "10 agents, ~10 a day each" if spread else "no agent, one day"
            print(f"{shape}: save_score_card {with_rollups:.1f} ms with the rollups, {without:.1f} ms without "
                  f"({with_rollups / without:.1f}×), mean of {args.cards}")
            tracked.close()
            plain.close()


if __name__ == "__main__":
    main()
