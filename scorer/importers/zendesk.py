"""Zendesk Support tickets with their comments (Tickets and Ticket Comments APIs, or the JSON data export).

Accepted shapes: a ticket object with a ``comments`` list (as in the JSON export, one ticket per line or in an
array), a list wrapper ``{"tickets": [...], "users": [...]}``, or ``{"ticket": {...}, "comments": [...],
"users": [...]}`` (the two API responses side by side). Who wrote a comment is read from the sideloaded
``users`` (``role``: end-user, agent, admin); without them the ticket's ``requester_id`` is the customer and its
``assignee_id`` and ``follower_ids`` are agents; any other author is reported, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scorer.importers._base import ImportItem, Skipped, Source, build_conversation, open_source, source_name
from scorer.importers._json_stream import iter_records, read_side_list
from scorer.importers._text import attachment_names, body_text, with_attachments
from scorer.importers._time import parse_time

__all__ = ["read_zendesk"]

ROLES = {"end-user": "customer", "agent": "agent", "admin": "agent"}
CHANNELS = {"email": "email", "web": "email", "voice": "call", "chat": "chat", "native_messaging": "chat",
            "messaging": "chat", "sms": "chat", "whatsapp": "chat", "facebook": "chat", "twitter": "chat"}
BOT_CHANNELS = {"answer_bot", "answer_bot_for_agents", "answer_bot_api", "ai_agent"}
CSAT = {"good": 1.0, "bad": 0.0}


def _unwrap(record: Any) -> tuple[dict[str, Any] | None, list[Any], list[Any]]:
    """(ticket, comments, users) of a record in any accepted shape."""
    if not isinstance(record, dict):
        return None, [], []
    if isinstance(record.get("ticket"), dict):
        ticket = record["ticket"]
        return ticket, record.get("comments") or ticket.get("comments") or [], record.get("users") or []
    return record, record.get("comments") or [], record.get("users") or []


def _speaker(comment: dict[str, Any], ticket: dict[str, Any], users: dict[str, dict[str, Any]]) -> str | None:
    via = (comment.get("via") or {}).get("channel")
    if via in BOT_CHANNELS:
        return "bot"
    author = str(comment.get("author_id"))
    role = ROLES.get(str(users.get(author, {}).get("role")))
    if role:
        return role
    if author == str(ticket.get("requester_id")):
        return "customer"
    agents = {str(ticket.get("assignee_id")), *map(str, ticket.get("follower_ids") or [])}
    return "agent" if author in agents else None


def _ticket(location: str, record: Any, shared_users: dict[str, dict[str, Any]], include_notes: bool
            ) -> Iterator[ImportItem]:
    ticket, comments, own_users = _unwrap(record)
    if ticket is None or ticket.get("id") in (None, ""):
        yield Skipped(location, "not a Zendesk ticket: no 'id'")
        return
    cid = str(ticket["id"])
    users = {**shared_users, **{str(u.get("id")): u for u in own_users if isinstance(u, dict)}}
    turns: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for index, comment in enumerate(comments):
        where = f"{location} comment {index}"
        if not isinstance(comment, dict):
            yield Skipped(where, "a comment is not a JSON object", cid)
            continue
        text = with_attachments(body_text(comment.get("html_body"), comment.get("plain_body") or comment.get("body")),
                                attachment_names(comment.get("attachments"), "file_name"))
        try:
            when = parse_time(comment.get("created_at"))
        except ValueError as exc:
            yield Skipped(where, f"created_at: {exc}", cid)
            continue
        if comment.get("public") is False:
            notes.append({"author_id": comment.get("author_id"), "created_at": comment.get("created_at"),
                          "text": text})
            continue
        if not text:
            yield Skipped(where, "the comment has no text", cid)
            continue
        speaker = _speaker(comment, ticket, users)
        if speaker is None:
            yield Skipped(where, f"author {comment.get('author_id')} is neither the requester nor a known agent; "
                                 "export with the users sideloaded (include=users) so their role is known", cid)
            continue
        turns.append({"speaker": speaker, "text": text, "timestamp": when,
                      "agent_id": str(comment.get("author_id")) if speaker == "agent" else None})
    turns.sort(key=lambda t: (t["timestamp"] is None, t["timestamp"] or 0))  # stable: file order for ties
    assignee = ticket.get("assignee_id")
    via = (ticket.get("via") or {}).get("channel")
    rating = ticket.get("satisfaction_rating") or {}
    metadata: dict[str, Any] = {k: ticket[k] for k in ("subject", "status", "priority", "type") if ticket.get(k)}
    metadata.update(source="zendesk", via_channel=via, requester_id=ticket.get("requester_id"))
    if isinstance(rating, dict) and rating.get("score"):
        metadata["satisfaction"] = rating.get("score")
    if include_notes:
        metadata["internal_notes"] = notes
    elif notes:
        metadata["internal_notes_left_out"] = len(notes)
    try:
        started = parse_time(ticket.get("created_at"))
    except ValueError as exc:
        yield Skipped(location, f"created_at: {exc}", cid)
        return
    yield build_conversation({
        "id": cid, "channel": CHANNELS.get(str(via), "other"), "turns": turns,
        "agent_id": str(assignee) if assignee is not None else None,
        "agent_name": users.get(str(assignee), {}).get("name"),
        "team": str(ticket["group_id"]) if ticket.get("group_id") is not None else None,
        "started_at": started, "csat": CSAT.get(str(rating.get("score"))) if isinstance(rating, dict) else None,
        "tags": [str(t) for t in ticket.get("tags") or []], "metadata": {k: v for k, v in metadata.items() if v},
    }, location)


def read_zendesk(source: Source, *, include_notes: bool = False) -> Iterator[ImportItem]:
    """Yield a conversation per ticket (public comments in time order) and a :class:`Skipped` for each comment
    or ticket left out. ``include_notes`` keeps internal notes in ``metadata["internal_notes"]``."""
    name = source_name(source)
    with open_source(source) as handle:
        shared = {str(u.get("id")): u for u in read_side_list(handle, "users") if isinstance(u, dict)}
        for item in iter_records(handle, name, "tickets"):
            if isinstance(item, Skipped):
                yield item
            else:
                yield from _ticket(item[0], item[1], shared, include_notes)
