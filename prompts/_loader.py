"""Load versioned templates (StrictUndefined) and render transcripts inside delimiters a transcript cannot close.

Transcript text is data, never instructions: every turn is HTML-escaped before it is placed between
``<transcript>`` tags, so no text in a conversation can produce ``</transcript>`` or a ``<turn>`` tag of its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import jinja2

__all__ = ["Prompt", "Transcript", "load_prompt", "render_transcript", "unescape"]


class _Turn(Protocol):
    @property
    def speaker(self) -> str: ...

    @property
    def text(self) -> str: ...


class Transcript(Protocol):
    """What a transcript needs to be rendered: a channel and turns with a speaker and text (a
    ``scorer.types.Conversation`` is one; prompts are data the domain reads, so nothing here imports it)."""

    @property
    def channel(self) -> str: ...

    @property
    def turns(self) -> Sequence[_Turn]: ...


TEMPLATES = Path(__file__).parent / "templates"
_NAME = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)\.j2$")


def escape(text: str) -> str:
    """Neutralise markup in transcript text so it cannot close or open our delimiters."""
    return html.escape(text, quote=False)


def unescape(text: str) -> str:
    """Undo :func:`escape` on text a model copied from the rendered transcript (e.g. its quotes)."""
    return html.unescape(text)


def render_transcript(conversation: Transcript, *, max_chars: int | None = None) -> str:
    """The transcript as the judge sees it; with ``max_chars``, turns beyond the budget are cut visibly."""
    lines = [f'<transcript channel="{conversation.channel}">']
    used = 0
    for index, turn in enumerate(conversation.turns):
        text = escape(turn.text)
        if max_chars is not None and used + len(text) > max_chars:
            room = max_chars - used
            if room >= 200:  # show the start of a long turn rather than nothing of it
                hidden = len(text) - room
                lines.append(f'<turn index="{index}" speaker="{turn.speaker}">{text[:room]}'
                             f" [… {hidden} characters of this turn not shown]</turn>")
                index += 1
            remaining = len(conversation.turns) - index
            if remaining:
                lines.append(f"[transcript truncated: {remaining} later turn(s) not shown to the judge]")
            break
        used += len(text)
        lines.append(f'<turn index="{index}" speaker="{turn.speaker}">{text}</turn>')
    lines.append("</transcript>")
    return "\n".join(lines)


@dataclass(frozen=True)
class Prompt:
    """A loaded template: ``version`` (e.g. ``judge_batch.v1``) is stored with every judgement it produced."""

    name: str
    version: str
    template: jinja2.Template

    def render(self, **variables: Any) -> str:
        return self.template.render(**variables)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["escape_text"] = escape
    return env


def load_prompt(name: str, version: int | None = None) -> Prompt:
    """The template ``name`` at ``version`` (default: the highest version on disk)."""
    versions = {}
    for path in TEMPLATES.glob(f"{name}.v*.j2"):
        match = _NAME.match(path.name)
        if match and match.group("name") == name:
            versions[int(match.group("version"))] = path.name
    if not versions:
        raise FileNotFoundError(f"no prompt template named {name!r} in {TEMPLATES}")
    chosen = version if version is not None else max(versions)
    if chosen not in versions:
        raise FileNotFoundError(f"prompt {name!r} has no version {chosen} (have {sorted(versions)})")
    return Prompt(name=name, version=f"{name}.v{chosen}", template=_environment().get_template(versions[chosen]))
