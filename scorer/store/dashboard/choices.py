"""The values the dashboard's filter form offers: each team, agent, channel and language that occurs, and the rubrics.

Read with an index skip scan (a recursive query that jumps from one value to the next through the column's index),
so the cost grows with the number of distinct values, not with the number of conversations: a plain
``SELECT DISTINCT`` read every row of a 100,000-conversation table on each page load, about a quarter of a second
per page on PostgreSQL. An agent's own view (``bound_agent``) reads only that agent's rows through its index.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from scorer.store.dashboard.filters import UNASSIGNED, Scope
from scorer.store.models import ConversationRow, RubricVersionRow

__all__ = ["OPTION_LIMIT", "choices", "distinct_values"]

OPTION_LIMIT = 500
"""At most this many values of one field are offered (the rest can still be typed into the URL)."""

_COLUMNS = {"team": ConversationRow.team, "agent": ConversationRow.agent_id, "channel": ConversationRow.channel,
            "language": ConversationRow.language}


def distinct_values(session: Session, field: str, *, limit: int = OPTION_LIMIT) -> list[Any]:
    """The distinct non-null values of a conversation column in order, then ``None`` if any row has none."""
    column = _COLUMNS[field].name  # a fixed column name, never user input
    rows = session.execute(text(
        f"WITH RECURSIVE t(v, n) AS ("
        f" SELECT min({column}), 1 FROM conversations"
        f" UNION ALL"
        f" SELECT (SELECT min({column}) FROM conversations WHERE {column} > t.v), n + 1"
        f" FROM t WHERE t.v IS NOT NULL AND n < :limit"
        f") SELECT v FROM t WHERE v IS NOT NULL"), {"limit": limit})
    values: list[Any] = [row[0] for row in rows]
    has_null = session.execute(text(
        f"SELECT EXISTS (SELECT 1 FROM conversations WHERE {column} IS NULL)")).scalar()
    return [*values, None] if has_null else values


def choices(session: Session, scope: Scope) -> dict[str, list[Any]]:
    """The filter form's choices for the scope's viewer (``unassigned`` stands for a missing team or agent)."""
    out: dict[str, list[Any]] = {}
    for name, column in _COLUMNS.items():
        if scope.bound_agent is None:
            found = distinct_values(session, name)
        else:
            found = list(session.scalars(select(column).where(ConversationRow.agent_id == scope.bound_agent)
                                         .distinct().order_by(column).limit(OPTION_LIMIT)))
            found = sorted(v for v in found if v is not None) + ([None] if None in found else [])
        out[name] = [v if v is not None else UNASSIGNED for v in found]
    out["rubric"] = list(session.scalars(select(RubricVersionRow.rubric_id).distinct().order_by(
        RubricVersionRow.rubric_id)))
    out["version"] = list(session.scalars(select(RubricVersionRow.version).where(
        RubricVersionRow.rubric_id == (scope.filters.rubric or "")).order_by(RubricVersionRow.id)))
    return out
