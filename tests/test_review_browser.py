"""A reviewer's view in a real browser: log in to Label Studio, open a pushed task, see the question, the AI's
answer and the highlighted evidence. Saves a screenshot for the docs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from labeling.server import Credentials
from labeling.sync import Connection, push
from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.routing import RoutingPolicy
from scorer.rubric import load_rubric
from scorer.store import Store
from scorer.types import Conversation

pytestmark = [pytest.mark.labelstudio, pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The docs' screenshot is refreshed only on request (RUBRICATE_UPDATE_SCREENSHOTS=1); a test run leaves the tree clean.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "review-task.png"
ROOT = Path(__file__).resolve().parents[1]


def test_reviewer_sees_question_ai_answer_and_evidence(label_studio: Credentials, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make test installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    rubric = load_rubric(ROOT / "examples" / "rubrics" / "support-core.yaml")
    conversation = Conversation(id="browser-1", channel="chat", language="en", turns=[
        {"speaker": "customer", "text": "Hi, my internet has been down since yesterday and I work from home."},
        {"speaker": "agent", "text": "Hello, this is Priya from Northwind Broadband. I have booked an engineer "
                                     "for tomorrow between 8 and 10 am."}])
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    card, _ = score_conversation(conversation, rubric, FakeJudge("yes"), store=store,
                                 policy=RoutingPolicy(threshold=0.99, audit_rate=0))
    result = push(store, Connection(label_studio.url, label_studio.token), rubric)
    quote = card.judgements[0].evidence[0].quote
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(f"{label_studio.url}/user/login/")
        page.fill("input[name=email]", label_studio.username)
        page.fill("input[name=password]", label_studio.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/user/login" not in url, timeout=30_000)
        page.goto(f"{label_studio.url}/projects/{result.project_id}/data?labeling=1")
        page.get_by_text(rubric.criteria[0].question, exact=False).first.wait_for(timeout=60_000)
        page.get_by_text("AI answer: yes", exact=False).first.wait_for(timeout=30_000)
        highlighted = page.locator(".htx-highlight")
        highlighted.first.wait_for(timeout=10_000)
        texts = " ".join(highlighted.all_inner_texts())
        assert page.locator("input[type=checkbox]:checked").count() >= 1  # the AI's answers are pre-selected
        page.wait_for_timeout(500)
        update = os.environ.get("RUBRICATE_UPDATE_SCREENSHOTS") == "1"
        screenshot = DOCS_SCREENSHOT if update else tmp_path / "review-task.png"
        page.screenshot(path=str(screenshot), full_page=False)
        assert screenshot.stat().st_size > 10_000  # a rendered page, not an empty image
        browser.close()
    assert quote.split()[0] in texts
