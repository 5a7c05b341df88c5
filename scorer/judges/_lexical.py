"""The ``lexical`` turn feature set of the learned judge: the ``previous`` embedding features of a turn beside TF-IDF
character n-grams of the turn's own text.

Character n-grams (``char_wb``, 2–5) need no tokenizer, so they work for any language, and they carry the dialogue-act
cues a frozen sentence embedding blurs ("?", "so you're saying", "it sounds like you feel"). The rows are object
arrays ``[embedding features, turn text]``; the vectoriser is part of the fitted classifier (a scikit-learn pipeline),
so it is fitted on the training fold only and saved with the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LEXICAL_NGRAMS", "lexical_pipeline", "lexical_rows", "stack_vectors"]

LEXICAL_NGRAMS = (2, 5)  # character n-gram lengths (within word boundaries)


def stack_vectors(column: Any) -> np.ndarray:
    """The embedding column of lexical rows as one float matrix (a named function, so fitted pipelines pickle)."""
    values = list(column)
    return np.stack(values).astype(np.float64) if values else np.zeros((0, 0))


def lexical_rows(vectors: np.ndarray, texts: list[str]) -> np.ndarray:
    """Rows ``[vector, text]`` (object dtype) from per-turn embedding features and the turns' texts."""
    rows = np.empty((len(texts), 2), dtype=object)
    for k, (vector, text) in enumerate(zip(vectors, texts, strict=True)):
        rows[k, 0], rows[k, 1] = vector, text
    return rows


def lexical_pipeline(classifier: Any) -> Any:
    """``classifier`` on [embedding features | TF-IDF character n-grams of the turn]."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    union = ColumnTransformer([
        ("embedding", FunctionTransformer(stack_vectors), 0),
        ("ngrams", TfidfVectorizer(analyzer="char_wb", ngram_range=LEXICAL_NGRAMS, min_df=2, sublinear_tf=True), 1),
    ], sparse_threshold=1.0)
    return Pipeline([("features", union), ("classifier", classifier)])
