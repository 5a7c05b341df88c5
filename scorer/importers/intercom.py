"""Intercom conversations as the Conversations API returns them (``GET /conversations/{id}``): the opening
message in ``source`` and the replies in ``conversation_parts``.

Author types map as ``user``/``lead``/``contact`` → customer, ``admin``/``team`` → agent, ``bot`` (and parts
flagged ``from_ai_agent`` or ``is_ai_answer``) → bot. Notes (``part_type: note``) are internal and kept out of the
transcript; parts without a body (assignment, open, close, snooze) are events, counted in metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scorer.importers._base import ImportItem, Skipped, Source, build_conversation, open_source, source_name
from scorer.importers._json_stream import iter_records
from scorer.importers._text import attachment_names, body_text, with_attachments
from scorer.importers._time import parse_time

__all__ = ["read_intercom"]

AUTHORS = {"user": "customer", "lead": "customer", "contact": "customer", "admin": "agent", "team": "agent",
           "bot": "bot"}
CHANNELS = {"email": "email", "phone_call": "call", "phone_switch": "call", "conversation": "chat", "chat": "chat",
            "sms": "chat", "whatsapp": "chat", "facebook": "chat", "instagram": "chat", "twitter": "chat",
            "push": "chat"}


def _parts(conversation: dict[str, Any]) -> list[Any]:
    parts = conversation.get("conversation_parts")
    if isinstance(parts, dict):
        parts = parts.get("conversation_parts")
    return parts if isinstance(parts, list) else []


def _turn(part: dict[str, Any], where: str, cid: str) -> dict[str, Any] | Skipped | None:
    """A turn, a :class:`Skipped` with the reason, or None for an event without text."""
    text = with_attachments(body_text(part.get("body"), None), attachment_names(part.get("attachments"), "name"))
    if not text:
        return None
    if part.get("redacted"):
        return Skipped(where, "the part is redacted", cid)
    author = part.get("author") or {}
    kind = AUTHORS.get(str(author.get("type")))
    if kind == "agent" and (author.get("from_ai_agent") or author.get("is_ai_answer")):
        kind = "bot"
    if kind is None:
        return Skipped(where, f"unknown author type {author.get('type')!r} (known: {', '.join(AUTHORS)})", cid)
    try:
        when = parse_time(part.get("created_at"))
    except ValueError as exc:
        return Skipped(where, f"created_at: {exc}", cid)
    return {"speaker": kind, "text": text, "timestamp": when,
            "agent_id": str(author["id"]) if kind == "agent" and author.get("id") is not None else None,
            "_name": author.get("name")}


def _conversation(location: str, record: Any, include_notes: bool) -> Iterator[ImportItem]:
    if isinstance(record, dict) and isinstance(record.get("conversation"), dict):
        record = record["conversation"]
    if not isinstance(record, dict) or record.get("id") in (None, ""):
        yield Skipped(location, "not an Intercom conversation: no 'id'")
        return
    cid = str(record["id"])
    source = record.get("source") or {}
    turns: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    events = 0
    opening = {**source, "created_at": source.get("created_at", record.get("created_at"))}
    for index, part in enumerate([opening, *_parts(record)]):
        where = f"{location} source" if index == 0 else f"{location} part {index - 1}"
        if not isinstance(part, dict):
            yield Skipped(where, "a part is not a JSON object", cid)
            continue
        turn = _turn(part, where, cid)
        if isinstance(turn, Skipped):
            yield turn
        elif turn is None:
            events += index > 0
        elif part.get("part_type") == "note":
            notes.append({"author_id": turn["agent_id"], "created_at": part.get("created_at"), "text": turn["text"]})
        else:
            turns.append(turn)
    turns.sort(key=lambda t: (t["timestamp"] is None, t["timestamp"] or 0))
    assignee = record.get("admin_assignee_id")
    agent_id = str(assignee) if assignee not in (None, 0, "") else next(
        (t["agent_id"] for t in turns if t["agent_id"]), None)
    agent_name = next((t["_name"] for t in turns if t["agent_id"] == agent_id and t["_name"]), None)
    rating = record.get("conversation_rating") or {}
    tags = record.get("tags") or {}
    tag_list = tags.get("tags", []) if isinstance(tags, dict) else tags
    metadata: dict[str, Any] = {"source": "intercom", "state": record.get("state"),
                                "title": record.get("title") or source.get("subject") or None}
    if events:
        metadata["events_without_text"] = events
    if include_notes:
        metadata["internal_notes"] = notes
    elif notes:
        metadata["internal_notes_left_out"] = len(notes)
    if isinstance(rating, dict) and rating.get("remark"):
        metadata["rating_remark"] = rating["remark"]
    team = record.get("team_assignee_id")
    try:
        started = parse_time(record.get("created_at"))
    except ValueError as exc:
        yield Skipped(location, f"created_at: {exc}", cid)
        return
    yield build_conversation({
        "id": cid, "channel": CHANNELS.get(str(source.get("type")), "other"),
        "turns": [{k: v for k, v in t.items() if k != "_name"} for t in turns],
        "agent_id": agent_id, "agent_name": agent_name, "team": str(team) if team not in (None, "", 0) else None,
        "started_at": started,
        "csat": float(rating["rating"]) if isinstance(rating, dict) and rating.get("rating") is not None else None,
        "tags": [str(t.get("name")) for t in tag_list if isinstance(t, dict) and t.get("name")],
        "metadata": {k: v for k, v in metadata.items() if v},
    }, location)


def read_intercom(source: Source, *, include_notes: bool = False) -> Iterator[ImportItem]:
    """Yield a conversation per Intercom conversation and a :class:`Skipped` for each part or record left out."""
    name = source_name(source)
    with open_source(source) as handle:
        for item in iter_records(handle, name, "conversations"):
            if isinstance(item, Skipped):
                yield item
            else:
                yield from _conversation(item[0], item[1], include_notes)
