"""Hostile but fair requests to the service (issue 13): lone surrogates, unaddressable ids, deep JSON, YAML bombs,
coerced rubric types, malformed webhooks. Each gets a clear 4xx naming the item or field; the valid items beside it
are accepted; every response carries the security headers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scorer.settings import Settings
from tests._api_fixtures import RUBRIC_YAML, Api, conversation, make_settings, open_api
from tests.test_hostile_rubric import bomb

TEXTS = {"en": "Hello, I am Ana. I will send a new parcel today.", "zh": "您好，我是小王。我们今天给您补发包裹。",
         "ro": "Bună ziua, sunt Ana. Vă trimit azi un colet nou.",
         "bg": "Здравейте, аз съм Иван. Ще ви изпратя нов пакет."}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("hostile")
    with open_api(make_settings(tmp, webhook_secret="s3cret", max_rubric_bytes=100_000)) as running:
        running.add_rubric()
        yield running


def _post(api: Api, body: str, path: str = "/v1/conversations", **headers: str) -> httpx.Response:
    return api.client.post(path, content=body.encode(), headers=api.auth("admin", **{"content-type":
                                                                                        "application/json", **headers}))


@pytest.mark.parametrize("lang", list(TEXTS))
def test_lone_surrogate_is_refused_and_the_others_accepted(api: Api, lang: str) -> None:
    bad = json.dumps(conversation(f"sur-{lang}", TEXTS[lang])).replace("My parcel", "My \\ud800 parcel")
    body = (f'{{"rubric_id": "svc", "conversations": [{json.dumps(conversation(f"ok1-{lang}", TEXTS[lang]))}, '
            f'{bad}, {json.dumps(conversation(f"ok2-{lang}", TEXTS[lang]))}]}}')
    r = _post(api, body)
    assert r.status_code == 202, r.text
    assert [a["id"] for a in r.json()["accepted"]] == [f"ok1-{lang}", f"ok2-{lang}"]
    [rejected] = r.json()["rejected"]
    assert rejected["index"] == 1 and "lone surrogate" in rejected["reason"]
    assert "turns.0.text (turn 1)" in rejected["reason"]  # the JSON path, and the turn as people count it
    single = _post(api, f'{{"rubric_id": "svc", "conversation": {bad}}}')
    assert single.status_code == 422 and "lone surrogate" in single.text
    odd_rubric = _post(api, '{"rubric_id": "svc\\udc00", "conversation": ' + json.dumps(conversation("x")) + "}")
    assert odd_rubric.status_code == 422 and "lone surrogate" in odd_rubric.text


@pytest.mark.parametrize(("cid", "why"), [("a/b", "'/'"), ("x" * 256, "at most 255"), ("nl\nid", "control")])
def test_unaddressable_ids_are_refused_at_ingest(api: Api, cid: str, why: str) -> None:
    r = api.ingest(conversation(cid), conversation(f"fine-{len(cid)}"))
    assert r.status_code == 202, r.text
    assert [x["index"] for x in r.json()["rejected"]] == [0] and why in r.json()["rejected"][0]["reason"]
    assert api.ingest(conversation(cid)).status_code == 422
    assert api.client.get(f"/v1/conversations/fine-{len(cid)}/scorecard", headers=api.auth()).status_code in (200,
                                                                                                             404)


def test_deep_json_is_a_4xx(api: Api) -> None:
    deep = '{"rubric_id": "svc", "conversation": {"id": "d", "metadata": ' + "[" * 10_000 + "]" * 10_000 + "}}"
    r = _post(api, deep)
    assert r.status_code == 400 and "RUBRICATE_MAX_JSON_DEPTH" in r.text, r.text
    medium = conversation("medium", metadata={"a": json.loads("[" * 100 + "]" * 100)})
    r = api.ingest(medium, conversation("shallow"))
    assert r.status_code == 202 and "RUBRICATE_MAX_JSON_DEPTH" in r.json()["rejected"][0]["reason"]
    r = _post(api, '{"yaml": 1, "x": ' + "[" * 10_000 + "]" * 10_000 + "}", "/v1/rubrics")
    assert r.status_code in (400, 422), r.text


def test_yaml_bomb_is_refused_and_nothing_stored(api: Api) -> None:
    r = api.client.post("/v1/rubrics", content=bomb(8).replace("id: r", "id: bomb"),
                        headers=api.auth(**{"content-type": "application/yaml"}))
    assert r.status_code == 422 and "RUBRICATE_YAML_MAX" in r.text
    assert api.client.get("/v1/rubrics/bomb", headers=api.auth()).status_code == 404
    big = RUBRIC_YAML + "# " + "x" * 200_000 + "\n"
    r = api.client.post("/v1/rubrics", content=big, headers=api.auth(**{"content-type": "application/yaml"}))
    assert r.status_code == 413 and "RUBRICATE_MAX_RUBRIC_BYTES" in r.text


@pytest.mark.parametrize(("criterion", "message"), [
    ({"auto_fail": "false"}, "'auto_fail' must be true or false"),
    ({"question": 42}, "'question' must be text"),
    ({"question": ["a", "b"]}, "'question' must be text"),
    ({"weight": 1e400}, "'weight' must be a finite number"),
    ({"scale": {"levels": ["bad", "good"], "descriptions": ["x"]}}, "'descriptions' must map"),
])
def test_json_rubric_types_are_strict(api: Api, criterion: dict[str, Any], message: str) -> None:
    body = {"id": "strict", "criteria": [{"id": "q", "question": "Q?", **criterion}]}
    text = json.dumps(body).replace("Infinity", "1e400")
    r = _post(api, text, "/v1/rubrics")
    assert r.status_code == 422, r.text
    assert message in r.text
    r = _post(api, json.dumps({"id": "strict", "description": ["a"], "criteria": [{"id": "q", "question": "Q?"}]}),
              "/v1/rubrics")
    assert r.status_code == 422 and "'description' must be text" in r.text


def _headers_ok(response: httpx.Response, keyed: bool) -> None:
    h = response.headers
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    if keyed:
        assert h["cache-control"] == "no-store"


def test_security_headers_on_every_response(api: Api) -> None:
    _headers_ok(api.client.get("/healthz"), keyed=False)
    _headers_ok(api.client.get("/openapi.json"), keyed=False)
    _headers_ok(api.client.get("/v1/rubrics", headers=api.auth()), keyed=True)
    _headers_ok(api.client.get("/v1/rubrics"), keyed=True)  # 401
    _headers_ok(api.client.get("/v1/rubrics/nope", headers=api.auth()), keyed=True)  # 404
    _headers_ok(api.ingest(conversation("")), keyed=True)  # 422
    _headers_ok(api.client.post("/v1/conversations", content=b"x" * 10, headers=api.auth(**{
        "content-length": str(10**9)})), keyed=True)  # 413 from the body limit
    _headers_ok(api.client.get("/no-such-page"), keyed=False)
    docs = api.client.get("/docs")
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]


def test_webhook_payload_is_validated(api: Api) -> None:
    secret = {"X-Rubricate-Secret": "s3cret"}
    url = "/v1/labeling/webhook"
    payloads: list[Any] = [{"action": "ANNOTATION_CREATED", "annotation": "nope", "task": {"id": 1}},
                           {"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "result": [{"value": 3}]},
                            "task": {"id": "x"}},
                           {"action": ["x"]}, [], {"action": "ANNOTATION_UPDATED", "annotation": {"id": 1},
                                                    "task": {"id": 1}, "project": {"title": 5}}]
    for payload in payloads:
        r = api.client.post(url, json=payload, headers=secret)
        assert r.status_code == 422, (payload, r.text)
    assert api.client.post(url, json={"action": "x", "annotation": "nope"}).status_code == 401
    ok = api.client.post(url, headers=secret, json={
        "action": "ANNOTATION_CREATED", "annotation": {"id": 1, "result": []}, "task": {"id": 1, "data": {}},
        "project": {"title": "not ours"}})
    assert ok.status_code == 200 and ok.json()["stored"] == 0



class _ThreadNotingSettings(Settings):
    """Settings that note which thread reads which limit (a fake, no patching): the route reads the size limit on
    the event loop first; only the parser reads the YAML node limit."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("max_rubric_bytes", "yaml_max_nodes"):
            object.__getattribute__(self, "__pydantic_private__")["seen"].append(
                (name, threading.get_ident()))
        return super().__getattribute__(name)


def test_rubric_parsing_runs_off_the_event_loop(tmp_path: Path) -> None:
    base = make_settings(tmp_path)
    settings = _ThreadNotingSettings(_env_file=None, **base.model_dump())  # type: ignore[call-arg]
    object.__setattr__(settings, "__pydantic_private__", {"seen": []})
    with open_api(settings) as running:
        seen = settings.__pydantic_private__["seen"]  # type: ignore[index]
        seen.clear()
        running.add_rubric(RUBRIC_YAML.replace("id: svc", "id: loop"))
        assert seen and seen[0][0] == "max_rubric_bytes", seen  # the route's size check, on the event loop
        loop_thread = seen[0][1]
        parser_threads = {thread for name, thread in seen if name == "yaml_max_nodes"}
        assert parser_threads and loop_thread not in parser_threads, "the rubric was parsed on the event loop"
