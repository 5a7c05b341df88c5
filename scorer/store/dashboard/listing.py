"""The conversation list behind every number: filterable, sortable, paged in SQL; the CSV export streams it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, select
from sqlalchemy.orm import Session

from scorer.store.dashboard.filters import FilterError, Scope, occurred
from scorer.store.models import ConversationRow, JudgementRow, RubricVersionRow, ScoreCardRow
from scorer.store.standing import effective_answer, effective_status

__all__ = ["PAGE_SIZE", "SORTS", "STATUSES", "ListQuery", "ListRow", "iter_rows", "list_page", "page_number"]

SORTS = {"started": occurred(), "score": ScoreCardRow.score, "agent": ConversationRow.agent_id,
         "team": ConversationRow.team, "id": ConversationRow.external_id, "csat": ConversationRow.csat}
STATUSES = ("scored", "excluded", "unscored", "auto_failed", "provisional")
PAGE_SIZE = 50
"""Rows on a page of a dashboard list (conversations, disputes)."""
MAX_PAGE = 1_000_000
"""The highest page number read (50 million rows); a larger one would overflow the database's OFFSET."""


def page_number(raw: str | None) -> int:
    """A dashboard list's ``page=`` parameter (1 when absent); :class:`FilterError` (a 400) for anything that is
    not a page number from 1 to :data:`MAX_PAGE`."""
    page = (raw or "1").strip()
    digits = page.lstrip("0")
    if not page.isdecimal() or not digits:
        raise FilterError(f"page={page[:20]!r} is not a page number")
    if len(digits) > len(str(MAX_PAGE)) or int(digits) > MAX_PAGE:
        raise FilterError(f"page={page[:20]!r} is beyond the last page; pages go up to {MAX_PAGE:,}")
    return int(digits)


@dataclass(frozen=True)
class ListQuery:
    """What narrows the list beyond the dashboard filters: a card state, a criterion's outcome, a score range,
    the sort, the page."""

    status: str | None = None
    criterion: str | None = None
    outcome: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    sort: str = "started"
    desc: bool = True
    page: int = 1
    page_size: int = PAGE_SIZE

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListQuery:
        def number(name: str) -> float | None:
            raw = (params.get(name) or "").strip()
            try:
                return float(raw) if raw else None
            except ValueError as exc:
                raise FilterError(f"{name}={raw!r} is not a number") from exc

        status = params.get("status") or None
        if status and status not in STATUSES:
            raise FilterError(f"status={status!r}: use one of {', '.join(STATUSES)}")
        outcome = params.get("outcome") or None
        if outcome and outcome not in ("fail", "pass", "na", "unscored"):
            raise FilterError(f"outcome={outcome!r}: use fail, pass, na or unscored")
        sort = params.get("sort") or "started"
        if sort not in SORTS:
            raise FilterError(f"sort={sort!r}: use one of {', '.join(SORTS)}")
        return cls(status, params.get("criterion") or None, outcome, number("score_min"), number("score_max"), sort,
                   params.get("order", "desc") != "asc", page_number(params.get("page")))

    def params(self) -> dict[str, str]:
        data: dict[str, Any] = {"status": self.status, "criterion": self.criterion, "outcome": self.outcome,
                                "score_min": self.score_min, "score_max": self.score_max}
        return {k: str(v) for k, v in data.items() if v is not None}


@dataclass
class ListRow:
    conversation_id: str
    started: datetime | None
    agent_id: str | None
    agent_name: str | None
    team: str | None
    channel: str
    language: str | None
    csat: float | None
    score: float | None
    status: str
    auto_failed: bool
    provisional: bool
    rubric_version: str
    excluded_reason: str | None = None
    """Why an excluded card was not scored (``too_short``, ``bot_only``, ``spam`` …); None for other cards."""


