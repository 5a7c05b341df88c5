"""Spam labels through a real Label Studio: the pushed project has the conversation-level spam choice (and an older
project without it gets it added); reviewers answer through the SDK, ticking spam on some tasks; `pull` stores a
conversation label per annotation (spam or not) with the reviewer and annotation version, idempotently; an
updated annotation adds a row and keeps the old one, a deleted one adds a deleted row; the spam filter trained on
the pulled labels excludes held-out spam and keeps held-out real conversations."""

from __future__ import annotations

import time
from typing import Any

import pytest
from label_studio_sdk import LabelStudio
from typer.testing import CliRunner

from cli import build_app
from eval.spam_training import train_spam
from labeling.config import FLAGS, has_flags, label_config
from labeling.server import Credentials
from labeling.sync import Connection, project_title, pull, push
from scorer.eligibility import LEARNED_SPAM, exclusion
from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.programme import Eligibility
from scorer.routing import RoutingPolicy
from scorer.rubric import parse_rubric
from scorer.spam import SpamFilter
from scorer.store import Store
from scorer.store.conversation_labels import current_labels, label_history, labelled_conversations
from scorer.store.reviews import queued_items
from scorer.types import Rubric
from tests._spam_data import HELD_OUT_NORMAL, HELD_OUT_SPAM, TRAIN, featuriser

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUBRIC_YAML = """
id: spamloop
criteria:
  - {id: greet, question: "Did the agent greet the customer?"}
"""
RUBRIC = parse_rubric(RUBRIC_YAML)
OLD = parse_rubric("""
id: spamold
criteria:
  - {id: greet, question: "Did the agent greet the customer and give their name?"}
""")
IS_SPAM = {c.id: value for c, value in TRAIN}


def _score_all(store: Store, rubric: Rubric, conversations: list[Any]) -> None:
    policy = RoutingPolicy(threshold=0.99, audit_rate=0.0)  # the fake judge is never that sure: all routed
    for conversation in conversations:
        score_conversation(conversation, rubric, FakeJudge("yes"), store=store, policy=policy)


def _tasks(store: Store, rubric: Rubric) -> dict[str, int]:
    return {i.conversation.id: int(i.task_id) for i in queued_items(store, rubric.id, rubric.version,
                                                                    ("pushed", "reviewed")) if i.task_id is not None}


def _answer(spam: bool) -> list[dict[str, Any]]:
    result = [{"from_name": "answer__greet", "to_name": "transcript", "type": "choices",
               "value": {"choices": ["yes"]}}]
    if spam:
        result.append({"from_name": FLAGS, "to_name": "transcript", "type": "choices", "value": {"choices": ["spam"]}})
    return result


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory, label_studio: Credentials) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("spamloop")
    store = Store(f"sqlite:///{folder / 'r.db'}")
    _score_all(store, RUBRIC, [c for c, _ in TRAIN])
    connection = Connection(label_studio.url, label_studio.token)
    (folder / "rubric.yaml").write_text(RUBRIC_YAML)
    return {"store": store, "connection": connection, "pushed": push(store, connection, RUBRIC), "folder": folder,
            "sdk": LabelStudio(base_url=label_studio.url, api_key=label_studio.token)}


