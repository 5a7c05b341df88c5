"""The API's routes end to end on SQLite with the fake judge and the in-process worker: rubrics, ingest (single,
batch, partial, duplicates, idempotency), score cards with history, re-scoring jobs, judgements, agreement, probes,
and the bad-input cases (malformed JSON, 413, unknown rubric)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scorer.store.keys import revoke_key
from scorer.store.models import ConversationRow, JobRow, ScoreCardRow
from scorer.store.reviews import record_review
from scorer.types import Review
from tests._api_fixtures import Api, conversation, make_settings, open_api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = make_settings(tmp_path, max_body_bytes=200_000, max_transcript_chars=5_000, max_batch=50,
                             allowed_judges=["fake:yes"], job_chunk_size=3)
    with open_api(settings) as api:
        yield api


def _count(api: Api, table: type) -> int:
    with api.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_rubric_versions_from_yaml_and_json(api: Api) -> None:
    first = api.add_rubric()
    assert first["created"] and len(first["version"]) == 12
    again = api.client.post("/v1/rubrics", json={"yaml": api_rubric_text()}, headers=api.auth())
    assert (again.status_code, again.json()["version"], again.json()["created"]) == (200, first["version"], False)
    structured = {"id": "svc", "criteria": [{"id": "greet", "question": "Did the agent greet the customer?"}]}
    changed = api.client.post("/v1/rubrics", json=structured, headers=api.auth())
    assert changed.status_code == 201 and changed.json()["version"] != first["version"]
    newest = api.client.get("/v1/rubrics/svc", headers=api.auth("ingest")).json()
    older = api.client.get(f"/v1/rubrics/svc?version={first['version']}", headers=api.auth("reviewer")).json()
    assert (newest["version"], len(older["criteria"])) == (changed.json()["version"], 2)
    listed = api.client.get("/v1/rubrics", headers=api.auth("ingest")).json()
    assert [r["version"] for r in listed] == [first["version"], changed.json()["version"]]
    assert api.client.get("/v1/rubrics/nope", headers=api.auth()).status_code == 404


def api_rubric_text() -> str:
    from tests._api_fixtures import RUBRIC_YAML

    return RUBRIC_YAML


def test_invalid_rubric_is_422_with_the_problem(api: Api) -> None:
    r = api.client.post("/v1/rubrics", content="id: x\ncriteria:\n  - {id: a}\n",
                        headers=api.auth(**{"content-type": "application/yaml"}))
    assert r.status_code == 422 and "question is empty" in r.json()["detail"][0]["msg"]
    r = api.client.post("/v1/rubrics", content=b"{oops", headers=api.auth(**{"content-type": "application/json"}))
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]


def test_ingest_scores_and_the_scorecard_has_evidence_confidence_review_state_and_history(api: Api) -> None:
    api.add_rubric()
    r = api.ingest(conversation("c1"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["accepted"] == [{"index": 0, "id": "c1", "outcome": "created"}] and body["rejected"] == []
    job = api.wait_job(body["job_id"])
    assert (job["status"], job["total"], job["done"], job["failed"], job["progress"]) == ("done", 1, 1, 0, 1.0)
    card = api.client.get("/v1/conversations/c1/scorecard", headers=api.auth("ingest")).json()
    assert (card["conversation_id"], card["judge"], card["stale"]) == ("c1", "fake", False)
    greet = next(j for j in card["judgements"] if j["criterion_id"] == "greet")
    assert greet["question"] == "Did the agent greet the customer?"
    assert 0.5 <= greet["confidence"] <= 1 and greet["review_state"] in ("not_routed", "routed")
    if greet["answer"] == "yes":
        assert greet["evidence"][0]["quote"].startswith("Hello, I am Ana")
    assert [(h["kind"], h["source"]) for h in greet["history"]] == [("ai", "ai")]
    assert greet["current_answer"] == greet["answer"]


def test_single_conversation_form_and_unknown_rubric_404(api: Api) -> None:
    r = api.client.post("/v1/conversations", json={"rubric_id": "missing", "conversation": conversation("c1")},
                        headers=api.auth("ingest"))
    assert r.status_code == 404 and "POST /v1/rubrics" in r.json()["detail"]
    api.add_rubric()
    r = api.client.post("/v1/conversations", json={"rubric_id": "svc", "conversation": conversation("c1")},
                        headers=api.auth("ingest"))
    assert r.status_code == 202 and r.json()["accepted"][0]["id"] == "c1"
    r = api.client.post("/v1/conversations", json={"rubric_id": "svc", "rubric_version": "000000000000",
                                                   "conversation": conversation("c1")}, headers=api.auth("ingest"))
    assert r.status_code == 404 and "000000000000" in r.json()["detail"]
    assert _count(api, ConversationRow) == 1


def test_partial_batch_accepts_the_good_and_reports_each_bad_by_index(api: Api) -> None:
    api.add_rubric()
    batch = [conversation("ok1"), {"id": "empty", "turns": []}, "not an object",
             conversation("huge", text="x" * 6_000), conversation("ok2"), conversation("ok1"),
             conversation("ok2", text="a different transcript")]
    r = api.ingest(*batch)
    assert r.status_code == 202, r.text
    body = r.json()
    assert [(a["index"], a["id"], a["outcome"]) for a in body["accepted"]] == [
        (0, "ok1", "created"), (4, "ok2", "created"), (5, "ok1", "duplicate_in_request")]
    rejected = {x["index"]: x for x in body["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 6]
    assert rejected[1]["id"] == "empty" and "turns" in rejected[1]["reason"]
    assert "valid dictionary" in rejected[2]["reason"]
    assert "6024 characters, over the limit of 5000" in rejected[3]["reason"]
    assert "index 4" in rejected[6]["reason"]
    assert api.wait_job(body["job_id"])["done"] == 2
    assert _count(api, ConversationRow) == 2


def test_nothing_good_is_422_and_nothing_is_stored(api: Api) -> None:
    api.add_rubric()
    r = api.ingest({"id": "a", "turns": []}, {"turns": [{"speaker": "agent", "text": "hi"}]})
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "conversations", 0], ["body", "conversations", 1]]
    assert (_count(api, ConversationRow), _count(api, JobRow)) == (0, 0)
    r = api.client.post("/v1/conversations", json={"rubric_id": "svc"}, headers=api.auth("ingest"))
    assert r.status_code == 422 and "exactly one of" in r.text


def test_malformed_json_is_400_with_the_position(api: Api) -> None:
    r = api.client.post("/v1/conversations", content=b'{"rubric_id": "svc", "conversations": [',
                        headers=api.auth("ingest", **{"content-type": "application/json"}))
    assert r.status_code == 400 and r.json()["detail"].startswith("the request body is not valid JSON at character")


def test_size_limits_are_413(api: Api) -> None:
    api.add_rubric()
    big = json.dumps({"rubric_id": "svc", "conversations": [conversation(f"c{i}", text="y" * 4_000)
                                                             for i in range(60)]})
    r = api.client.post("/v1/conversations", content=big, headers=api.auth("ingest", **{"content-type":
                                                                                        "application/json"}))
    assert r.status_code == 413 and "RUBRICATE_MAX_BODY_BYTES" in r.json()["detail"]
    chunks = (big[i:i + 10_000].encode() for i in range(0, len(big), 10_000))  # no Content-Length: streamed
    r = api.client.post("/v1/conversations", content=chunks, headers=api.auth("ingest", **{"content-type":
                                                                                           "application/json"}))
    assert r.status_code == 413
    r = api.client.post("/v1/conversations", json={"rubric_id": "svc", "conversation": conversation(
        "long", text="z" * 5_001)}, headers=api.auth("ingest"))
    assert r.status_code == 413 and "RUBRICATE_MAX_TRANSCRIPT_CHARS" in r.json()["detail"]
    r = api.ingest(*[conversation(f"n{i}") for i in range(51)])
    assert r.status_code == 413 and "RUBRICATE_MAX_BATCH" in r.json()["detail"]
    assert _count(api, ConversationRow) == 0


def test_duplicate_submissions_give_the_same_result_and_no_second_row(api: Api) -> None:
    api.add_rubric()
    first = api.ingest(conversation("d1"), conversation("d2"), key="order-17")
    replay = api.ingest(conversation("d1"), conversation("d2"), key="order-17")
    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert api.ingest(conversation("d1"), key="order-17").status_code == 409
    api.wait_job(first.json()["job_id"])
    again = api.ingest(conversation("d1"), conversation("d2"))  # no key: recognised by the conversation ids
    assert [a["outcome"] for a in again.json()["accepted"]] == ["already_scored", "already_scored"]
    assert again.json()["job_id"] is None
    changed = api.ingest(conversation("d1", text="Hi, Ana here. Parcel resent."))
    assert changed.json()["accepted"][0]["outcome"] == "updated"
    assert (_count(api, ConversationRow), _count(api, JobRow)) == (2, 2 + 1 + 1)  # 2 jobs, each with one chunk
    api.wait_job(changed.json()["job_id"])
    assert _count(api, ScoreCardRow) == 3  # d1 twice (two transcripts), d2 once


def test_judge_must_be_allowed_and_rescoring_jobs_report_progress(api: Api) -> None:
    api.add_rubric()
    r = api.ingest(conversation("r1"), judge="local")
    assert r.status_code == 422 and "RUBRICATE_ALLOWED_JUDGES" in r.text
    api.wait_job(api.ingest(*[conversation(f"r{i}") for i in range(7)]).json()["job_id"])
    r = api.client.post("/v1/scoring-jobs", json={"rubric_id": "svc", "judge": "fake:yes",
                                                  "filter": {"channel": "chat", "limit": 5}},
                        headers=api.auth(**{"Idempotency-Key": "rescore-1"}))
    assert r.status_code == 202, r.text
    job = api.wait_job(r.json()["id"])
    assert (job["kind"], job["judge"], job["total"], job["done"], job["chunks"]) == ("rescore", "fake:yes", 5, 5,
                                                                                     {"done": 2})
    replay = api.client.post("/v1/scoring-jobs", json={"rubric_id": "svc", "judge": "fake:yes",
                                                       "filter": {"channel": "chat", "limit": 5}},
                             headers=api.auth(**{"Idempotency-Key": "rescore-1"}))
    assert replay.json()["id"] == job["id"] and replay.json()["status"] == "done"
    card = api.client.get("/v1/conversations/r0/scorecard?judge=fake:yes", headers=api.auth()).json()
    assert {j["answer"] for j in card["judgements"]} == {"yes"}
    none = api.client.post("/v1/scoring-jobs", json={"rubric_id": "svc", "filter": {"language": "zz"}},
                           headers=api.auth()).json()
    assert (none["total"], none["status"]) == (0, "done")
    assert api.client.get("/v1/scoring-jobs/999999", headers=api.auth()).status_code == 404


def test_scorecard_404s(api: Api) -> None:
    api.add_rubric()
    r = api.client.get("/v1/conversations/nobody/scorecard", headers=api.auth())
    assert r.status_code == 404 and "POST /v1/conversations" in r.json()["detail"]


def test_judgements_are_filtered_and_paginated(api: Api) -> None:
    api.add_rubric()
    batch = [conversation(f"p{i}", text=f"Hello {i}, parcel fixed now.") for i in range(6)]
    api.wait_job(api.ingest(*batch).json()["job_id"])
    page1 = api.client.get("/v1/judgements?page_size=5", headers=api.auth("reviewer")).json()
    assert (page1["total"], len(page1["items"]), page1["next_page"]) == (12, 5, 2)
    last = api.client.get("/v1/judgements?page_size=5&page=3", headers=api.auth("reviewer")).json()
    assert (len(last["items"]), last["next_page"]) == (2, None)
    greet = api.client.get("/v1/judgements?criterion=greet&page_size=50", headers=api.auth("reviewer")).json()
    assert greet["total"] == 6 and {i["criterion_id"] for i in greet["items"]} == {"greet"}
    flagged = api.client.get("/v1/judgements?needs_review=true&page_size=500", headers=api.auth("reviewer")).json()
    assert flagged["total"] > 0 and all(i["needs_review"] and i["review_state"] == "routed" for i in flagged["items"])
    assert api.client.get("/v1/judgements?page=0", headers=api.auth("reviewer")).status_code == 422


def test_agreement_and_history_follow_reviewer_decisions(api: Api) -> None:
    version = api.add_rubric()["version"]
    api.wait_job(api.ingest(conversation("h1")).json()["job_id"])
    card = api.client.get("/v1/conversations/h1/scorecard", headers=api.auth()).json()
    greet = next(j for j in card["judgements"] if j["criterion_id"] == "greet")
    other = "no" if greet["answer"] == "yes" else "yes"
    from scorer.store.models import JudgementRow

    with api.store.session() as s:
        judgement_id = s.scalar(select(JudgementRow.id).where(JudgementRow.criterion_id == "greet"))
    assert judgement_id is not None
    record_review(api.store, judgement_id, Review(conversation_id="h1", criterion_id="greet",
                                                  rubric_version=version, kind="corrected", answer=other,
                                                  reviewer="rev@example.com", source="api", external_id="a1"),
                  external_version="1")
    card = api.client.get("/v1/conversations/h1/scorecard", headers=api.auth("reviewer")).json()
    greet = next(j for j in card["judgements"] if j["criterion_id"] == "greet")
    assert [h["kind"] for h in greet["history"]] == ["ai", "corrected"] and greet["current_answer"] == other
    stats = api.client.get("/v1/agreement?rubric_id=svc", headers=api.auth("reviewer")).json()
    by = {c["criterion_id"]: c for c in stats["criteria"]}
    assert (by["greet"]["reviewed"], by["greet"]["agreement"], by["solve"]["reviewed"]) == (1, 0.0, 0)
    assert api.client.get("/v1/agreement?rubric_id=nope", headers=api.auth()).status_code == 404


def test_probes(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert (body["status"], body["mode"], body["checks"]["database"]["ok"], body["checks"]["worker"]["ok"]) == (
        "ready", "in-process", True, True)
    assert body["checks"]["label_studio"]["ok"] is None


def test_revoked_key_is_refused(api: Api) -> None:
    from scorer.store.keys import list_keys

    ingest = next(k for k in list_keys(api.store) if k.role == "ingest")
    assert api.client.get("/v1/rubrics", headers=api.auth("ingest")).status_code == 200
    revoke_key(api.store, ingest.id)
    r = api.client.get("/v1/rubrics", headers=api.auth("ingest"))
    assert r.status_code == 401 and r.json()["detail"] == "unknown or revoked API key"
    assert r.headers["WWW-Authenticate"] == "Bearer"
