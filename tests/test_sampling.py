"""Review sampling: quotas per agent and period, balance across channel and outcome, CSAT extremes, seeds,
already-reviewed conversations skipped, reviewer quotas pushed to one Label Studio project per reviewer."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import build_app
from labeling.server import Credentials
from labeling.sync import Connection, pull, push
from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.routing import RoutingPolicy
from scorer.rubric import parse_rubric
from scorer.sampling import Candidate, period_key, sample
from scorer.store import Store
from scorer.store.reviews import queued_items
from scorer.store.sampling import candidates, queue_picks
from scorer.types import Conversation

RUBRIC_YAML = "id: samp\ncriteria:\n  - {id: greet, question: 'Did the agent greet the customer?'}\n"
RUBRIC = parse_rubric(RUBRIC_YAML)
MONDAY = datetime(2026, 11, 23, 9, tzinfo=UTC)


def _pool() -> list[Candidate]:
    """Two agents over two weeks; each agent-week has 12 conversations: 3 channels x 2 outcomes x 2, CSAT 1..5."""
    out = []
    for agent in ("A-1", "B-2"):
        for week in range(2):
            for i in range(12):
                channel, outcome = ("chat", "email", "call")[i % 3], ("resolved", "unresolved")[i % 2]
                out.append(Candidate(f"{agent}-w{week}-{i}", agent, MONDAY + timedelta(days=7 * week, hours=i),
                                     float(1 + (i * 7) % 5) if i != 11 else None,
                                     {"channel": channel, "outcome": outcome}))
    return out


def test_quota_per_agent_and_period_with_balance() -> None:
    picks = sample(_pool(), per_agent=6, period="week", balance=["channel", "outcome"], seed=1)
    per_group = Counter((p.agent_id, p.period) for p in picks)
    assert per_group == {("A-1", "2026-W48"): 6, ("A-1", "2026-W49"): 6, ("B-2", "2026-W48"): 6,
                         ("B-2", "2026-W49"): 6}
    fields = {c.conversation_id: c.fields for c in _pool()}
    for group in per_group:
        strata = Counter((fields[p.conversation_id]["channel"], fields[p.conversation_id]["outcome"])
                         for p in picks if (p.agent_id, p.period) == group)
        assert len(strata) == 6 and set(strata.values()) == {1}  # one from each of the 6 strata
    assert {p.reason for p in picks} == {"sample:per_agent"}
    assert period_key(MONDAY, "week") == "2026-W48" and period_key(None, "week") == "undated"


def test_same_seed_same_sample_other_seed_other_sample() -> None:
    one = sample(_pool(), per_agent=3, balance=["channel"], seed=7)
    assert one == sample(list(reversed(_pool())), per_agent=3, balance=["channel"], seed=7)
    assert one != sample(_pool(), per_agent=3, balance=["channel"], seed=8)


def test_csat_extremes_come_on_top_of_the_quota() -> None:
    picks = sample(_pool(), per_agent=2, period="all", csat_extremes=2, seed=3)
    a1 = [p for p in picks if p.agent_id == "A-1"]
    assert Counter(p.reason for p in a1) == {"sample:csat_low": 2, "sample:csat_high": 2, "sample:per_agent": 2}
    csat = {c.conversation_id: c.csat for c in _pool()}
    low = [csat[p.conversation_id] for p in a1 if p.reason == "sample:csat_low"]
    high = [csat[p.conversation_id] for p in a1 if p.reason == "sample:csat_high"]
    assert low == [1.0, 1.0] and high == [5.0, 5.0]
    assert len({p.conversation_id for p in a1}) == 6


def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    for i in range(8):
        conv = Conversation.model_validate({
            "id": f"c{i}", "agent_id": "A-1" if i < 4 else "B-2", "channel": ("chat", "email")[i % 2],
            "started_at": (MONDAY + timedelta(hours=i)).isoformat(), "csat": float(i % 5 + 1),
            "metadata": {"outcome": ("resolved", "unresolved")[i // 2 % 2]},
            "turns": [{"speaker": "customer", "text": "My parcel is late."},
                      {"speaker": "agent", "text": f"Hello, I am agent {i}; I will send a new parcel today."}]})
        score_conversation(conv, RUBRIC, FakeJudge("yes"), store=store, policy=RoutingPolicy(threshold=0.0,
                                                                                           audit_rate=0.0))
    return store


def test_already_reviewed_or_queued_conversations_are_skipped(tmp_path: Path) -> None:
    store = _store(tmp_path)
    pool = candidates(store, RUBRIC, balance=["channel", "outcome"])
    assert len(pool) == 8 and pool[0].fields.keys() == {"channel", "outcome"}
    picks = sample(pool, per_agent=2, period="week", balance=["channel", "outcome"], seed=0)
    queued = queue_picks(store, RUBRIC, picks, reviewers=["ana", "bogdan"])
    assert [q.reviewer for q in queued] == ["ana", "bogdan", "ana", "bogdan"] and all(q.judgements == 1 for q in queued)
    left = candidates(store, RUBRIC)
    assert len(left) == 4 and not {c.conversation_id for c in left} & {p.conversation_id for p in picks}
    items = queued_items(store, RUBRIC.id, RUBRIC.version)
    assert {(i.assignee, i.reasons[0]) for i in items} == {("ana", "sample:per_agent"), ("bogdan", "sample:per_agent")}
    store.close()


def test_review_sample_command(tmp_path: Path) -> None:
    _store(tmp_path).close()
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC_YAML)
    db = f"sqlite:///{tmp_path / 's.db'}"
    args = ["review", "sample", "-r", str(rubric), "--per-agent", "1", "--period", "week", "--balance",
            "channel,outcome", "--csat-extremes", "1", "--seed", "5", "--db", db]
    dry = CliRunner().invoke(build_app(), [*args, "--dry-run"])
    assert dry.exit_code == 0 and "dry run" in dry.output and "sample:csat_low" in dry.output, dry.output
    real = CliRunner().invoke(build_app(), args)
    assert real.exit_code == 0 and "queued 6 judgement(s) of 6 conversation(s)" in real.output, real.output
    again = CliRunner().invoke(build_app(), args)
    assert "queued 2 judgement(s) of 2 conversation(s)" in again.output  # only the unreviewed ones remain
    bad = CliRunner().invoke(build_app(), [*args, "--period", "fortnight"])
    assert bad.exit_code != 0 and "day, week, month, all" in bad.output



def test_a_dry_run_shows_the_reviewers_queueing_assigns(tmp_path: Path) -> None:
    _store(tmp_path).close()
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC_YAML)
    args = ["review", "sample", "-r", str(rubric), "--per-agent", "2", "--seed", "3", "--reviewers", "ana,bogdan",
            "--db", f"sqlite:///{tmp_path / 's.db'}"]
    dry = CliRunner().invoke(build_app(), [*args, "--dry-run"])
    assert dry.exit_code == 0 and "dry run: nothing was queued" in dry.output, dry.output
    assert "ana" in dry.output and "bogdan" in dry.output and "—" not in dry.output
    real = CliRunner().invoke(build_app(), args)
    assert real.exit_code == 0 and "queued 4 judgement(s)" in real.output, real.output
    assert dry.output.split("dry run")[0] == real.output.split("queued")[0]  # the same table, row for row

@pytest.mark.labelstudio
@pytest.mark.slow
def test_reviewer_quotas_go_to_one_project_per_reviewer(tmp_path: Path, label_studio: Credentials) -> None:
    store = _store(tmp_path)
    picks = sample(candidates(store, RUBRIC), per_agent=2, period="all", seed=2)
    queue_picks(store, RUBRIC, picks, reviewers=["ana", "bogdan"])
    connection = Connection(label_studio.url, label_studio.token)
    result = push(store, connection, RUBRIC)
    assert set(result.projects) >= {"ana", "bogdan"} and result.tasks == 4
    assert result.projects["ana"] != result.projects["bogdan"]
    from label_studio_sdk import LabelStudio

    sdk = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
    ana_tasks: list[Any] = list(sdk.tasks.list(project=result.projects["ana"], fields="all"))
    assert len(ana_tasks) == 2 and "sample:per_agent" in ana_tasks[0].data["ai__greet"]
    sdk.annotations.create(id=ana_tasks[0].id, result=[
        {"from_name": "answer__greet", "to_name": "transcript", "type": "choices", "value": {"choices": ["no"]}}])
    assert pull(store, connection, RUBRIC).stored == 1  # pull reads every reviewer's project
    store.close()
