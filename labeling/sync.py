"""Push routed judgements to Label Studio and pull reviewers' decisions back.

``push`` queues what needs a human, groups it into one task per conversation (and judge), validates every
prediction against the project's label config, imports the tasks and marks the queue rows pushed. Label Studio
being down leaves everything queued for the next push.

``pull`` is the reliable path: it reads every task of the project with its annotations and stores each annotation
version once (idempotent, so a crash mid-pull is completed by the next pull with no duplicates), and records
annotations that disappeared as deleted. Webhooks are a fast path through the same ``ingest_task`` function.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from labeling._venv import LabelStudioError
from labeling.config import has_flags, label_config
from labeling.tasks import RejectedResult, annotation_flags, annotation_to_reviews, build_task
from scorer._extras import require
from scorer.store import Store
from scorer.store.conversation_labels import record_label, supersede_missing_labels
from scorer.store.disputes import Dispute, dispute_comments, resolve_disputes
from scorer.store.learning import enqueue_learning
from scorer.store.reviews import (
    QueuedItem,
    enqueue_routed,
    mark_pushed,
    queued_items,
    record_review,
    supersede_missing,
)
from scorer.types import Rubric

__all__ = ["Connection", "PullResult", "PushResult", "ensure_project", "ingest_task", "learn_count",
           "project_title", "pull", "push", "task_index"]

log = logging.getLogger(__name__)
SOURCE = "label_studio"


@dataclass(frozen=True)
class Connection:
    """Where Label Studio is and the API token to use."""

    url: str
    token: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url.rstrip("/"), headers={"Authorization": f"Token {self.token}"},
                            timeout=60)


@dataclass
class PushResult:
    project_id: int
    tasks: int = 0
    judgements: int = 0
    newly_queued: int = 0
    projects: dict[str | None, int] = field(default_factory=dict)
    learn_queued: int = 0


@dataclass
class PullResult:
    stored: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: list[RejectedResult] = field(default_factory=list)
    per_criterion: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    disputes: list[Dispute] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # "spam"/"not spam" events stored
    labels_deleted: int = 0


def model_version(rubric: Rubric) -> str:
    """The project's and the predictions' model version: Label Studio shows only predictions that match it."""
    return f"rubricate-{rubric.version}"


def project_title(rubric: Rubric) -> str:
    return f"rubricate {rubric.id}@{rubric.version}"


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise LabelStudioError(f"Label Studio at {client.base_url} is not reachable ({type(exc).__name__}); "
                               "start it with `rubricate labeling up`. Nothing was lost: queued items stay "
                               "queued.") from exc
    if response.status_code >= 400:
        raise LabelStudioError(f"Label Studio answered {response.status_code} to {method} {path}: "
                               f"{response.text[:300]}")
    return response.json() if response.content else None


def _projects(client: httpx.Client) -> list[dict[str, Any]]:
    page = _call(client, "GET", "/api/projects", params={"page_size": 1000})
    return list(page.get("results", page) if isinstance(page, dict) else page)


def ensure_project(client: httpx.Client, rubric: Rubric, *, reviewer: str | None = None) -> int:
    """The project for this rubric version (or one reviewer's share of it), created with its label config if
    missing."""
    title = project_title(rubric) + (f" · {reviewer}" if reviewer else "")
    for project in _projects(client):
        if project.get("title") == title:
            _add_flags(client, project, rubric)
            return int(project["id"])
    created = _call(client, "POST", "/api/projects", json={
        "title": title, "label_config": label_config(rubric), "model_version": model_version(rubric),
        "show_collab_predictions": True, "description": rubric.name,
    })
    return int(created["id"])


def _add_flags(client: httpx.Client, project: dict[str, Any], rubric: Rubric) -> None:
    """Give a project made before the conversation-level ``flags`` control the current label config (a control is
    only added, so Label Studio keeps every existing annotation valid); a refusal is logged, the push goes on."""
    if has_flags(str(project.get("label_config") or "")):
        return
    try:
        _call(client, "PATCH", f"/api/projects/{project['id']}", json={"label_config": label_config(rubric)})
        log.info("project %s: added the conversation-level spam flag to its label config", project["id"])
    except LabelStudioError as exc:
        log.warning("project %s keeps its label config without the spam flag: %s", project["id"], exc)


def learn_count(routed: int, share: float) -> int:
    """How many ``learn`` items make ``share`` of a batch that also holds ``routed`` items."""
    if share <= 0 or routed <= 0:
        return 0
    return math.ceil(routed * share / (1 - share)) if share < 1 else routed


def push(store: Store, connection: Connection, rubric: Rubric, *, batch_size: int = 200,
         learn_share: float = 0.0) -> PushResult:
    """Queue routed judgements — plus, with ``learn_share``, that share of the batch as the judge's least sure
    unflagged items (reason ``learn``, see ``scorer.store.learning``) — and import them as tasks (one per
    conversation and judge). Items assigned to a reviewer (review sampling with reviewer quotas) go to that
    reviewer's own project."""
    added = enqueue_routed(store, rubric.id, rubric.version)
    waiting = len(queued_items(store, rubric.id, rubric.version))
    learn = enqueue_learning(store, rubric.id, rubric.version, learn_count(waiting, learn_share))
    items = queued_items(store, rubric.id, rubric.version)
    by_assignee: dict[str | None, list[QueuedItem]] = defaultdict(list)
    for item in items:
        by_assignee[item.assignee].append(item)
    with connection.client() as client:
        result = PushResult(project_id=ensure_project(client, rubric), newly_queued=added, learn_queued=learn)
        result.projects[None] = result.project_id
        for assignee, assigned in by_assignee.items():
            project_id = ensure_project(client, rubric, reviewer=assignee)
            result.projects[assignee] = project_id
            _push_items(store, client, rubric, project_id, assigned, result, batch_size)
    return result


def _push_items(store: Store, client: httpx.Client, rubric: Rubric, project_id: int, items: list[QueuedItem],
                result: PushResult, batch_size: int) -> None:
    LabelInterface = require("label_studio_sdk.label_interface", "labeling", "The Label Studio review loop"
                             ).LabelInterface
    interface = LabelInterface(label_config(rubric))
    comments = dispute_comments(store, [i.judgement_id for i in items])
    groups: dict[tuple[str, str], list[QueuedItem]] = defaultdict(list)
    for item in items:
        groups[(item.conversation.id, item.judge)].append(item)
    keys = list(groups)
    for start in range(0, len(keys), batch_size):
        batch_keys = keys[start : start + batch_size]
        tasks = []
        for conv_id, judge in batch_keys:
            group = groups[(conv_id, judge)]
            task = build_task(group[0].conversation, rubric, [(i.judgement, _shown_reasons(i, comments))
                                                              for i in group],
                              model_version=model_version(rubric))
            for prediction in task.get("predictions", []):
                if not interface.validate_prediction(prediction):
                    raise LabelStudioError(f"prediction for {conv_id} does not fit the label config")
            task["meta"]["judge"] = judge
            tasks.append(task)
        imported = _call(client, "POST", f"/api/projects/{project_id}/import",
                         params={"return_task_ids": "true"}, json=tasks)
        task_ids = imported.get("task_ids") or []
        if len(task_ids) != len(tasks):
            raise LabelStudioError(f"Label Studio returned {len(task_ids)} task ids for {len(tasks)} tasks")
        for (conv_id, judge), task_id in zip(batch_keys, task_ids, strict=True):
            group = groups[(conv_id, judge)]
            mark_pushed(store, [i.queue_id for i in group], project_id=project_id, task_id=int(task_id))
            result.tasks += 1
            result.judgements += len(group)


def _shown_reasons(item: QueuedItem, comments: dict[int, str]) -> list[str]:
    """The routing reasons as the reviewer sees them: a disputed judgement carries the agent's comment."""
    if item.judgement_id not in comments:
        return item.reasons
    return [*item.reasons, f'agent\'s comment: "{comments[item.judgement_id]}"']


def _tasks(client: httpx.Client, project_id: int) -> Iterator[dict[str, Any]]:
    page, seen = 1, 0
    while True:
        body = _call(client, "GET", "/api/tasks", params={"project": project_id, "fields": "all", "page": page,
                                                           "page_size": 100})
        tasks = body.get("tasks", []) if isinstance(body, dict) else body
        yield from tasks
        seen += len(tasks)
        total = body.get("total", seen) if isinstance(body, dict) else seen
        if len(tasks) < 100 or seen >= total:  # asking past the last page is a 404 in Label Studio
            return
        page += 1


def task_index(store: Store, rubric: Rubric) -> dict[int, dict[str, QueuedItem]]:
    """Pushed queue items by Label Studio task id and criterion id."""
    index: dict[int, dict[str, QueuedItem]] = defaultdict(dict)
    for item in queued_items(store, rubric.id, rubric.version, ("pushed", "reviewed", "queued")):
        if item.task_id is not None:
            index[item.task_id][item.judgement.criterion_id] = item
    return dict(index)


def ingest_task(store: Store, rubric: Rubric, task: dict[str, Any], result: PullResult,
                index: dict[int, dict[str, QueuedItem]] | None = None) -> None:
    """Store every annotation version of one task (used by pull and by the webhook)."""
    pushed = (index if index is not None else task_index(store, rubric)).get(int(task["id"]), {})
    if not pushed:
        return
    conversation = next(iter(pushed.values())).conversation
    ai = {cid: item.judgement for cid, item in pushed.items()}
    for annotation in task.get("annotations") or []:
        if annotation.get("was_cancelled"):
            continue
        by = annotation.get("completed_by")
        reviewer = str((by.get("id") if isinstance(by, dict) else by) or "") or None  # an id, or the user object
        reviews, rejected = annotation_to_reviews(annotation, conversation, rubric, ai, reviewer=reviewer)
        result.rejected.extend(rejected)
        version = str(annotation.get("updated_at") or annotation.get("created_at") or "")
        _store_flags(store, rubric, task, annotation, conversation.id, reviewer, version, result)
        for review in reviews:
            if record_review(store, pushed[review.criterion_id].judgement_id, review, external_version=version):
                result.stored += 1
                result.per_criterion[review.criterion_id] += 1
            else:
                result.unchanged += 1


def _store_flags(store: Store, rubric: Rubric, task: dict[str, Any], annotation: dict[str, Any],
                 conversation_id: str, reviewer: str | None, version: str, result: PullResult) -> None:
    """Store the annotation's conversation-level labels (spam ticked or not) with who and which version."""
    flags, rejected = annotation_flags(annotation)
    result.rejected.extend(rejected)
    for flag, value in flags.items():
        if record_label(store, conversation_id, flag, value, reviewer=reviewer, source=SOURCE,
                        external_id=str(annotation.get("id", "")), external_version=version, task_id=int(task["id"]),
                        rubric_version=rubric.version):
            result.labels[flag if value else f"not {flag}"] += 1


def pull(store: Store, connection: Connection, rubric: Rubric,
         *, after_task: Callable[[int], None] | None = None) -> PullResult:
    """Store reviewers' decisions for the rubric version's project; safe to repeat and to resume."""
    result = PullResult()
    with connection.client() as client:
        ensure_project(client, rubric)
        title = project_title(rubric)
        project_ids = [int(p["id"]) for p in _projects(client)
                       if p.get("title") == title or str(p.get("title", "")).startswith(f"{title} · ")]
        present: dict[int, set[str]] = {}
        index = task_index(store, rubric)
        judgements = {task_id: [i.judgement_id for i in items.values()] for task_id, items in index.items()}
        for task in (t for project_id in project_ids for t in _tasks(client, project_id)):
            ingest_task(store, rubric, task, result, index)
            present[int(task["id"])] = {str(a["id"]) for a in task.get("annotations") or []
                                        if not a.get("was_cancelled")}
            if after_task is not None:
                after_task(int(task["id"]))
        result.deleted = supersede_missing(store, SOURCE, judgements, present)
        result.labels_deleted = supersede_missing_labels(store, SOURCE, {t: a for t, a in present.items()
                                                                         if t in index})
    result.disputes = resolve_disputes(store, rubric)
    store.set_state(f"label_studio:{rubric.version}:last_pull", datetime.now(UTC).isoformat())
    return result
