"""The disputes page and ``GET /v1/disputes`` with more disputes than a page: paged and filtered in SQL, page links
like the conversation list's, a 400 for a page number that cannot be answered."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from scorer.store.dashboard.listing import PAGE_SIZE
from scorer.store.disputes import count_disputes, list_disputes, open_dispute
from tests._api_fixtures import Api, make_settings, open_api
from tests._dashboard_data import conversation, seed
from tests.test_dashboard_ui import HTML, fresh, login

OPENED = PAGE_SIZE + 7
"""Disputes opened: one page and a bit (each keeps its conversation's agent)."""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_api(make_settings(tmp_path_factory.mktemp("disputes"), worker_enabled=False)) as api:
        seed(api.store)
        criteria = ("greeting", "closing", "no_forbidden_phrases")
        targets = [(conversation(i), c) for i in range(48) for c in criteria]
        for n, (c, criterion) in enumerate(targets[:OPENED]):
            open_dispute(api.store, c.id, criterion, f"dispute {n}", agent_id=None)
        yield api


def _rows(page: str) -> list[str]:
    return re.findall(r'<td class="comment">(dispute \d+)</td>', page)


def test_list_disputes_pages_and_counts_in_sql(api: Api) -> None:
    every = list_disputes(api.store)
    assert len(every) == OPENED == count_disputes(api.store)
    assert list_disputes(api.store, limit=5, offset=5) == every[5:10]
    assert list_disputes(api.store, status="open", limit=3) == every[:3]
    assert list_disputes(api.store, status="upheld", limit=3) == [] and count_disputes(api.store, status="upheld") == 0
    own = [d for d in every if d.agent_id == "A-1"]
    assert len(own) > 2
    assert count_disputes(api.store, agent_id="A-1") == len(own) and list_disputes(api.store, agent_id="A-1",
                                                                                   limit=2) == own[:2]


def test_the_disputes_page_shows_a_page_at_a_time_with_links(api: Api) -> None:
    client = login(fresh(api), api.keys["reviewer"])
    first = client.get("/ui/disputes").text
    newest = [f"dispute {n}" for n in range(OPENED - 1, -1, -1)]
    assert _rows(first) == newest[:PAGE_SIZE] and f"{OPENED} in all" in first
    assert "page 1 of 2" in first and 'href="?page=2" rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/ui/disputes?page=2").text
    assert _rows(second) == newest[PAGE_SIZE:] and 'href="?page=1" rel="prev"' in second and 'rel="next"' not in second
    open_first = client.get("/ui/disputes?status=open").text
    assert 'href="?status=open&amp;page=2" rel="next"' in open_first and _rows(open_first) == newest[:PAGE_SIZE]
    assert _rows(client.get("/ui/disputes?status=open&page=3").text) == []  # past the end: an empty page
    for page in ("0", "x", "99999999999999999999", "²"):
        r = client.get(f"/ui/disputes?page={page}", headers=HTML)
        assert r.status_code == 400 and "page" in r.text, page


def test_the_api_pages_disputes_with_limit_and_offset(api: Api) -> None:
    headers = api.auth("reviewer")
    every = api.client.get("/v1/disputes", headers=headers).json()
    assert len(every) == OPENED  # without limit: every one, as before
    page = api.client.get("/v1/disputes?status=open&limit=4&offset=2", headers=headers)
    assert page.status_code == 200 and page.json() == every[2:6]
    assert api.client.get("/v1/disputes?limit=0", headers=headers).status_code == 422