def _excluded_reason() -> Any:
    """The card payload's ``excluded_reason``, read only for excluded cards (a scored card's payload is not parsed)."""
    return case((ScoreCardRow.status == "excluded", ScoreCardRow.payload["excluded_reason"].as_string()), else_=None)


def _query(scope: Scope, q: ListQuery) -> Select[Any]:
    query = scope.base(ConversationRow.external_id, occurred(), ConversationRow.agent_id,
                       ConversationRow.agent_name, ConversationRow.team, ConversationRow.channel,
                       ConversationRow.language, ConversationRow.csat, ScoreCardRow.score, ScoreCardRow.status,
                       ScoreCardRow.auto_failed, ScoreCardRow.provisional, RubricVersionRow.version,
                       _excluded_reason()).join(
        RubricVersionRow, RubricVersionRow.id == ScoreCardRow.rubric_version_id)
    scored = and_(ScoreCardRow.status != "excluded", ScoreCardRow.score.is_not(None))
    if q.status == "excluded":
        query = query.where(ScoreCardRow.status == "excluded")
    elif q.status == "unscored":
        query = query.where(ScoreCardRow.status != "excluded", ScoreCardRow.score.is_(None))
    elif q.status == "scored":
        query = query.where(scored)
    elif q.status == "auto_failed":
        query = query.where(scored, ScoreCardRow.auto_failed.is_(True))
    elif q.status == "provisional":
        query = query.where(scored, ScoreCardRow.provisional.is_(True))
    if q.score_min is not None:
        query = query.where(scored, ScoreCardRow.score >= q.score_min)
    if q.score_max is not None:
        query = query.where(scored, ScoreCardRow.score < q.score_max if q.score_max < 100
                            else ScoreCardRow.score <= q.score_max)
    if q.criterion and scope.rubric is not None:
        query = query.where(exists(select(JudgementRow.id).where(
            JudgementRow.score_card_id == ScoreCardRow.id, JudgementRow.criterion_id == q.criterion,
            *_outcome(scope, q))))
    return query


def _outcome(scope: Scope, q: ListQuery) -> list[Any]:
    assert scope.rubric is not None and q.criterion is not None
    try:
        scale = scope.rubric.criterion(q.criterion).scale
    except KeyError as exc:
        raise FilterError(str(exc.args[0])) from exc
    status, answer = effective_status(), effective_answer()  # a reviewer's standing answer counts over the AI's
    if q.outcome == "unscored":
        return [status == "unscored"]
    if q.outcome == "na":
        return [status == "scored", answer == "na"]
    failing = [a for a in scale.levels if scale.is_failing(a)]
    if q.outcome == "fail":
        return [status == "scored", answer.in_(failing)]
    if q.outcome == "pass":
        return [status == "scored", answer.in_([a for a in scale.levels if a not in failing])]
    return []


def _row(values: Any) -> ListRow:
    row = ListRow(*values)
    if isinstance(row.started, str):
        row.started = datetime.fromisoformat(row.started)
    return row


def _ordered(query: Select[Any], q: ListQuery) -> Select[Any]:
    column = SORTS[q.sort]
    key = column.desc() if q.desc else column.asc()
    tie = ConversationRow.id.desc() if q.desc else ConversationRow.id.asc()
    return query.order_by(key.nulls_last(), tie)


def list_page(session: Session, scope: Scope, q: ListQuery) -> tuple[list[ListRow], int]:
    """One page of conversations and the total matching."""
    query = _query(scope, q)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = _ordered(query, q).offset((q.page - 1) * q.page_size).limit(q.page_size)
    return [_row(r) for r in session.execute(page)], total


def iter_rows(session: Session, scope: Scope, q: ListQuery, chunk: int = 1000) -> Iterator[ListRow]:
    """Every matching conversation in the list's order, read from the database in chunks (for the CSV export)."""
    result = session.execute(_ordered(_query(scope, q), q).execution_options(yield_per=chunk))
    for values in result:
        yield _row(values)
