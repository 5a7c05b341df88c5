"""The dashboard as a person uses it, in Debian's chromium against a real ``rubricate serve``: log in, change a
filter and see the numbers change, click through to an agent, to a conversation, see the evidence highlighted;
an agent key cannot open another agent's pages even by URL; no console errors. Screenshots of each page go to a
temp dir, or to docs/img/ with RUBRICATE_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scorer.store import Store
from scorer.store.keys import create_key
from tests._api_fixtures import free_port, spawn, stop, wait_http
from tests._dashboard_data import conversation, seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS_IMG = Path(__file__).resolve().parents[1] / "docs" / "img"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make test installs it with apt-get)")
    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp / 'dash.db'}"
    store = Store(url)
    seed(store)
    keys = {"reviewer": create_key(store, "reviewer", "QA lead")[1],
            "agent": create_key(store, "agent", "Elena", agent_id="A-17")[1]}
    store.close()
    port = free_port()
    log = tmp / "serve.log"
    env = {"RUBRICATE_DATABASE_URL": url, "RUBRICATE_DATA_DIR": str(tmp / "data"), "RUBRICATE_JUDGE": "fake",
           "RUBRICATE_WORKER_ENABLED": "false"}
    process = spawn(["serve", "--port", str(port), "--log-level", "warning"], env, log)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process, log)
        yield {"base": f"http://127.0.0.1:{port}", "keys": keys, "shots": tmp}
    finally:
        stop(process)


def _shot(page: Any, server: dict[str, Any], name: str) -> None:
    update = os.environ.get("RUBRICATE_UPDATE_SCREENSHOTS") == "1"
    path = (DOCS_IMG if update else server["shots"]) / name
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one


def _kpi(page: Any) -> int:
    return int(page.locator('[data-kpi="conversations"] b').inner_text())


def _login(page: Any, base: str, key: str) -> None:
    page.goto(f"{base}/ui/")
    page.wait_for_url("**/ui/login**")
    page.fill("input[name=api_key]", key)
    page.click("form[action='/ui/login'] button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_reviewer_clicks_from_overview_to_highlighted_evidence(server: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    base = server["base"]
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base, server["keys"]["reviewer"])
        assert page.url.rstrip("/").endswith("/ui")
        page.goto(f"{base}/ui/?start=all")
        everyone = _kpi(page)
        assert everyone > 0
        page.wait_for_selector("canvas[data-chart='trend'][data-drawn='1']")
        _shot(page, server, "dashboard-overview.png")
        page.select_option("select[name=team]", "Billing")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**team=Billing**")
        billing = _kpi(page)
        assert 0 < billing < everyone  # the number changed with the filter
        page.locator("#by-agent a", has_text="Ana Popescu").first.click()
        page.wait_for_url("**/ui/agents/A-1**")
        page.wait_for_selector("canvas[data-chart='agent-trend'][data-drawn='1']")
        assert page.locator("#coaching .coach").count() >= 1
        _shot(page, server, "dashboard-agent.png")
        export = page.request.get(page.url.split("?")[0] + "/export.html?start=all")
        saved = server["shots"] / "scorecard.html"
        saved.write_bytes(export.body())
        offline = browser.new_page()  # the saved file alone draws its charts: nothing is fetched from the server
        offline.on("pageerror", lambda e: errors.append(str(e)))
        offline.on("request", lambda r: errors.append(f"export fetched {r.url}") if r.url.startswith("http") else None)
        offline.goto(saved.as_uri())
        offline.wait_for_selector("canvas[data-chart='agent-trend'][data-drawn='1']")
        assert offline.locator("#coaching .coach").count() >= 1
        offline.close()
        page.locator("#coaching .examples li.miss a").first.click()
        page.wait_for_url("**/ui/conversations/**#j-**")
        marks = page.locator(".transcript mark")
        assert marks.count() >= 1 and marks.first.is_visible()
        evidence = page.locator(".judgement .evidence a").first
        target = evidence.get_attribute("href")
        evidence.click()
        assert page.url.endswith(str(target))  # judgement → transcript
        marks.first.locator("a").click()
        assert "#j-" in page.url  # transcript → judgement
        page.goto(page.url.split("#")[0])
        _shot(page, server, "dashboard-conversation.png")
        chinese = next(conversation(i) for i in range(48) if conversation(i).language == "zh")
        page.goto(f"{base}/ui/conversations/{chinese.id}")
        assert "您好" in page.locator(".transcript").inner_text()
        page.goto(f"{base}/ui/criteria/acknowledge_concern?start=all")
        page.wait_for_selector("canvas[data-chart='criterion-rates'][data-drawn='1']")
        _shot(page, server, "dashboard-criterion.png")
        page.goto(f"{base}/ui/conversations?start=all&sort=score&order=asc")
        assert page.locator("#conversations tbody tr").count() > 10
        _shot(page, server, "dashboard-list.png")
        browser.close()
    assert not errors, errors


def test_agent_key_cannot_open_another_agents_pages(server: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    base = server["base"]
    other = next(conversation(i) for i in range(48) if conversation(i).agent_id == "A-1")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base, server["keys"]["agent"])
        assert "/ui/agents/A-17" in page.url
        assert page.locator("h1").inner_text().startswith("Elena Georgieva")
        response = page.goto(f"{base}/ui/conversations/{other.id}")
        assert response is not None and response.status == 404
        response = page.goto(f"{base}/ui/agents/A-1")
        assert response is not None and response.status == 404
        page.goto(f"{base}/ui/conversations?start=all")
        agents = set(page.locator("#conversations tbody td:nth-child(3)").all_inner_texts())
        assert agents == {"Elena Georgieva"}
        browser.close()
    assert not errors, errors


def test_a_single_week_is_drawn_inside_the_chart_not_on_its_axis(server: dict[str, Any]) -> None:
    """One week of data (a pilot's first week, or a one-week filter) puts the line's only point mid-chart, where it
    can be seen and clicked, rather than on the y axis."""
    from playwright.sync_api import sync_playwright

    base = server["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        _login(page, base, server["keys"]["reviewer"])
        for url, chart in ((f"{base}/ui/criteria/greeting?start=2026-10-05&end=2026-10-11", "criterion-rates"),
                           (f"{base}/ui/agents/A-1?start=2026-10-05&end=2026-10-11", "agent-trend")):
            page.goto(url)
            canvas = page.wait_for_selector(f"canvas[data-chart='{chart}'][data-drawn='1']")
            x, left, right = page.evaluate("(c) => { const ch = Chart.getChart(c); const p = ch.getDatasetMeta(0)"
                                           ".data[0]; return [p.x, ch.chartArea.left, ch.chartArea.right]; }", canvas)
            assert left + (right - left) / 4 < x < right - (right - left) / 4, (chart, x, left, right)
        browser.close()
