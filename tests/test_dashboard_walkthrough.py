"""Odd but legal input a walk through the dashboard met: ids that are not URL-safe (each link keeps them one path
segment), page numbers and periods that cannot be answered (a 400 that says why, not a server error)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient

from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.rubric import load_rubric
from scorer.store.keys import create_key
from tests._api_fixtures import Api, make_settings, open_api
from tests._dashboard_data import RUBRIC, conversation, seed
from tests.test_dashboard_ui import HTML, fresh, login

ODD_ID = "T 1042#2?x=1&y=<b>"
ODD_AGENT = "EU/A 7#ro"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_api(make_settings(tmp_path_factory.mktemp("walk"), worker_enabled=False)) as api:
        seed(api.store)
        odd = conversation(3).model_copy(update={"id": ODD_ID, "agent_id": ODD_AGENT, "agent_name": "Ioana Stan"})
        score_conversation(odd, load_rubric(RUBRIC), FakeJudge(), store=api.store)
        yield api


def _reviewer(api: Api) -> TestClient:
    return login(fresh(api), api.keys["reviewer"])


def test_ids_that_are_not_url_safe_are_one_path_segment_in_every_link(api: Api) -> None:
    client = _reviewer(api)
    listing = client.get("/ui/conversations?start=all&sort=id&order=desc").text
    assert f'href="/ui/conversations/{quote(ODD_ID, safe="")}"' in listing
    assert f'href="/ui/agents/{quote(ODD_AGENT, safe="")}"' in listing
    page = client.get(f"/ui/conversations/{quote(ODD_ID, safe='')}")
    assert page.status_code == 200 and "Ioana Stan" in page.text
    assert f'href="/ui/agents/{quote(ODD_AGENT, safe="")}"' in page.text
    overview = client.get("/ui/?start=all").text
    assert f'href="/ui/agents/{quote(ODD_AGENT, safe="")}?' in overview
    agent = client.get(f"/ui/agents/{quote(ODD_AGENT, safe='')}?start=all")
    assert agent.status_code == 200 and "Ioana Stan" in agent.text
    assert f'href="/ui/conversations/{quote(ODD_ID, safe="")}#j-' in agent.text  # the coaching examples
    for export in ("export.csv", "export.html"):
        assert f'/ui/agents/{quote(ODD_AGENT, safe="")}/{export}?' in agent.text
        r = client.get(f"/ui/agents/{quote(ODD_AGENT, safe='')}/{export}?start=all")
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"], export


def test_an_agent_with_an_odd_id_logs_in_and_disputes_from_the_page(api: Api) -> None:
    _, key = create_key(api.store, "agent", "ioana", agent_id=ODD_AGENT)
    client = fresh(api)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/ui/login").text).group(1)  # type: ignore[union-attr]
    r = client.post("/ui/login", data={"api_key": key, "csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == f"/ui/agents/{quote(ODD_AGENT, safe='')}"
    assert client.get(r.headers["location"]).status_code == 200
    page = client.get(f"/ui/conversations/{quote(ODD_ID, safe='')}").text
    action = re.search(r'<form method="post" action="([^"]+)"', page.split('class="dispute-form"')[1]).group(1)  # type: ignore[union-attr]
    assert action == f"/ui/conversations/{quote(ODD_ID, safe='')}/disputes"
    criterion = re.search(r'name="criterion_id" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post(action, data={"criterion_id": criterion, "comment": "I did", "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303
    assert unquote(r.headers["location"].split("#")[0]) == f"/ui/conversations/{ODD_ID}"
    assert r.headers["location"].endswith(f"#j-{criterion}")
    assert "Dispute <b>open</b>" in client.get(r.headers["location"].split("#")[0]).text


@pytest.mark.parametrize("page", ["99999999999999999999", "1" + "0" * 5000, "²", "1000001"])
def test_page_numbers_that_cannot_be_read_are_a_400_not_a_server_error(api: Api, page: str) -> None:
    client = _reviewer(api)
    r = client.get(f"/ui/conversations?start=all&page={page}", headers=HTML)
    assert r.status_code == 400 and "page" in r.text
    assert client.get(f"/ui/conversations.csv?page={page}").status_code == 400
    assert client.get("/ui/conversations?start=all&page=0002").status_code == 200


def test_a_period_that_ends_before_it_starts_says_so(api: Api) -> None:
    r = _reviewer(api).get("/ui/?start=2026-11-10&end=2026-10-01", headers=HTML)
    assert r.status_code == 400 and "start=2026-11-10 is after end=2026-10-01" in r.text


@pytest.mark.parametrize(("query", "said"), [
    ("rubric=nope", "rubric='nope' is not stored; stored rubrics: support-core"),
    ("version=0123abcd", "version='0123abcd' is not a stored version of rubric 'support-core'; its versions"),
])
def test_a_rubric_or_version_that_is_not_stored_is_named_with_what_is(api: Api, query: str, said: str) -> None:
    client = _reviewer(api)
    for path in ("/ui/", "/ui/conversations", "/ui/agents/A-1", "/ui/criteria/greeting"):
        r = client.get(f"{path}?{query}", headers=HTML)
        assert r.status_code == 400 and said in html.unescape(r.text), (path, r.status_code)


def test_a_long_comment_with_line_breaks_is_taken_as_the_browser_counted_it(api: Api) -> None:
    """The textarea allows 5,000 characters counting a line break as one; the browser sends it as CRLF (two)."""
    _, key = create_key(api.store, "agent", "boris", agent_id="A-2")
    client = login(fresh(api), key)
    own = next(conversation(i).id for i in range(40) if conversation(i).agent_id == "A-2")
    page = client.get(f"/ui/conversations/{own}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    criterion = re.search(r'name="criterion_id" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    comment = "\r\n".join(["Point."] * 700)  # 4,899 characters in the textarea, 5,598 as sent
    r = client.post(f"/ui/conversations/{own}/disputes", headers=HTML, follow_redirects=False,
                    data={"criterion_id": criterion, "comment": comment, "csrf_token": token})
    assert r.status_code == 303, r.text[:300]
    listed = api.client.get("/v1/disputes?status=open", headers=api.auth("reviewer")).json()
    stored = next(d["comment"] for d in listed if d["conversation_id"] == own)
    assert stored == comment.replace("\r\n", "\n")
    r = client.post(f"/ui/conversations/{own}/disputes", headers=HTML,
                    data={"criterion_id": "closing", "comment": "x" * 5001, "csrf_token": token})
    assert r.status_code == 422 and "keep it to 5,000" in r.text and "<!doctype html>" in r.text


def test_a_browser_gets_the_dashboards_page_for_errors_fastapi_raises(api: Api) -> None:
    client = _reviewer(api)
    r = client.get("/ui/no-such-page", headers=HTML)
    assert r.status_code == 404 and "<!doctype html>" in r.text and "no dashboard page at /ui/no-such-page" in r.text
    assert 'href="/ui/disputes"' in r.text or "Back to the dashboard" in r.text
    assert client.get("/ui/no-such-page").json() == {"detail": "Not Found"}  # scripts keep JSON
    assert client.get("/v1/nope", headers=HTML).headers["content-type"].startswith("application/json")
    assert client.get("/ui/static/app.css").status_code == 200


def test_error_pages_keep_the_navigation_and_the_logout(api: Api) -> None:
    page = _reviewer(api).get("/ui/conversations/no-such-conversation", headers=HTML)
    assert page.status_code == 404 and 'action="/ui/logout"' in page.text and 'href="/ui/disputes"' in page.text
    _, key = create_key(api.store, "agent", "chen", agent_id="A-3")
    page = login(fresh(api), key).get("/ui/agents/A-1", headers=HTML)
    assert page.status_code == 404 and "My scorecard" in page.text and 'action="/ui/logout"' in page.text
    assert 'action="/ui/logout"' not in fresh(api).get("/ui/login?next=/ui/nope", headers=HTML).text


def test_an_excluded_conversation_says_why_in_the_list_and_the_csv(api: Api) -> None:
    from scorer.types import ScoreCard

    rubric = load_rubric(RUBRIC)
    odd = conversation(60).model_copy(update={"id": "excluded-odd"})
    api.store.save_score_card(odd, rubric, ScoreCard(
        conversation_id=odd.id, rubric_id=rubric.id, rubric_version=rubric.version, judge="eligibility",
        score=None, status="excluded", excluded_reason="<b>spam</b>", judgements=[]))
    client = _reviewer(api)
    listing = client.get("/ui/conversations?start=all&status=excluded").text
    rows = {m.group(1): m.group(2) for m in re.finditer(
        r'<td><a href="/ui/conversations/([^"]+)">.*?<td>(<span class="tag">excluded</span>.*?)</td>', listing, re.S)}
    assert set(rows) == {"conv-048", "excluded-odd"}
    assert "too_short" in rows["conv-048"]  # the seed's excluded card
    assert "&lt;b&gt;spam&lt;/b&gt;" in rows["excluded-odd"] and "<b>spam" not in listing  # data, not markup
    exported = {r["conversation_id"]: r for r in csv.DictReader(io.StringIO(
        client.get("/ui/conversations.csv?start=all&status=excluded").text))}
    assert exported["conv-048"]["excluded_reason"] == "too_short"
    assert exported["excluded-odd"]["excluded_reason"] == "<b>spam</b>"
