"""The programme walk-through's Monday (docs/programme.md): scoring ``examples/programme/week.jsonl`` with the fake
judge records the alerts the page says, and a provisional card (an unsure auto-fail awaiting review) fires no
``auto_fail`` alert, only ``score_below`` when its score is under the threshold."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from scorer.store import Store
from scorer.store.alerts import list_deliveries

ROOT = Path(__file__).resolve().parents[1]
PROGRAMME = ROOT / "examples" / "programme"
DOCS = ROOT / "docs" / "programme.md"


def test_the_weeks_alerts_are_the_ones_the_walkthrough_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUBRICATE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RUBRICATE_DATABASE_URL", raising=False)
    monkeypatch.setenv("RUBRICATE_ALERT_URL", "http://127.0.0.1:9/qa-alerts")  # recorded, never sent here
    out = tmp_path / "week.jsonl"
    result = CliRunner().invoke(build_app(), ["score", str(PROGRAMME / "week.jsonl"), "-r",
                                              str(PROGRAMME / "rubric.yaml"), "--judge", "fake", "--out", str(out)])
    assert result.exit_code == 0, result.output
    recorded = int(re.search(r"(\d+) alert\(s\) recorded", result.output).group(1))  # type: ignore[union-attr]
    documented = re.search(r"(\d+) alert\(s\) recorded", DOCS.read_text(encoding="utf-8"))
    assert documented and int(documented.group(1)) == recorded, "docs/programme.md's Monday output is stale"

    cards = [json.loads(line) for line in out.read_text().splitlines()]
    scored = [c for c in cards if c.get("status") != "excluded"]
    store = Store(f"sqlite:///{tmp_path / 'rubricate.db'}")
    alerts = Counter((d.event, d.conversation_id) for d in list_deliveries(store, limit=1000))
    store.close()
    assert sum(alerts.values()) == recorded
    assert {cid for event, cid in alerts if event == "auto_fail"} == {c["conversation_id"] for c in scored
                                                                      if c["auto_failed"]}
    assert {cid for event, cid in alerts if event == "score_below"} == {c["conversation_id"] for c in scored
                                                                        if c["score"] < 50}
    assert any(c["provisional"] for c in scored)  # the week has provisional cards, and none fired auto_fail
