"""Optional parts of rubricate are pip extras; importing one that is missing says which extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from scorer._errors import RubricateError

__all__ = ["MissingExtra", "require"]


class MissingExtra(RubricateError):
    """An optional dependency is not installed."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` naming the pip extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(f"{feature} needs the optional dependency {module!r} ({exc.name or module} is missing): "
                           f"pip install 'rubricate[{extra}]'") from exc
