"""Disputes end to end: an agent key disputes through the API, the judgement is pushed to a real Label Studio
with reason ``dispute`` and the agent's comment, a reviewer answers through the SDK, ``pull`` resolves the dispute
(overturned), recomputes the score and keeps the history; the agent sees the outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from label_studio_sdk import LabelStudio

from labeling.server import Credentials
from labeling.sync import Connection, pull, push
from scorer.store.alerts import fire_dispute_alerts, list_deliveries
from scorer.store.disputes import DisputeError, open_dispute
from scorer.store.reviews import queued_items
from tests._api_fixtures import Api, conversation, make_settings, open_api

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]


@pytest.fixture
def api(tmp_path: Path) -> Api:
    with open_api(make_settings(tmp_path, judge="fake:no")) as api:
        yield api  # type: ignore[misc]


def test_dispute_through_the_api_and_back_through_a_real_pull(api: Api, label_studio: Credentials) -> None:
    api.add_rubric()
    job = api.ingest(conversation("d1", agent_id="A-1"), conversation("d2", agent_id="B-2")).json()["job_id"]
    api.wait_job(job)
    agent, reviewer = api.auth("agent"), api.auth("reviewer")
    body = {"criterion_id": "greet", "comment": "I said 'Hello, I am Ana from Parcelly' in my first line."}

    r = api.client.post("/v1/conversations/d1/disputes", json=body, headers=agent)
    assert r.status_code == 201, r.text
    dispute = r.json()
    assert (dispute["status"], dispute["disputed_answer"], dispute["score_before"]) == ("open", "no", 0.0)
    again = api.client.post("/v1/conversations/d1/disputes", json=body, headers=agent)
    assert again.status_code == 409 and "already has an open dispute" in again.json()["detail"]
    assert api.client.post("/v1/conversations/d2/disputes", json=body, headers=agent).status_code == 404  # not hers
    assert api.client.post("/v1/conversations/d1/disputes", json=body, headers=reviewer).status_code == 403
    unknown = api.client.post("/v1/conversations/d1/disputes", json={**body, "criterion_id": "nope"}, headers=agent)
    assert unknown.status_code == 404 and "known: greet, solve" in unknown.json()["detail"]
    opened = api.client.get("/v1/disputes?status=open", headers=reviewer).json()
    assert [d["id"] for d in opened] == [dispute["id"]]
    assert api.client.get("/v1/disputes?status=open", headers=api.auth("ingest")).status_code == 403

    store = api.store
    rubric = store.get_rubric("svc")
    assert rubric is not None
    connection = Connection(label_studio.url, label_studio.token)
    result = push(store, connection, rubric)
    [item] = [i for i in queued_items(store, "svc", rubric.version, ("pushed",)) if i.conversation.id == "d1"]
    assert "dispute" in item.reasons
    sdk = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
    task = sdk.tasks.get(id=item.task_id)
    assert "dispute" in task.data["ai__greet"] and "Hello, I am Ana from Parcelly" in task.data["ai__greet"]
    assert result.tasks >= 1

    sdk.annotations.create(id=item.task_id, result=[
        {"from_name": "answer__greet", "to_name": "transcript", "type": "choices", "value": {"choices": ["yes"]}},
        {"from_name": "comment__greet", "to_name": "transcript", "type": "textarea",
         "value": {"text": ["Agreed: she named herself and the company."]}}])
    pulled = pull(store, connection, rubric)
    assert [(d.id, d.status) for d in pulled.disputes] == [(dispute["id"], "overturned")]

    outcome = api.client.get(f"/v1/disputes/{dispute['id']}", headers=agent).json()
    assert (outcome["status"], outcome["decided_answer"]) == ("overturned", "yes")
    assert outcome["reviewer_comment"] == "Agreed: she named herself and the company."
    assert outcome["score_after"] is not None and outcome["score_after"] > outcome["score_before"]
    card = api.client.get("/v1/conversations/d1/scorecard", headers=api.auth("ingest")).json()
    assert card["score"] == outcome["score_after"]
    greet = next(j for j in card["judgements"] if j["criterion_id"] == "greet")
    assert greet["answer"] == "no" and greet["current_answer"] == "yes"  # the AI's answer stays in the history
    assert [h["kind"] for h in greet["history"]] == ["ai", "corrected"]
    assert api.client.get("/v1/disputes?status=open", headers=reviewer).json() == []
    alerting = make_settings(Path("."), alert_url="http://127.0.0.1:9/hook")
    assert fire_dispute_alerts(store, alerting, rubric, pulled.disputes) == 1
    assert fire_dispute_alerts(store, alerting, rubric, pulled.disputes) == 0  # recorded once
    [alert] = [d for d in list_deliveries(store) if d.event == "dispute_resolved"]
    sent = json.loads(alert.body)
    assert sent["dispute"]["status"] == "overturned" and sent["agent"]["id"] == "A-1"
    assert pull(store, connection, rubric).disputes == []  # resolved once
    # a new dispute of the same judgement is allowed once the first is resolved
    assert api.client.post("/v1/conversations/d1/disputes", json=body, headers=agent).status_code == 201


def test_disputes_after_the_window_are_refused(api: Api) -> None:
    api.add_rubric()
    api.wait_job(api.ingest(conversation("w1", agent_id="A-1")).json()["job_id"])
    later = datetime.now(UTC) + timedelta(days=15)
    with pytest.raises(DisputeError, match="accepted for 14 days after scoring") as refused:
        open_dispute(api.store, "w1", "greet", "too late", agent_id="A-1", window_days=14, now=later)
    assert refused.value.status == 422
    assert open_dispute(api.store, "w1", "greet", "in time", agent_id="A-1", window_days=14).status == "open"


def test_a_dispute_id_out_of_range_is_a_clear_422_not_a_server_error(api: Api) -> None:
    # found by schemathesis: an id past the database's integer range reached SQLite and raised OverflowError (500)
    reviewer = api.auth("reviewer")
    for raw in ("99999999999999999999", "0", "-3"):
        r = api.client.get(f"/v1/disputes/{raw}", headers=reviewer)
        assert r.status_code == 422, (raw, r.status_code, r.text)
    assert api.client.get("/v1/disputes/12345", headers=reviewer).status_code == 404
