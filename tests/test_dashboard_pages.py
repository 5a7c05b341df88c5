"""The conversation page and the charts as a reader meets them: a reviewer's decision heads the judgement it
overrides, turns carry the numbers the evidence cites, and a period with nothing to chart says so."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests._api_fixtures import Api, make_settings, open_api
from tests._dashboard_data import seed
from tests.test_dashboard_ui import fresh, login


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with open_api(make_settings(tmp_path_factory.mktemp("pages"), worker_enabled=False)) as api:
        seed(api.store)
        yield api


def _reviewer(api: Api) -> TestClient:
    return login(fresh(api), api.keys["reviewer"])


def test_the_reviewers_standing_answer_heads_the_judgement(api: Api) -> None:
    from sqlalchemy import select

    from scorer.store.models import JudgementRow, ReviewEventRow

    with api.store.session() as s:  # a judgement a reviewer corrected (seed: every third review)
        external, criterion, ai, human = s.execute(
            select(ReviewEventRow.conversation_id, ReviewEventRow.criterion_id, JudgementRow.answer,
                   ReviewEventRow.answer).join(JudgementRow, JudgementRow.id == ReviewEventRow.judgement_id)
            .where(ReviewEventRow.kind == "corrected", ReviewEventRow.superseded.is_(False))
            .order_by(ReviewEventRow.id).limit(1)).one()
    page = _reviewer(api).get(f"/ui/conversations/{external}").text
    article = page.split(f'id="j-{criterion}"')[1].split("</article>")[0]
    heading = article.split("</h3>")[0]
    assert f'<span class="answer">{human}</span>' in heading
    assert "reviewer's answer" in heading and f"<s>{ai}</s>" in heading
    failing = human == "no"
    assert ('class="judgement miss' in page.split(f'id="j-{criterion}"')[0].rsplit("<article", 1)[1]) == failing


def test_a_period_without_conversations_says_so_instead_of_drawing_empty_axes(api: Api) -> None:
    client = _reviewer(api)
    empty = client.get("/ui/?start=2020-01-01&end=2020-01-31").text
    assert "<canvas" not in empty.split('id="by-team"')[0]
    assert 'data-empty-chart="trend"' in empty and "No conversations in this period." in empty
    assert 'data-empty-chart="distribution"' in empty and 'data-empty-chart="categories"' in empty
    agent = client.get("/ui/agents/A-1?start=2020-01-01&end=2020-01-31").text
    assert 'data-empty-chart="agent-trend"' in agent and 'data-empty-chart="agent-categories"' in agent
    criterion = client.get("/ui/criteria/greeting?start=2020-01-01&end=2020-01-31").text
    assert 'data-empty-chart="criterion-rates"' in criterion
    full = client.get("/ui/?start=all").text
    assert 'data-chart="trend"' in full and 'data-empty-chart' not in full


def test_turns_are_numbered_as_the_evidence_cites_them(api: Api) -> None:
    page = _reviewer(api).get("/ui/conversations/conv-002").text
    cited = re.search(r"</a> <small>turn (\d+)</small>", page)
    assert cited, "no evidence quote on the page"
    turn = int(cited.group(1))
    block = page.split(f'id="t-{turn - 1}"')[1].split('<div class="text"')[0]
    assert f'<span class="turn-no">turn {turn}</span>' in block


def test_disputes_are_listed_for_the_qa_lead_and_for_the_agent_who_opened_them(api: Api) -> None:
    from scorer.store.disputes import open_dispute
    from scorer.store.keys import create_key
    from tests._dashboard_data import conversation

    own = next(conversation(i).id for i in range(40) if conversation(i).agent_id == "A-4")
    _, key = create_key(api.store, "agent", "dana", agent_id="A-4")
    agent = login(fresh(api), key)
    assert "No disputes of yours." in agent.get("/ui/disputes").text  # the empty state
    open_dispute(api.store, own, "greeting", "I named the <b>company</b>", agent_id="A-4")
    reviewer = _reviewer(api)
    assert 'href="/ui/disputes"' in reviewer.get("/ui/").text  # in the navigation
    listed = reviewer.get("/ui/disputes?status=open").text
    row = listed.split('id="disputes"')[1]
    assert f'href="/ui/conversations/{own}#j-greeting"' in row and "I named the &lt;b&gt;company&lt;/b&gt;" in row
    assert 'href="/ui/agents/A-4"' in row and "awaiting a reviewer" in row
    assert own not in reviewer.get("/ui/disputes?status=upheld").text
    assert own in agent.get("/ui/disputes").text
    _, other = create_key(api.store, "agent", "ana", agent_id="A-1")
    assert own not in login(fresh(api), other).get("/ui/disputes").text  # an agent sees only their own
    r = reviewer.get("/ui/disputes?status=<script>", headers={"accept": "text/html"})
    assert r.status_code == 400 and "<script>" not in r.text


def test_the_review_kpi_says_what_it_counts_and_how_the_queue_fills(api: Api,
                                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    kpi = re.search(r'data-kpi="reviews">(.*?)</div>', _reviewer(api).get("/ui/?start=all").text)
    assert kpi and "in the queue (queued or in Label Studio) / done" in kpi.group(1)
    assert "review push" not in kpi.group(1)  # the seeded programme has a queue
    from scorer.judges.fake import FakeJudge
    from scorer.pipeline import score_conversation
    from scorer.routing import RoutingPolicy
    from scorer.rubric import load_rubric
    from tests._dashboard_data import RUBRIC, conversation

    with open_api(make_settings(tmp_path_factory.mktemp("fresh"), worker_enabled=False)) as fresh_api:
        score_conversation(conversation(0), load_rubric(RUBRIC), FakeJudge(), store=fresh_api.store,
                           policy=RoutingPolicy(threshold=0.99))  # flagged, not yet queued
        kpi = re.search(r'data-kpi="reviews">(.*?)</div>', _reviewer(fresh_api).get("/ui/?start=all").text)
        assert kpi and "<b>0 / 0</b>" in kpi.group(1) and "<code>rubricate review push</code>" in kpi.group(1)


def test_a_rule_rationale_cites_the_turn_the_page_numbers(api: Api) -> None:
    page = html.unescape(_reviewer(api).get("/ui/conversations/conv-002").text)
    article = page.split('id="j-greeting"')[1].split("</article>")[0]
    cited = re.search(r"” \(turn (\d+)\)", article)  # the greeting rule quotes the agent's first turn
    assert cited, "no turn cited in the greeting rule's rationale"
    assert f"<small>turn {cited.group(1)}</small>" in article  # the evidence list of the same judgement
    block = page.split(f'id="t-{int(cited.group(1)) - 1}"')[1].split('<div class="text"')[0]
    assert f'<span class="turn-no">turn {cited.group(1)}</span>' in block and "<b>agent</b>" in block