def test_pulled_spam_labels_are_stored_with_provenance_and_train_the_filter(loop: dict[str, Any]) -> None:
    store, sdk = loop["store"], loop["sdk"]
    assert has_flags(sdk.projects.get(id=loop["pushed"].project_id).label_config)
    tasks = _tasks(store, RUBRIC)
    assert set(tasks) == set(IS_SPAM)
    for conversation_id, task_id in tasks.items():
        sdk.annotations.create(id=task_id, result=_answer(IS_SPAM[conversation_id]))
    result = pull(store, loop["connection"], RUBRIC)
    assert not result.rejected and result.stored == len(IS_SPAM)  # the criterion answers are stored as before
    assert dict(result.labels) == {"spam": 12, "not spam": 15}
    assert current_labels(store) == IS_SPAM
    first = next(iter(tasks))
    [event] = label_history(store, first)
    with loop["connection"].client() as client:  # the task as `pull` reads it
        [annotation] = client.get(f"/api/tasks/{tasks[first]}").json()["annotations"]
    by = annotation["completed_by"]
    reviewer = str(by["id"] if isinstance(by, dict) else by)
    assert (event.reviewer, event.source, event.external_id, event.task_id, event.rubric_version) == (
        reviewer, "label_studio", str(annotation["id"]), tasks[first], RUBRIC.version)
    assert event.external_version == str(annotation["updated_at"]) and event.created_at is not None
    again = pull(store, loop["connection"], RUBRIC)
    assert (dict(again.labels), again.labels_deleted, again.unchanged) == ({}, 0, len(IS_SPAM))
    # the labels as pulled train the filter, which then tells held-out spam from real conversations
    f = featuriser()
    spam_filter = SpamFilter(train_spam(labelled_conversations(store), featuriser=f), featuriser=f)
    assert spam_filter.model.trained_on == {"spam": 12, "not_spam": 15}
    assert all(exclusion(c, Eligibility(), spam_filter) is not None for c in HELD_OUT_SPAM)
    assert all(exclusion(c, Eligibility(), spam_filter)[0] == LEARNED_SPAM for c in HELD_OUT_SPAM)  # type: ignore[index]
    assert all(exclusion(c, Eligibility(), spam_filter) is None for c in HELD_OUT_NORMAL)


def test_updated_and_deleted_annotations_keep_the_old_labels(loop: dict[str, Any]) -> None:
    store, sdk = loop["store"], loop["sdk"]
    tasks = _tasks(store, RUBRIC)
    if not current_labels(store):
        pytest.skip("needs the annotations of the previous test")
    spam_id = next(cid for cid in tasks if IS_SPAM[cid])
    [annotation] = sdk.tasks.get(id=tasks[spam_id]).annotations
    time.sleep(1.1)  # a new updated_at
    sdk.annotations.update(id=annotation["id"], result=_answer(False))  # the reviewer unticks spam
    folder = loop["folder"]
    result = CliRunner().invoke(build_app(), ["review", "pull", "-r", str(folder / "rubric.yaml"), "--db",
                                              f"sqlite:///{folder / 'r.db'}"],
                                env={"RUBRICATE_LABEL_STUDIO_URL": loop["connection"].url,
                                     "RUBRICATE_LABEL_STUDIO_TOKEN": loop["connection"].token,
                                     "RUBRICATE_DATA_DIR": str(folder / "data")})
    assert result.exit_code == 0, result.output
    assert "conversation labels: 1 not spam; 0 deleted" in result.output
    assert [(e.value, e.kind, e.superseded) for e in label_history(store, spam_id)] == [
        (True, "labelled", True), (False, "labelled", False)]
    assert current_labels(store)[spam_id] is False
    sdk.annotations.delete(id=annotation["id"])
    assert pull(store, loop["connection"], RUBRIC).labels_deleted == 1
    assert [(e.value, e.kind) for e in label_history(store, spam_id)] == [
        (True, "labelled"), (False, "labelled"), (False, "deleted")]
    assert spam_id not in current_labels(store)  # nothing was lost: the history keeps every answer


def test_an_older_project_gets_the_spam_choice_added(tmp_path: Any, label_studio: Credentials) -> None:
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    _score_all(store, OLD, [c for c, _ in TRAIN[:2]])
    sdk = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
    config = label_config(OLD)
    start, end = config.index('    <View style="border-top: 2px'), config.index("    </View>\n  </View>")
    old_config = config[:start] + config[end:]  # as push made it before the spam choice
    assert not has_flags(old_config)
    project = sdk.projects.create(title=project_title(OLD), label_config=old_config)
    connection = Connection(label_studio.url, label_studio.token)
    assert push(store, connection, OLD).project_id == project.id
    assert has_flags(sdk.projects.get(id=project.id).label_config)
    tasks = _tasks(store, OLD)
    for conversation_id, task_id in tasks.items():
        sdk.annotations.create(id=task_id, result=_answer(IS_SPAM[conversation_id]))
    result = pull(store, connection, OLD)
    assert not result.rejected and sum(result.labels.values()) == 2
    assert current_labels(store) == {cid: IS_SPAM[cid] for cid in tasks}
    store.close()
