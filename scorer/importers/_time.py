"""Times as exports write them: ISO 8601 or Unix seconds, read as aware datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["parse_time"]

_EPOCH = re.compile(r"\d{9,11}(\.\d+)?")


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time or Unix seconds as an aware datetime (naive times are read as UTC); None when empty.

    Raises ValueError for anything else, so the caller can report where it was.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        if _EPOCH.fullmatch(text):
            return datetime.fromtimestamp(float(text), UTC)
        raise ValueError(
            f"{text[:40]!r} is not an ISO 8601 time (e.g. 2024-05-01T09:30:00Z) or Unix seconds") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
