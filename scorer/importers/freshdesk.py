"""Freshdesk tickets with their conversations (``GET /api/v2/tickets/{id}?include=conversations``, or a ticket
joined with ``GET /api/v2/tickets/{id}/conversations``).

The ticket's ``description`` is the first message (the requester's; an outbound email's is the agent's). In
``conversations``, ``incoming: true`` or the requester's ``user_id`` marks the customer, any other author is an
agent; ``private: true`` notes are internal and kept out of the transcript.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scorer.importers._base import ImportItem, Skipped, Source, build_conversation, open_source, source_name
from scorer.importers._json_stream import iter_records
from scorer.importers._text import attachment_names, body_text, with_attachments
from scorer.importers._time import parse_time

__all__ = ["read_freshdesk"]

TICKET_SOURCES = {1: "email", 2: "other", 3: "call", 7: "chat", 9: "other", 10: "email"}
"""Freshdesk ticket ``source``: 1 Email, 2 Portal, 3 Phone, 7 Chat, 9 Feedback widget, 10 Outbound email."""
OUTBOUND_EMAIL = 10


def _unwrap(record: Any) -> tuple[dict[str, Any] | None, list[Any]]:
    if isinstance(record, dict) and isinstance(record.get("ticket"), dict):
        ticket = record["ticket"]
        return ticket, record.get("conversations") or ticket.get("conversations") or []
    if isinstance(record, dict):
        return record, record.get("conversations") or []
    return None, []


def _text(message: dict[str, Any], html_key: str, plain_key: str) -> str:
    return with_attachments(body_text(message.get(html_key), message.get(plain_key)),
                            attachment_names(message.get("attachments"), "name"))


def _ticket(location: str, record: Any, include_notes: bool) -> Iterator[ImportItem]:
    ticket, conversations = _unwrap(record)
    if ticket is None or ticket.get("id") in (None, ""):
        yield Skipped(location, "not a Freshdesk ticket: no 'id'")
        return
    cid = str(ticket["id"])
    requester = str(ticket.get("requester_id"))
    opener = "agent" if ticket.get("source") == OUTBOUND_EMAIL else "customer"
    first = {"body": ticket.get("description"), "body_text": ticket.get("description_text"),
             "attachments": ticket.get("attachments"), "created_at": ticket.get("created_at"),
             "user_id": ticket.get("responder_id") if opener == "agent" else ticket.get("requester_id"),
             "incoming": opener == "customer"}
    turns: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for index, message in enumerate([first, *conversations]):
        where = f"{location} description" if index == 0 else f"{location} conversation {index - 1}"
        if not isinstance(message, dict):
            yield Skipped(where, "a conversation entry is not a JSON object", cid)
            continue
        text = _text(message, "body", "body_text")
        try:
            when = parse_time(message.get("created_at"))
        except ValueError as exc:
            yield Skipped(where, f"created_at: {exc}", cid)
            continue
        if message.get("private"):
            notes.append({"user_id": message.get("user_id"), "created_at": message.get("created_at"), "text": text})
            continue
        if not text:
            yield Skipped(where, "the message has no text", cid)
            continue
        customer = message.get("incoming") is True or str(message.get("user_id")) == requester
        turns.append({"speaker": "customer" if customer else "agent", "text": text, "timestamp": when,
                      "agent_id": None if customer or message.get("user_id") is None else str(message["user_id"])})
    turns.sort(key=lambda t: (t["timestamp"] is None, t["timestamp"] or 0))
    metadata: dict[str, Any] = {k: ticket[k] for k in ("subject", "status", "priority", "type") if ticket.get(k)}
    metadata.update(source="freshdesk", ticket_source=ticket.get("source"), requester_id=ticket.get("requester_id"))
    if include_notes:
        metadata["internal_notes"] = notes
    elif notes:
        metadata["internal_notes_left_out"] = len(notes)
    responder, group = ticket.get("responder_id"), ticket.get("group_id")
    try:
        started = parse_time(ticket.get("created_at"))
    except ValueError as exc:
        yield Skipped(location, f"created_at: {exc}", cid)
        return
    yield build_conversation({
        "id": cid, "channel": TICKET_SOURCES.get(ticket.get("source"), "other"),  # type: ignore[arg-type]
        "turns": turns, "agent_id": str(responder) if responder is not None else None,
        "team": str(group) if group is not None else None, "started_at": started,
        "tags": [str(t) for t in ticket.get("tags") or []], "metadata": {k: v for k, v in metadata.items() if v},
    }, location)


def read_freshdesk(source: Source, *, include_notes: bool = False) -> Iterator[ImportItem]:
    """Yield a conversation per Freshdesk ticket and a :class:`Skipped` for each message or ticket left out."""
    name = source_name(source)
    with open_source(source) as handle:
        for item in iter_records(handle, name, "tickets"):
            if isinstance(item, Skipped):
                yield item
            else:
                yield from _ticket(item[0], item[1], include_notes)
