"""The review loop against a real Label Studio: push → reviewers annotate (through the SDK) → pull → history.
Webhooks, a dropped webhook, a crash mid-pull, idempotency and Label Studio being down."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from label_studio_sdk import LabelStudio

from api import create_app
from labeling.config import render_for_review
from labeling.server import Credentials, LabelStudioError
from labeling.sync import Connection, pull, push
from labeling.tasks import evidence_to_span
from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.routing import RoutingPolicy
from scorer.rubric import parse_rubric
from scorer.settings import Settings
from scorer.store import Store
from scorer.store.reviews import agreement, queued_items, review_counts
from scorer.types import Conversation

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUBRIC = parse_rubric("""
id: loop
criteria:
  - {id: greeting, question: "Did the agent greet the customer and give their name?"}
  - {id: solution, question: "Did the agent offer an actionable solution or a follow-up timeline?",
     scale: yes_no_na}
""")
CONVERSATIONS = [
    Conversation(id=f"loop-{i}", language=lang, turns=[
        {"speaker": "customer", "text": text},
        {"speaker": "agent", "text": reply}])
    for i, (lang, text, reply) in enumerate([
        ("en", "My parcel is late.", "Hello, I'm Sam. I will send a new parcel today."),
        ("zh", "我的卡被冻结了。", "您好，我是小李。我已经为您解冻。"),
        ("bg", "Интернетът ми спря.", "Здравейте, аз съм Петър. Техник ще дойде утре."),
        ("ro", "Factura e greșită.", "Bună ziua, sunt Ana. Am corectat factura."),
        ("en", "I can't log in.", "Hi, Jo here. I reset your password; check your email."),
    ])
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(f"sqlite:///{tmp_path_factory.mktemp('loop') / 'r.db'}")
    policy = RoutingPolicy(threshold=0.99, audit_rate=0.0)  # the fake judge is never that sure: all routed
    for conv in CONVERSATIONS:
        score_conversation(conv, RUBRIC, FakeJudge("yes"), store=s, policy=policy)
    return s


@pytest.fixture(scope="module")
def pushed(store: Store, label_studio: Credentials) -> dict[str, Any]:
    connection = Connection(label_studio.url, label_studio.token)
    result = push(store, connection, RUBRIC)
    return {"connection": connection, "result": result,
            "sdk": LabelStudio(base_url=label_studio.url, api_key=label_studio.token)}


def _task_of(store: Store, conversation_id: str) -> int:
    [task_id] = {i.task_id for i in queued_items(store, RUBRIC.id, RUBRIC.version, ("pushed", "reviewed"))
                 if i.conversation.id == conversation_id}
    assert task_id is not None
    return task_id


def _choice(cid: str, answer: str) -> dict[str, Any]:
    return {"from_name": f"answer__{cid}", "to_name": "transcript", "type": "choices",
            "value": {"choices": [answer]}}


def _span(conv: Conversation, quote: str, cid: str) -> dict[str, Any]:
    text, offsets = render_for_review(conv)
    turn = next(i for i, t in enumerate(conv.turns) if quote in t.text)
    start = conv.turns[turn].text.index(quote)
    from scorer.types import Evidence

    s, e = evidence_to_span(offsets, Evidence(turn=turn, start=start, end=start + len(quote), quote=quote))
    return {"from_name": "evidence", "to_name": "transcript", "type": "labels",
            "value": {"start": s, "end": e, "text": text[s:e], "labels": [cid]}}


def _ai_quote(store: Store, conversation_id: str, criterion_id: str) -> str:
    [item] = [i for i in queued_items(store, RUBRIC.id, RUBRIC.version, ("pushed", "reviewed"))
              if i.conversation.id == conversation_id and i.judgement.criterion_id == criterion_id]
    return item.judgement.evidence[0].quote


def test_push_creates_one_task_per_conversation_and_is_idempotent(store: Store, pushed: dict[str, Any]) -> None:
    result = pushed["result"]
    assert result.tasks == len(CONVERSATIONS) and result.judgements == 2 * len(CONVERSATIONS)
    again = push(store, pushed["connection"], RUBRIC)
    assert (again.tasks, again.newly_queued) == (0, 0)
    tasks = list(pushed["sdk"].tasks.list(project=result.project_id, fields="all"))
    assert len(tasks) == len(CONVERSATIONS)
    [first] = [t for t in tasks if t.data["conversation_id"] == "loop-0"]
    assert first.data["q__greeting"].startswith("▶ Did the agent greet")
    assert "AI answer: yes" in first.data["ai__greeting"]


def test_confirm_correct_and_edit_evidence_come_back_as_history(store: Store, pushed: dict[str, Any]) -> None:
    sdk = pushed["sdk"]
    c0, c1, c2 = CONVERSATIONS[:3]
    ai_quote_0 = "Hello, I'm Sam."
    sdk.annotations.create(id=_task_of(store, c0.id), result=[
        _choice("greeting", "yes"), _span(c0, ai_quote_0, "greeting"), _choice("solution", "yes"),
        _span(c0, ai_quote_0, "solution")])
    sdk.annotations.create(id=_task_of(store, c1.id), result=[_choice("greeting", "no")])
    sdk.annotations.create(id=_task_of(store, c2.id), result=[
        _choice("solution", "yes"), _span(c2, "Техник ще дойде утре.", "solution")])
    result = pull(store, pushed["connection"], RUBRIC)
    assert result.stored == 4 and not result.rejected
    kinds = {(e.conversation_id, e.criterion_id): e.kind for cid in ("greeting", "solution")
             for conv in CONVERSATIONS[:3] for e in store.history(conv.id, cid)[1:]}
    # the fake judge quotes the agent's first sentence for every "yes": the same span confirms it
    assert kinds == {("loop-0", "greeting"): "confirmed", ("loop-0", "solution"): "confirmed",
                     ("loop-1", "greeting"): "corrected", ("loop-2", "solution"): "evidence_edited"}
    [edited] = [e for e in store.history("loop-2", "solution") if e.kind == "evidence_edited"]
    assert [ev.quote for ev in edited.evidence] == ["Техник ще дойде утре."]
    again = pull(store, pushed["connection"], RUBRIC)
    assert (again.stored, again.unchanged) == (0, 4)
    assert agreement(store, RUBRIC.version)["greeting"]["agreement"] == 0.5
    assert review_counts(store, RUBRIC.version)["greeting"]["reviewed"] == 2


def test_updated_and_deleted_annotations_keep_the_old_rows(store: Store, pushed: dict[str, Any]) -> None:
    sdk = pushed["sdk"]
    task_id = _task_of(store, "loop-1")
    [annotation] = sdk.tasks.get(id=task_id).annotations
    time.sleep(1.1)  # a new updated_at
    # a reviewer who accepts the pre-annotation keeps its evidence span: a plain confirmation
    sdk.annotations.update(id=annotation["id"], result=[_choice("greeting", "yes"),
                                                         _span(CONVERSATIONS[1], _ai_quote(store, "loop-1", "greeting"),
                                                               "greeting")])
    assert pull(store, pushed["connection"], RUBRIC).stored == 1
    history = store.history("loop-1", "greeting")
    assert [e.kind for e in history] == ["ai", "corrected", "confirmed"]
    sdk.annotations.delete(id=annotation["id"])
    assert pull(store, pushed["connection"], RUBRIC).deleted == 1
    assert [e.kind for e in store.history("loop-1", "greeting")] == ["ai", "corrected", "confirmed", "deleted"]


def test_crash_mid_pull_is_completed_by_the_next_pull(store: Store, pushed: dict[str, Any]) -> None:
    sdk = pushed["sdk"]
    for conv in CONVERSATIONS[3:]:
        sdk.annotations.create(id=_task_of(store, conv.id), result=[_choice("greeting", "yes")])

    def crash(task_id: int) -> None:
        raise KeyboardInterrupt("killed mid-pull")

    with pytest.raises(KeyboardInterrupt):
        pull(store, pushed["connection"], RUBRIC, after_task=crash)
    result = pull(store, pushed["connection"], RUBRIC)
    for conv in CONVERSATIONS[3:]:
        assert len([e for e in store.history(conv.id, "greeting") if e.source == "label_studio"]) == 1
    assert result.stored + result.unchanged >= 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def webhook_api(store: Store, tmp_path: Path) -> Iterator[str]:
    settings = Settings(data_dir=tmp_path, webhook_secret="s3cret")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store=store), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_webhook_fast_path_and_secret(store: Store, pushed: dict[str, Any], webhook_api: str) -> None:
    sdk = pushed["sdk"]
    assert httpx.post(f"{webhook_api}/v1/labeling/webhook", json={"action": "ANNOTATION_CREATED"},
                      headers={"X-Rubricate-Secret": "wrong"}).status_code == 401
    hook = sdk.webhooks.create(url=f"{webhook_api}/v1/labeling/webhook", project=pushed["result"].project_id,
                               send_payload=True, actions=["ANNOTATION_CREATED", "ANNOTATION_UPDATED"],
                               headers={"X-Rubricate-Secret": "s3cret"})
    try:
        sdk.annotations.create(id=_task_of(store, "loop-4"), result=[_choice("solution", "no")])
        deadline = time.time() + 20
        while time.time() < deadline and not any(e.kind == "corrected" for e in store.history("loop-4", "solution")):
            time.sleep(0.3)
        assert [e.kind for e in store.history("loop-4", "solution")] == ["ai", "corrected"]
        assert pull(store, pushed["connection"], RUBRIC).stored == 0  # the poller finds nothing new
    finally:
        sdk.webhooks.delete(id=hook.id)


def test_dropped_webhook_is_recovered_by_pull(store: Store, pushed: dict[str, Any]) -> None:
    sdk = pushed["sdk"]
    dead = f"http://127.0.0.1:{_free_port()}/v1/labeling/webhook"  # nothing listens: the webhook is lost
    hook = sdk.webhooks.create(url=dead, project=pushed["result"].project_id, send_payload=True,
                               actions=["ANNOTATION_CREATED"], headers={"X-Rubricate-Secret": "s3cret"})
    try:
        sdk.annotations.create(id=_task_of(store, "loop-3"), result=[
            _choice("solution", "yes"), _span(CONVERSATIONS[3], _ai_quote(store, "loop-3", "solution"), "solution")])
        assert [e.kind for e in store.history("loop-3", "solution")] == ["ai"]
        assert pull(store, pushed["connection"], RUBRIC).stored == 1
        assert [e.kind for e in store.history("loop-3", "solution")] == ["ai", "confirmed"]
    finally:
        sdk.webhooks.delete(id=hook.id)


def test_label_studio_down_gives_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    s = Store(f"sqlite:///{tmp_path / 'down.db'}")
    score_conversation(CONVERSATIONS[0], RUBRIC, FakeJudge("yes"), store=s,
                       policy=RoutingPolicy(threshold=0.99, audit_rate=0))
    down = Connection(f"http://127.0.0.1:{_free_port()}", "token")
    with pytest.raises(LabelStudioError, match=r"not reachable.*labeling up"):
        push(s, down, RUBRIC)
    assert len(queued_items(s, RUBRIC.id, RUBRIC.version)) == 2  # still queued for the next push
