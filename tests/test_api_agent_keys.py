"""An ``agent`` key on /v1: it reads its own agent's score cards and judgements, and nothing of other agents'
(404 as if unknown, like the dashboard); the routes it may not use still answer 403."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scorer.store.keys import create_key
from tests._api_fixtures import Api, conversation, make_settings, open_api


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_api(make_settings(tmp_path_factory.mktemp("agentkeys"))) as api:
        api.add_rubric()
        job = api.ingest(conversation("mine", agent_id="A-1"), conversation("theirs", agent_id="B-2"),
                         conversation("nobody")).json()["job_id"]
        assert api.wait_job(job)["status"] == "done"
        yield api


def test_an_agent_key_reads_its_own_scorecard_and_nothing_else(api: Api) -> None:
    agent = api.auth("agent")  # bound to A-1
    other = {"Authorization": f"Bearer {create_key(api.store, 'agent', 'B', agent_id='B-2')[1]}"}
    assert api.client.get("/v1/conversations/theirs/scorecard", headers=other).status_code == 200
    mine = api.client.get("/v1/conversations/mine/scorecard", headers=agent)
    assert mine.status_code == 200, mine.text
    assert mine.json()["conversation_id"] == "mine" and mine.json()["judgements"]
    for other in ("theirs", "nobody", "never-sent"):
        r = api.client.get(f"/v1/conversations/{other}/scorecard", headers=agent)
        assert r.status_code == 404, other
        assert "unknown conversation" in r.json()["detail"], other  # not "has no score card yet": no existence leak
    assert api.client.get("/v1/conversations/theirs/scorecard", headers=api.auth("reviewer")).status_code == 200


def test_an_agent_key_lists_only_its_own_judgements(api: Api) -> None:
    everything = api.client.get("/v1/judgements", headers=api.auth("reviewer")).json()
    own = api.client.get("/v1/judgements", headers=api.auth("agent")).json()
    assert {i["conversation_id"] for i in everything["items"]} == {"mine", "theirs", "nobody"}
    assert {i["conversation_id"] for i in own["items"]} == {"mine"}
    assert own["total"] == sum(i["conversation_id"] == "mine" for i in everything["items"])


def test_other_routes_stay_closed_to_agent_keys(api: Api) -> None:
    agent = api.auth("agent")
    assert api.client.post("/v1/conversations", json={"rubric_id": "svc", "conversations": []},
                           headers=agent).status_code == 403
    assert api.client.get("/v1/agreement", headers=agent).status_code == 403
    assert api.client.get("/v1/rubrics", headers=agent).status_code == 403


def test_openapi_documents_the_agent_role_on_the_read_routes(tmp_path: Path) -> None:
    with open_api(make_settings(tmp_path, worker_enabled=False)) as api:
        paths = api.client.get("/openapi.json").json()["paths"]
    assert "agent" in paths["/v1/conversations/{conversation_id}/scorecard"]["get"]["x-roles"]
    assert "agent" in paths["/v1/judgements"]["get"]["x-roles"]
    assert "agent" not in paths["/v1/conversations"]["post"]["x-roles"]
