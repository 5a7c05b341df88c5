"""The dashboard's conversation fields arrive from JSONL and from the API alike, are stored in their indexed columns
(start times in UTC), and files without them keep working (shown as unassigned)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from scorer.io import BadRecord, read_conversations
from scorer.store import Store
from scorer.store.models import ConversationRow
from scorer.types import Conversation
from tests._api_fixtures import conversation, make_settings, open_api

FIELDS = {"agent_id": "A-17", "agent_name": "Elena Georgieva", "team": "Tech",
          "started_at": "2026-11-03T11:14:00+02:00", "csat": 4.5, "tags": ["vip", "billing"]}


def test_jsonl_reads_the_fields_and_reports_a_bad_start(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    good = conversation("with-fields", **FIELDS)
    bad = conversation("bad-start", started_at="last tuesday")
    path.write_text("\n".join(json.dumps(r) for r in (good, bad, conversation("plain"))) + "\n")
    results = list(read_conversations(path))
    first = results[0]
    assert isinstance(first, Conversation) and first.agent_id == "A-17" and first.csat == 4.5
    assert first.tags == ["vip", "billing"] and first.started_at is not None
    assert isinstance(results[1], BadRecord) and "started_at" in results[1].reason
    assert isinstance(results[2], Conversation) and results[2].agent_id is None


def test_the_api_stores_the_fields_in_columns_in_utc(tmp_path: Path) -> None:
    with open_api(make_settings(tmp_path, worker_enabled=False)) as api:
        api.add_rubric()
        turns = conversation("t")["turns"]
        turns[1] = {**turns[1], "agent_id": "A-18", "timestamp": "2026-11-03T09:15:00Z"}
        r = api.ingest(conversation("api-1", **FIELDS), conversation("api-2", turns=turns))
        assert r.status_code in (200, 202), r.text
        with api.store.session() as s:
            rows = {row.external_id: row for row in s.scalars(select(ConversationRow))}
        row = rows["api-1"]
        assert (row.agent_id, row.agent_name, row.team, row.csat, row.tags) == (
            "A-17", "Elena Georgieva", "Tech", 4.5, ["vip", "billing"])
        assert row.started_at is not None
        started = row.started_at if row.started_at.tzinfo else row.started_at.replace(tzinfo=UTC)
        assert started == datetime(2026, 11, 3, 9, 14, tzinfo=UTC)
        assert rows["api-2"].agent_id is None and rows["api-2"].payload["turns"][1]["agent_id"] == "A-18"


def test_migrations_run_down_and_up(tmp_path: Path) -> None:
    from scorer.store.engine import upgrade

    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    from alembic import command

    from scorer.store.engine import alembic_config

    config = alembic_config(str(store.engine.url))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    upgrade(store.engine)
    with store.engine.connect() as conn:
        names = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list('judgements')")}
    assert "ix_judgements_card_criterion_answer" in names
