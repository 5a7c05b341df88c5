"""Default limits on hostile input, defined once; ``Settings`` exposes each as ``RUBRICATE_*`` (docs/security.md)."""

from __future__ import annotations

__all__ = ["MAX_JSON_DEPTH", "MAX_RUBRIC_BYTES", "YAML_MAX_ALIASES", "YAML_MAX_NODES"]

MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and arrays in one conversation record."""
MAX_RUBRIC_BYTES = 1_000_000
"""Largest rubric text (YAML or JSON) parsed."""
YAML_MAX_ALIASES = 100
"""Most YAML aliases (``*name``) in one rubric."""
YAML_MAX_NODES = 100_000
"""Most YAML nodes in a rubric once every alias is expanded (what an alias bomb multiplies)."""
