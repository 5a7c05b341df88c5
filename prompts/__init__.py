"""Versioned Jinja2 prompt templates and their loader. Template files are named ``<name>.v<N>.j2``."""

from prompts._loader import Prompt, load_prompt, render_transcript, unescape

__all__ = ["Prompt", "load_prompt", "render_transcript", "unescape"]
