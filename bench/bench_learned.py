"""Benchmark: the learned judge's throughput (conversations per minute, embedding included; target ≥ 500/min).

Trains on stc3-en's seeded training split (from ../shared/datasets, or --data/--rubric) and judges the test split
twice: conversation by conversation (as `rubricate score` does) and with the batched embedding pass the harness
uses.

    python bench/bench_learned.py [--data FILE --rubric FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from eval.datasets import load_dataset, split
from eval.training import train
from scorer.judges._features import Featuriser
from scorer.judges.learned import LearnedJudge
from scorer.rubric import load_rubric

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "stc3-en"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data.jsonl")
    parser.add_argument("--rubric", type=Path, default=SHARED / "rubric.yaml")
    parser.add_argument("--out", type=Path, default=Path("bench-results/learned.json"))
    args = parser.parse_args()
    rubric = load_rubric(args.rubric)
    train_set, test_set = split(load_dataset(args.data, rubric), 0.3, 13)
    model = train(train_set, rubric)
    conversations = [item.conversation for item in test_set.items]
    results = {}
    for mode in ("one by one", "batched"):
        judge = LearnedJudge(model)
        judge.featuriser = Featuriser(model.embedding_model)  # an empty embedding cache for each mode
        judge.featuriser._model()  # load the model before timing
        start = time.perf_counter()
        if mode == "batched":
            judge.prepare(conversations)
        for conversation in conversations:
            judge.judge(conversation, rubric.criteria)
        seconds = time.perf_counter() - start
        results[mode] = {"conversations": len(conversations), "seconds": seconds,
                         "per_minute": len(conversations) / seconds * 60}
        print(f"learned judge, {mode:<10}: {len(conversations)} conversations x {len(rubric.criteria)} criteria "
              f"in {seconds:.1f} s = {len(conversations) / seconds * 60:,.0f} conversations/min (target ≥ 500)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
