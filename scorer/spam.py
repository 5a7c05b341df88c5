"""The learned spam filter: a scikit-learn classifier on the learned judge's conversation features (sentence
embeddings of the turns, ``e5`` by default; :class:`scorer.judges._features.Featuriser`), trained by
``eval.spam_training.train_spam`` on the spam labels reviewers tick in Label Studio (``rubricate train --spam``).

Eligibility uses it, when a trained filter is present, after every rule: a conversation whose P(spam) reaches the
rubric's ``eligibility.learned_spam_threshold`` is excluded as ``learned:spam`` with that probability as the card's
``excluded_confidence``. The model lives in ``<data_dir>/models/spam`` (or ``RUBRICATE_SPAM_MODEL_DIR``), records
the embedding weights' fingerprint and refuses to load under others.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scorer._errors import JudgeError
from scorer.judges._embeddings import fingerprint_of
from scorer.judges._features import Featuriser
from scorer.settings import Settings
from scorer.types import Conversation

__all__ = ["FORMAT", "MODEL_FILE", "SpamFilter", "SpamModel", "load_spam_filter", "spam_model_dir"]

FORMAT = 1
MODEL_FILE = "spam.joblib"
_LOADED: dict[Path, tuple[float, SpamFilter]] = {}
_LOCK = threading.Lock()


@dataclass
class SpamModel:
    """A fitted spam classifier and what it was trained on (label counts, held-out figures)."""

    embedding: str
    fingerprint: str
    classifier: Any
    trained_on: dict[str, int] = field(default_factory=dict)  # {"spam": n, "not_spam": m}
    heldout: dict[str, Any] = field(default_factory=dict)  # out-of-fold precision/recall per threshold
    format: int = FORMAT

    def save(self, folder: Path) -> Path:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, folder / MODEL_FILE)
        (folder / "manifest.json").write_text(json.dumps({
            "format": self.format, "embedding": self.embedding, "fingerprint": self.fingerprint,
            "trained_on": self.trained_on, "heldout": self.heldout}, indent=2))
        return folder

    @staticmethod
    def load(folder: Path) -> SpamModel:
        """Load a model; refuses another format or embedding weights other than the ones it was trained with."""
        import joblib

        path = folder / MODEL_FILE
        if not path.exists():
            raise JudgeError(f"no spam filter in {folder}: train one with `rubricate train --spam --from reviews`")
        model = joblib.load(path)
        if not isinstance(model, SpamModel) or getattr(model, "format", 0) != FORMAT:
            raise JudgeError(f"{path} is not a current rubricate spam filter: retrain it with `rubricate train --spam`")
        here = fingerprint_of(model.embedding)
        if here != model.fingerprint:
            raise JudgeError(f"the spam filter in {folder} was trained with embedding {model.fingerprint}, but "
                             f"{model.embedding!r} is {here} here; retrain it with `rubricate train --spam`")
        return model


class SpamFilter:
    """A :class:`SpamModel` with its featuriser: ``probability(conversation)`` is P(spam)."""

    def __init__(self, model: SpamModel, *, cache_dir: Path | None = None,
                 featuriser: Featuriser | None = None) -> None:
        self.model = model
        self.featuriser = featuriser or Featuriser(model.embedding, cache_dir=cache_dir)

    def probability(self, conversation: Conversation) -> float:
        classifier = self.model.classifier
        probs = classifier.predict_proba(self.featuriser.vector(conversation)[None, :])[0]
        return float(probs[list(classifier.classes_).index(1)]) if 1 in classifier.classes_ else 0.0


def spam_model_dir(settings: Settings) -> Path:
    """Where the spam filter is saved and looked for."""
    return settings.spam_model_dir or settings.models_dir / "spam"


def load_spam_filter(settings: Settings) -> SpamFilter | None:
    """The trained spam filter, or None when none was trained. Loaded once per process and reloaded when
    ``rubricate train --spam`` writes a new one."""
    folder = spam_model_dir(settings).resolve()
    path = folder / MODEL_FILE
    if not path.exists():
        return None
    mtime = path.stat().st_mtime
    with _LOCK:
        cached = _LOADED.get(folder)
        if cached is None or cached[0] != mtime:
            cached = (mtime, SpamFilter(SpamModel.load(folder), cache_dir=settings.cache_dir / "embeddings"))
            _LOADED[folder] = cached
        return cached[1]
