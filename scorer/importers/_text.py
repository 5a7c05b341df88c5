"""Shared conversions: HTML bodies to plain text, quoted earlier mail trimmed, attachments by name, times."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bs4 import BeautifulSoup

__all__ = [
    "QUOTE_SELECTORS", "attachment_names", "body_text", "html_to_text", "trim_quoted", "with_attachments",
]

QUOTE_SELECTORS = (
    "blockquote[type=cite]",  # Apple Mail, Thunderbird
    ".gmail_quote", ".gmail_extra",  # Gmail
    ".freshdesk_quote",  # Freshdesk's quoted reply
    ".zendesk_quote", ".zd-quoted",  # Zendesk
    ".yahoo_quoted",
    "#divRplyFwdMsg", "#appendonsend",  # Outlook: the reply header and everything after the marker
    ".moz-cite-prefix",
)
"""Elements that mail clients and helpdesks use to mark quoted earlier mail; they are removed."""

_REPLY_ABOVE = re.compile(r"^#{2}- .*(reply above|type your reply).* -#{2}\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(original message|forwarded message)\s*-{2,}\s*$", re.IGNORECASE)
_WROTE = re.compile(r"^\s*(on\s.{4,200}\swrote:|am\s.{4,200}\sschrieb:|le\s.{4,200}\sa écrit\s?:)\s*$",
                    re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table")


def html_to_text(html: str) -> str:
    """Plain text of an HTML body: block elements become line breaks, quoted earlier mail is removed."""
    if "<" not in html and "&" not in html:
        return trim_quoted(html)
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    for selector in QUOTE_SELECTORS:
        for tag in soup.select(selector):
            if selector == "#appendonsend":  # Outlook: the marker precedes the quoted mail
                for later in list(tag.find_all_next()):
                    later.decompose()
            tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    return trim_quoted(soup.get_text())


def trim_quoted(text: str) -> str:
    """Cut plain-text quoted mail where it is marked ("On … wrote:", "----- Original Message -----",
    "##- Please type your reply above this line -##", a trailing block of ``>`` lines); tidy whitespace."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    for index, line in enumerate(lines):
        if _REPLY_ABOVE.match(line) or _ORIGINAL.match(line):
            lines = lines[:index]
            break
        if _WROTE.match(line) and any(rest.startswith(">") for rest in lines[index + 1:index + 3]):
            lines = lines[:index]
            break
    while lines and (lines[-1].startswith(">") or not lines[-1]):
        lines.pop()
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def body_text(html: str | None, plain: str | None) -> str:
    """The text of a message given as HTML (preferred: the quote markers live there) and/or plain text."""
    if html:
        return html_to_text(html)
    return trim_quoted(plain or "")


def attachment_names(attachments: Iterable[object] | None, *keys: str) -> list[str]:
    """The names of attachments (only names: no content, no URLs), read from the first key each one has."""
    names: list[str] = []
    for attachment in attachments or []:
        if isinstance(attachment, dict):
            name = next((attachment[k] for k in keys if attachment.get(k)), None)
            if name:
                names.append(str(name))
    return names


def with_attachments(text: str, names: list[str]) -> str:
    """The text with a line listing the attachments by name, e.g. ``[attachments: invoice.pdf]``."""
    if not names:
        return text
    line = f"[attachments: {', '.join(names)}]"
    return f"{text}\n{line}" if text else line
