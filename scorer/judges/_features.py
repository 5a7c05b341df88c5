"""Conversation and turn features for the learned judge: sentence embeddings of the turns.

One :class:`Featuriser` per embedding (``e5`` by default, ``minilm`` or a sentence-transformers folder; see
``scorer.judges._embeddings``). Each turn text is embedded once: vectors are kept in memory (bounded) and, when a
cache folder is given, on disk (SQLite, one file per embedding fingerprint), so a turn seen by an earlier run, a
training run or another conversation (greetings, templates) is never embedded again.

- conversation level: [agent mean, customer mean, first agent, last agent, last customer, length features];
- turn level (``TURN_FEATURES``, recorded per criterion in a trained model): for each turn of one speaker,
  ``previous`` = [this turn, the previous turn, position features]; ``reply`` adds the other speaker's last turn
  before it and its agreement with this turn (their element-wise product and cosine) — what restating or
  reflecting a seeker's words looks like in embedding space; ``lexical`` = the ``previous`` features beside the
  turn's own text, for a classifier that adds its character n-grams (``scorer.judges._lexical``).
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scorer._errors import JudgeError
from scorer.evidence import speaker_turns
from scorer.judges._embeddings import DEFAULT_EMBEDDING, Embedder, get_embedder
from scorer.judges._lexical import lexical_rows
from scorer.types import Conversation

__all__ = ["MAX_TURN_CHARS", "TURN_FEATURES", "Featuriser"]

MAX_TURN_CHARS = 1000  # ~250 tokens: a window that keeps what a turn says and bounds the cost of pasted logs
TURN_FEATURES = ("previous", "reply", "lexical")  # turn-level feature sets (the first: what models before them used)


def _text(speaker: str, text: str) -> str:
    return f"{speaker}: {text[:MAX_TURN_CHARS]}"


class _DiskCache:
    def __init__(self, folder: Path, fingerprint: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1(fingerprint.encode()).hexdigest()[:16]
        self._db = sqlite3.connect(str(folder / f"{name}.sqlite"), check_same_thread=False, timeout=30)
        self._db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, x BLOB)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (fingerprint TEXT)")
        self._lock = threading.Lock()

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                rows = self._db.execute(f"SELECT k, x FROM v WHERE k IN ({','.join('?' * len(chunk))})", chunk)
                out.update({k: np.frombuffer(x, dtype=np.float32) for k, x in rows})
        return out

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO v VALUES (?, ?)",
                                 [(k, v.astype(np.float32).tobytes()) for k, v in items.items()])


class Featuriser:
    """Turns conversations into fixed-size vectors; one encoding of each turn text, cached."""

    def __init__(self, embedding: str | None = None, *, cache_dir: Path | None = None,
                 max_cached: int = 100_000, embedder: Embedder | None = None) -> None:
        self.embedding = embedding or DEFAULT_EMBEDDING
        self._embedder = embedder
        self.cache_dir = cache_dir
        self.max_cached = max_cached  # turn texts kept in memory (~1.5 kB each): bounds a long scoring run
        self._cache: dict[str, np.ndarray] = {}
        self._disk: _DiskCache | None = None
        self.embedded = 0  # texts actually run through the model (the rest came from a cache)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.embedding)
        return self._embedder

    @property
    def fingerprint(self) -> str:
        return self.embedder.fingerprint

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def _disk_cache(self) -> _DiskCache | None:
        if self._disk is None and self.cache_dir is not None:
            self._disk = _DiskCache(self.cache_dir, self.fingerprint)
        return self._disk

    def embed(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._cache}
        disk = self._disk_cache()
        if missing and disk is not None:
            found = disk.get(list(missing))
            self._cache.update(found)
            missing = {k: t for k, t in missing.items() if k not in found}
        if missing:
            vectors = self.embedder.features(list(missing.values()))
            fresh = dict(zip(missing, vectors, strict=True))
            self._cache.update(fresh)
            self.embedded += len(fresh)
            if disk is not None:
                disk.put(fresh)
        out = np.stack([self._cache[k] for k in keys]) if keys else np.zeros((0, self.dim), dtype=np.float32)
        for old in list(itertools.islice(self._cache, max(0, len(self._cache) - self.max_cached))):
            del self._cache[old]  # the oldest first (dicts keep insertion order)
        return out

    def turn_vectors(self, conversation: Conversation) -> np.ndarray:
        return self.embed([_text(t.speaker, t.text) for t in conversation.turns])

    def vector(self, conversation: Conversation, turns: np.ndarray | None = None) -> np.ndarray:
        """[agent mean, customer mean, first agent, last agent, last customer, length features]."""
        turns = self.turn_vectors(conversation) if turns is None else turns
        dim = self.dim
        agent = speaker_turns(conversation, "agent")
        customer = speaker_turns(conversation, "customer")

        def pool(idx: list[int]) -> np.ndarray:
            return turns[idx].mean(axis=0) if idx else np.zeros(dim, dtype=np.float32)

        def pick(idx: list[int], k: int) -> np.ndarray:
            return turns[idx[k]] if idx else np.zeros(dim, dtype=np.float32)

        extra = np.array([len(conversation.turns) / 20, len(agent) / max(1, len(conversation.turns))],
                         dtype=np.float32)
        return np.concatenate([pool(agent), pool(customer), pick(agent, 0), pick(agent, -1), pick(customer, -1),
                               extra])

    def turn_features(self, conversation: Conversation, about: str, turns: np.ndarray | None = None,
                      kind: str = TURN_FEATURES[0]) -> tuple[list[int], np.ndarray]:
        """The ``about`` speaker's turns and, per turn, the ``kind`` of features (see the module docstring)."""
        if kind not in TURN_FEATURES:
            raise JudgeError(f"unknown turn features {kind!r} (this version has {', '.join(TURN_FEATURES)}): "
                             "retrain the learned judge with `rubricate train`")
        turns = self.turn_vectors(conversation) if turns is None else turns
        index = speaker_turns(conversation, about)
        n, zero = len(conversation.turns), np.zeros(self.dim, dtype=np.float32)
        rows = []
        for i in index:
            parts = [turns[i], turns[i - 1] if i > 0 else zero]
            if kind == "reply":
                other = next((j for j in range(i - 1, -1, -1)
                              if conversation.turns[j].speaker != conversation.turns[i].speaker), None)
                said = turns[other] if other is not None else zero
                parts += [said, turns[i] * said * 10, np.array([turns[i] @ said], np.float32)]
            parts.append(np.array([i == 0, i / max(1, n - 1)], np.float32))
            rows.append(np.concatenate(parts))
        width = 2 * self.dim + 2 + (2 * self.dim + 1 if kind == "reply" else 0)
        vectors = np.stack(rows) if rows else np.zeros((0, width), dtype=np.float32)
        if kind == "lexical":
            return index, lexical_rows(vectors, [conversation.turns[i].text[:MAX_TURN_CHARS] for i in index])
        return index, vectors

    def prepare(self, conversations: Sequence[Conversation]) -> None:
        """Embed every turn of many conversations in one batched pass (skipping cached texts)."""
        texts = list(dict.fromkeys(_text(t.speaker, t.text) for c in conversations for t in c.turns))
        for start in range(0, len(texts), 256):
            self.embed(texts[start : start + 256])

    def many(self, conversations: list[Conversation]) -> np.ndarray:
        self.prepare(conversations)
        return np.stack([self.vector(c) for c in conversations])
