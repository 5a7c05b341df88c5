"""Benchmark: the cascade judge ``cascade:learned>local`` — model calls saved and accuracy on each share.

Trains the learned judge on the training part (stc3-en: seeded 70/30 split; esconv: dev), then judges the first
``--limit`` test conversations with the cascade; the embedded SmolLM2-135M (``local``) stands in for a hosted
model. Reports the share of judgements the learned judge answered (its calibrated confidence cleared the
criterion's auto-accept threshold), model calls made vs one per conversation without the cascade, accuracy on the
learned share and on the model share, and what the learned judge alone would have scored on the model share.

    python bench/bench_cascade.py --dataset stc3-en|esconv [--limit 40] [--next local]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from eval.datasets import Dataset, load_dataset, split
from eval.harness import predict
from eval.training import train
from scorer.judges import JudgeOptions, get_judge
from scorer.judges.learned import LearnedJudge, LearnedModel
from scorer.rubric import load_rubric
from scorer.settings import Settings

SHARED = Path(os.environ.get("RUBRICATE_SHARED_DATASETS", "/work/shared/datasets"))


def _accuracy(pairs: list[tuple[str | None, str]]) -> float | None:
    return sum(a == h for a, h in pairs) / len(pairs) if pairs else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["stc3-en", "esconv"], default="stc3-en")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--next", default="local", help="the judge asked for the rest (default: embedded SmolLM2)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None, help="a saved learned judge (else trained here)")
    args = parser.parse_args()
    folder = SHARED / args.dataset
    rubric = load_rubric(folder / "rubric.yaml")
    if args.dataset == "esconv":
        train_set, test_set = load_dataset(folder / "dev.jsonl", rubric), load_dataset(folder / "test.jsonl", rubric)
    else:
        train_set, test_set = split(load_dataset(folder / "data.jsonl", rubric), 0.3, 13)
    test_set = Dataset(test_set.items[: args.limit])
    cache = Settings().cache_dir / "embeddings"
    model = LearnedModel.load(args.model) if args.model else train(train_set, rubric, cache_dir=cache)
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp))
        cascade = get_judge(f"cascade:learned:{tmp}>{args.next}", JudgeOptions())
        start = time.perf_counter()
        predictions = predict(cascade, test_set, rubric)
        seconds = time.perf_counter() - start
    alone = predict(LearnedJudge(model, cache_dir=cache), test_set, rubric)
    shares: dict[str, list[tuple[str | None, str]]] = {"learned": [], "model": []}
    learned_on_model_share: list[tuple[str | None, str]] = []
    for item, pred, own in zip(test_set.items, predictions, alone, strict=True):
        for cid, label in item.labels.items():
            j = pred[cid]
            share = "learned" if j.rationale.startswith("cascade: answered by learned") else "model"
            shares[share].append((j.answer if j.status == "scored" else None, label))
            if share == "model":
                learned_on_model_share.append((own[cid].answer, label))
    calls = getattr(cascade, "calls", {})
    total = sum(len(v) for v in shares.values())
    result = {
        "dataset": args.dataset, "conversations": len(test_set), "judgements": total, "seconds": seconds,
        "learned_share": len(shares["learned"]) / total, "model_calls": calls.get(args.next, 0),
        "model_calls_without_cascade": len(test_set),
        "accuracy_learned_share": _accuracy(shares["learned"]), "accuracy_model_share": _accuracy(shares["model"]),
        "learned_alone_on_model_share": _accuracy(learned_on_model_share),
        "accuracy_cascade": _accuracy(shares["learned"] + shares["model"]),
        "accuracy_learned_alone": _accuracy([(own[c].answer, lab) for item, own in zip(test_set.items, alone,
                                             strict=True) for c, lab in item.labels.items()]),
    }
    for key, value in result.items():
        print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    out = args.out or Path(f"bench-results/cascade-{args.dataset}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
