"""Answer many questions about one transcript for the price of one transcript encoding.

All question prompts of a conversation share a long token prefix (system prompt + transcript). ``PrefixRun`` runs
that prefix through the model once, keeps its key/value cache, and then reads the next-token logits at the end of
every question suffix:

* ``packed`` — all suffixes in one forward pass, each seeing the prefix and itself but not the other suffixes
  (a 4-D attention mask and explicit position ids that continue from the prefix length);
* ``sequential`` — one suffix at a time against the cache, cropped back to the prefix after each;
* ``full`` — no sharing: every full prompt is run on its own (the baseline the others must match).

The prefix is found on token ids, not on strings: text that ends a string can tokenise differently from the same
text followed by more words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

__all__ = ["Mode", "PrefixRun", "common_prefix_length"]

Mode = Literal["packed", "sequential", "full"]


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    """Length of the longest common token prefix, leaving every sequence at least one token of its own."""
    shortest = min(len(s) for s in sequences)
    length = 0
    while length < shortest and all(s[length] == sequences[0][length] for s in sequences):
        length += 1
    return min(length, shortest - 1)


def _crop_to(cache: Any, length: int) -> None:
    """Drop everything after the first ``length`` tokens (transformers 5 takes the number to drop, negated)."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


def _cache_keyword(model: Any) -> str:
    """The forward keyword for the key/value cache: ``cache`` where the model takes it (newer transformers 5
    releases, where ``past_key_values`` is deprecated), ``past_key_values`` before."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _additive(mask: Any, model: Any) -> Any:
    """The boolean ``[queries, keys]`` mask as the additive float mask SDPA would otherwise rebuild in every layer
    (0 where visible, -inf where not): the same numbers, converted once per pass instead of once per layer."""
    import torch

    dtype = getattr(model, "dtype", torch.float32)
    return torch.zeros(mask.shape, dtype=dtype).masked_fill_(~mask, float("-inf"))[None, None]


class PrefixRun:
    """The forward passes for one conversation's question prompts (token id lists)."""

    def __init__(self, model: Any, sequences: Sequence[Sequence[int]]) -> None:
        if not sequences:
            raise ValueError("no prompts to score")
        self.model = model
        self.sequences = [list(s) for s in sequences]
        self.prefix_length = common_prefix_length(self.sequences) if len(sequences) > 1 else len(sequences[0]) - 1
        self.tokens_processed = 0
        self._cache: Any = None
        self._cache_keyword = _cache_keyword(model)

    def _forward(self, cache: Any, **inputs: Any) -> Any:
        """One forward pass that reads and extends ``cache``."""
        return self.model(**inputs, **{self._cache_keyword: cache}, use_cache=True)

    def _prefix_cache(self) -> Any:
        import torch
        from transformers import DynamicCache

        if self._cache is None:
            cache = DynamicCache()
            prefix = torch.tensor([self.sequences[0][: self.prefix_length]])
            self._forward(cache, input_ids=prefix, logits_to_keep=1)
            self.tokens_processed += self.prefix_length
            self._cache = cache
        return self._cache

    def last_logits(self, mode: Mode = "packed") -> Any:
        """Next-token logits after each full prompt, as a ``[n_prompts, vocab]`` float tensor."""
        import torch

        with torch.inference_mode():
            if mode == "full":
                return self._full()
            if mode == "sequential":
                return self._sequential()
            return self._packed()

    def _full(self) -> Any:
        import torch

        rows = []
        for seq in self.sequences:
            out = self.model(input_ids=torch.tensor([seq]), use_cache=False, logits_to_keep=1)
            self.tokens_processed += len(seq)
            rows.append(out.logits[0, -1])
        return torch.stack(rows)

    def _sequential(self) -> Any:
        import torch

        cache = self._prefix_cache()
        p = self.prefix_length
        rows = []
        for seq in self.sequences:
            suffix = seq[p:]
            positions = torch.arange(p, p + len(suffix))[None]
            out = self._forward(cache, input_ids=torch.tensor([suffix]), position_ids=positions, logits_to_keep=1)
            self.tokens_processed += len(suffix)
            rows.append(out.logits[0, -1])
            _crop_to(cache, p)
        return torch.stack(rows)

    def _packed(self) -> Any:
        import torch

        cache = self._prefix_cache()
        p = self.prefix_length
        suffixes = [seq[p:] for seq in self.sequences]
        total = sum(len(s) for s in suffixes)
        mask = torch.zeros(total, p + total, dtype=torch.bool)
        mask[:, :p] = True
        positions = torch.empty(total, dtype=torch.long)
        last: list[int] = []
        offset = 0
        for suffix in suffixes:
            n = len(suffix)
            mask[offset : offset + n, p + offset : p + offset + n] = torch.tril(torch.ones(n, n, dtype=torch.bool))
            positions[offset : offset + n] = torch.arange(p, p + n)
            offset += n
            last.append(offset - 1)
        ids = torch.tensor([[token for suffix in suffixes for token in suffix]])
        out = self._forward(cache, input_ids=ids, position_ids=positions[None],
                            attention_mask=_additive(mask, self.model), logits_to_keep=torch.tensor(last))
        self.tokens_processed += total
        _crop_to(cache, p)
        return out.logits[0]

    def generate(self, index: int, extra: Sequence[int], *, max_new_tokens: int, stop: set[int]) -> list[int]:
        """Greedy continuation of prompt ``index`` followed by ``extra`` tokens, reusing the prefix cache."""
        import torch

        cache = self._prefix_cache()
        p = self.prefix_length
        feed = self.sequences[index][p:] + list(extra)
        produced: list[int] = []
        position = p
        with torch.inference_mode():
            for _ in range(max_new_tokens):
                positions = torch.arange(position, position + len(feed))[None]
                out = self._forward(cache, input_ids=torch.tensor([feed]), position_ids=positions, logits_to_keep=1)
                self.tokens_processed += len(feed)
                position += len(feed)
                token = int(out.logits[0, -1].argmax())
                if token in stop:
                    break
                produced.append(token)
                feed = [token]
            _crop_to(cache, p)
        return produced
