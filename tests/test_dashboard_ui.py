"""The dashboard over HTTP: login and sessions, CSRF, roles (an agent key sees only its agent), pages, exports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scorer.store.keys import create_key, revoke_key
from tests._api_fixtures import Api, make_settings, open_api
from tests._dashboard_data import conversation, seed

HTML = {"accept": "text/html,application/xhtml+xml"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_api(make_settings(tmp_path_factory.mktemp("ui"), worker_enabled=False)) as api:
        seed(api.store)
        yield api


def login(client: TestClient, key: str, next_url: str = "") -> TestClient:
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    r = client.post("/ui/login", data={"api_key": key, "csrf_token": token.group(1), "next": next_url},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def fresh(api: Api) -> TestClient:
    return TestClient(api.client.app)


def test_without_a_session_browsers_go_to_login_and_scripts_get_401(api: Api) -> None:
    client = fresh(api)
    for path in ("/ui/", "/ui/agents/A-1", "/ui/conversations", "/ui/conversations/conv-001",
                 "/ui/criteria/greeting", "/ui/conversations.csv", "/ui/agents/A-1/export.csv"):
        r = client.get(path, headers=HTML, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/ui/login?next="), path
        assert client.get(path).status_code == 401, path
    assert client.get("/ui/login").status_code == 200


def test_login_sets_a_signed_httponly_cookie_and_follows_next(api: Api) -> None:
    client = fresh(api)
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/ui/login", data={"api_key": api.keys["reviewer"], "csrf_token": token,
                                       "next": "/ui/criteria/greeting"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/criteria/greeting"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("rubricate_session="))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower() and "path=/ui" in cookie.lower()
    assert api.keys["reviewer"] not in cookie
    assert client.get("/ui/").status_code == 200
    client.cookies.set("rubricate_session", cookie.split(";")[0].split("=", 1)[1][:-2] + "xx", path="/ui")
    assert client.get("/ui/").status_code == 401  # a tampered cookie is no session


def test_login_refuses_bad_keys_other_roles_missing_csrf_and_foreign_origins(api: Api) -> None:
    client = fresh(api)
    token = re.search(r'name="csrf_token" value="([^"]+)"',  # type: ignore[union-attr]
                      client.get("/ui/login").text).group(1)
    r = client.post("/ui/login", data={"api_key": "rk_00000000_nope", "csrf_token": token})
    assert r.status_code == 401 and "unknown or revoked" in r.text
    r = client.post("/ui/login", data={"api_key": api.keys["ingest"], "csrf_token": token})
    assert r.status_code == 403 and "cannot open the dashboard" in r.text
    r = client.post("/ui/login", data={"api_key": api.keys["admin"]}, headers=HTML)
    assert r.status_code == 400 and "security token" in r.text
    r = client.post("/ui/login", data={"api_key": api.keys["admin"], "csrf_token": token},
                    headers={"origin": "https://evil.example"})
    assert r.status_code == 400
    r = client.post("/ui/login", data={"api_key": api.keys["admin"], "csrf_token": token,
                                       "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/ui/"  # no open redirect


def test_logout_needs_csrf_and_ends_the_session(api: Api) -> None:
    client = login(fresh(api), api.keys["admin"])
    assert client.post("/ui/logout", data={}).status_code == 400
    page = client.get("/ui/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    assert client.get("/ui/").status_code == 401


def test_a_revoked_key_ends_its_sessions(api: Api) -> None:
    record, key = create_key(api.store, "reviewer", "soon revoked")
    client = login(fresh(api), key)
    assert client.get("/ui/").status_code == 200
    revoke_key(api.store, record.id)
    assert client.get("/ui/", headers=HTML, follow_redirects=False).status_code == 303


def test_agent_key_sees_only_its_agent(api: Api) -> None:
    _, key = create_key(api.store, "agent", "a17", agent_id="A-17")
    client = fresh(api)
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/ui/login", data={"api_key": key, "csrf_token": token}, follow_redirects=False)
    assert r.headers["location"] == "/ui/agents/A-17"
    assert client.get("/ui/agents/A-17").status_code == 200
    other = next(i for i in range(40) if conversation(i).agent_id == "A-1")
    own = next(i for i in range(40) if conversation(i).agent_id == "A-17")
    assert client.get("/ui/agents/A-1").status_code == 404
    assert client.get("/ui/agents/A-1/export.csv").status_code == 404
    assert client.get(f"/ui/conversations/{conversation(other).id}").status_code == 404
    assert client.get(f"/ui/conversations/{conversation(own).id}").status_code == 200
    listing = client.get("/ui/conversations?start=all&agent=A-1").text
    assert conversation(other).id not in listing
    rows = list(csv.DictReader(io.StringIO(client.get("/ui/conversations.csv?start=all").text)))
    assert rows and {r["agent_id"] for r in rows} == {"A-17"}
    overview = client.get("/ui/?start=all").text
    assert "Ana Popescu" not in overview and "Elena Georgieva" in overview


def test_bearer_keys_work_for_scripts(api: Api) -> None:
    client = fresh(api)
    assert client.get("/ui/conversations.csv", headers=api.auth("reviewer")).status_code == 200
    assert client.get("/ui/conversations.csv", headers=api.auth("ingest")).status_code == 403


def test_pages_render_numbers_evidence_and_states(api: Api) -> None:
    client = login(fresh(api), api.keys["reviewer"])
    overview = client.get("/ui/?start=all")
    assert overview.headers["content-security-policy"].startswith("default-src 'self'")
    assert 'data-kpi="conversations"><b>49</b>' in overview.text  # 48 scored (one twice, counted once) + 1 excluded
    tech = client.get("/ui/?start=all&team=Tech").text
    assert re.search(r'data-kpi="conversations"><b>(\d+)</b>', tech).group(1) != "49"  # type: ignore[union-attr]
    page = client.get("/ui/conversations/conv-002").text
    mark = re.search(r'<span class="anchor" id="(ev-[^"]+)"></span>', page)
    assert mark and "<mark" in page and f'href="#{mark.group(1)}"' in page  # linked both ways
    assert "Chen Wei" in page and "fake judge" in page
    excluded = client.get("/ui/conversations/conv-048").text
    assert "Excluded from scoring" in excluded and "too_short" in excluded
    assert client.get("/ui/criteria/greeting?start=all").status_code == 200
    assert client.get("/ui/criteria/nope").status_code == 404
    assert client.get("/ui/conversations?start=yesterday", headers=HTML).status_code == 400
    assert client.get("/ui/conversations?sort=evil").status_code == 400
    reviewed = client.get("/ui/conversations/" + _reviewed(api)).text
    assert "confirmed" in reviewed or "corrected" in reviewed


def _reviewed(api: Api) -> str:
    from sqlalchemy import select

    from scorer.store.models import ReviewEventRow

    with api.store.session() as s:
        return str(s.scalar(select(ReviewEventRow.conversation_id).where(ReviewEventRow.kind != "ai").limit(1)))


def test_transcript_text_is_never_markup(api: Api, tmp_path: Path) -> None:
    from scorer.judges.fake import FakeJudge
    from scorer.pipeline import score_conversation
    from scorer.rubric import load_rubric
    from tests._dashboard_data import RUBRIC

    evil = conversation(200).model_copy(update={"id": "xss-1", "turns": [
        conversation(200).turns[0].model_copy(update={"text": "<script>alert(1)</script> & <b>bold</b>"}),
        conversation(200).turns[1].model_copy(update={"text": "Hi <img src=x onerror=alert(1)>. Sorry."})]})
    score_conversation(evil, load_rubric(RUBRIC), FakeJudge("yes"), store=api.store)
    page = login(fresh(api), api.keys["admin"]).get("/ui/conversations/xss-1").text
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<mark" in page


def test_exports(api: Api) -> None:
    client = login(fresh(api), api.keys["reviewer"])
    listing = client.get("/ui/conversations?start=all&team=Billing")
    total = int(re.search(r"(\d+) matching", listing.text).group(1))  # type: ignore[union-attr]
    r = client.get("/ui/conversations.csv?start=all&team=Billing")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.headers["content-type"].startswith("text/csv") and len(rows) == total > 0
    assert {row["team"] for row in rows} == {"Billing"}
    card = list(csv.DictReader(io.StringIO(client.get("/ui/agents/A-1/export.csv?start=all").text)))
    assert len(card) == 11 and {"pass_rate", "previous_pass_rate", "change"} <= set(card[0])
    html = client.get("/ui/agents/A-1/export.html?start=all")
    assert "attachment" in html.headers["content-disposition"]
    assert "Chart.js v4" in html.text and 'src="' not in html.text and 'rel="stylesheet"' not in html.text
    assert "Ana Popescu" in html.text and "Coaching" in html.text


def _csrf(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    return token.group(1)


def test_an_agent_disputes_a_judgement_from_the_conversation_page(api: Api) -> None:
    _, key = create_key(api.store, "agent", "a17 disputes", agent_id="A-17")
    client = login(fresh(api), key)
    own = next(conversation(i).id for i in range(40) if conversation(i).agent_id == "A-17"
               and client.get(f"/ui/conversations/{conversation(i).id}").text.count('name="criterion_id"'))
    page = client.get(f"/ui/conversations/{own}").text
    criterion = re.search(r'name="criterion_id" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    url = f"/ui/conversations/{own}/disputes"
    form = {"criterion_id": criterion, "comment": "I did greet: see my first message", "csrf_token": _csrf(page)}
    assert client.post(url, data={**form, "csrf_token": "forged"}, follow_redirects=False).status_code in (400, 403)
    r = client.post(url, data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(f"#j-{criterion}")
    page = client.get(f"/ui/conversations/{own}").text
    assert "Dispute <b>open</b>" in page and "I did greet: see my first message" in page
    listed = api.client.get("/v1/disputes?status=open", headers=api.auth("reviewer")).json()
    assert any(d["conversation_id"] == own and d["criterion_id"] == criterion for d in listed)
    again = client.post(url, data={**form, "csrf_token": _csrf(page)}, follow_redirects=False)
    assert again.status_code == 409  # one open dispute per judgement
    other = next(conversation(i).id for i in range(40) if conversation(i).agent_id == "A-1")
    assert client.post(f"/ui/conversations/{other}/disputes", data={**form, "csrf_token": _csrf(page)},
                       follow_redirects=False).status_code == 404
    reviewer = login(fresh(api), api.keys["reviewer"])
    reviewer_page = reviewer.get(f"/ui/conversations/{own}").text
    assert 'name="criterion_id"' not in reviewer_page and "Dispute <b>open</b>" in reviewer_page
    assert reviewer.post(url, data={**form, "csrf_token": _csrf(reviewer_page)},
                         follow_redirects=False).status_code == 403


def test_model_cost_and_tokens_on_the_overview_and_the_conversation(tmp_path: Path) -> None:
    from scorer.judges.fake import FakeJudge
    from scorer.pipeline import score_conversation
    from scorer.routing import RoutingPolicy
    from scorer.rubric import load_rubric
    from scorer.usage import Usage
    from tests._dashboard_data import RUBRIC

    with open_api(make_settings(tmp_path, worker_enabled=False)) as api:
        rubric = load_rubric(RUBRIC)
        client = login(fresh(api), api.keys["reviewer"])
        score_conversation(conversation(0), rubric, FakeJudge(), store=api.store, policy=RoutingPolicy())
        assert "no model calls recorded" in client.get("/ui/?start=all").text
        for i, cost in ((1, 0.012), (2, 0.004)):
            card = score_conversation(conversation(i), rubric, FakeJudge(), policy=RoutingPolicy())[0]
            api.store.save_score_card(conversation(i), rubric, card.model_copy(update={"usage": Usage(
                calls=11, prompt_tokens=1000 * i, completion_tokens=100, cached_tokens=500, cost_usd=cost)}))
        found = re.search(r'data-kpi="cost">(.*?)</div>', client.get("/ui/?start=all").text)
        assert found
        kpi = found.group(1)
        # $0.016 over the two priced conversations; 3,200 tokens (1,000 cached); $0.0080 and 1,600 tokens each
        assert "$0.0160" in kpi and "3,200 tokens (1,000 cached)" in kpi and "$0.0080 and 1,600 tokens" in kpi
        page = client.get("/ui/conversations/conv-002").text
        assert "11 model call(s), 2,100 tokens (500 cached), cost $0.0040" in page
        assert 'id="usage"' not in client.get("/ui/conversations/conv-000").text
