"""Benchmark: 1,000 routed judgements pushed to a real Label Studio and pulled back.

200 conversations × 5 criteria, all routed; push; a reviewer's annotation on every task (created through the SDK,
timed separately: that is the reviewers' work, not rubricate's); pull. Target: push + pull ≤ 60 s.

    python bench/bench_review_loop.py [--conversations 200]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from label_studio_sdk import LabelStudio

from labeling.server import start, stop
from labeling.sync import Connection, pull, push
from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.routing import RoutingPolicy
from scorer.rubric import parse_rubric
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.reviews import queued_items
from scorer.types import Conversation

RUBRIC = parse_rubric("id: bench-loop\ncriteria:\n" + "".join(
    f'  - {{id: c{i}, question: "Did the agent do behaviour number {i}?"}}\n' for i in range(5)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("bench-results/review_loop.json"))
    args = parser.parse_args()
    cache = Settings().cache_dir / "label-studio"
    with tempfile.TemporaryDirectory() as tmp:
        credentials = start(Path(tmp) / "ls", cache_dir=cache)
        try:
            store = Store(f"sqlite:///{tmp}/bench.db")
            policy = RoutingPolicy(threshold=0.99, audit_rate=0)
            for i in range(args.conversations):
                conv = Conversation(id=f"b{i}", turns=[{"speaker": "customer", "text": f"Problem number {i}."},
                                                       {"speaker": "agent", "text": f"Hello, I fixed problem {i}."}])
                score_conversation(conv, RUBRIC, FakeJudge("yes"), store=store, policy=policy)
            connection = Connection(credentials.url, credentials.token)
            t0 = time.perf_counter()
            pushed = push(store, connection, RUBRIC)
            t_push = time.perf_counter() - t0
            sdk = LabelStudio(base_url=credentials.url, api_key=credentials.token)
            t0 = time.perf_counter()
            task_ids = {i.task_id for i in queued_items(store, RUBRIC.id, RUBRIC.version, ("pushed",))}
            for task_id in task_ids:
                sdk.annotations.create(id=task_id, result=[
                    {"from_name": f"answer__c{k}", "to_name": "transcript", "type": "choices",
                     "value": {"choices": ["no" if k == 0 else "yes"]}} for k in range(5)])
            t_annotate = time.perf_counter() - t0
            t0 = time.perf_counter()
            pulled = pull(store, connection, RUBRIC)
            t_pull = time.perf_counter() - t0
        finally:
            stop(Path(tmp) / "ls")
    result = {"judgements": pushed.judgements, "tasks": pushed.tasks, "push_seconds": t_push,
              "reviewer_annotations_seconds": t_annotate, "pull_seconds": t_pull, "stored": pulled.stored,
              "push_plus_pull_seconds": t_push + t_pull}
    print(f"{pushed.judgements} judgements in {pushed.tasks} tasks: push {t_push:.1f} s, pull {t_pull:.1f} s "
          f"({pulled.stored} decisions stored) → push + pull {t_push + t_pull:.1f} s (target ≤ 60 s); "
          f"creating the reviewers' annotations through the SDK took {t_annotate:.1f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
