"""Calibration sessions in Label Studio: each reviewer gets an account and a project of their own holding the same
conversations, blind (no AI answer, no predictions, no other reviewer's annotations); their answers are pulled into
the session's own table, never into the review history.

The open-source edition has no per-project membership: every account of the organization can open every project, so
independence rests on each reviewer working in their own project (named after them) — said in docs/programme.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from labeling.config import ANSWER, COMMENT, TRANSCRIPT, key, label_config, render_for_review
from labeling.sync import Connection, _call, _tasks
from scorer.store import Store
from scorer.store.calibration_sessions import Answer, CalibrationSession, save_answer, set_projects
from scorer.types import Conversation, Rubric

__all__ = ["PullSummary", "blind_task", "ensure_reviewer", "pull_session", "push_session", "reviewer_email"]

_BLIND = "Answer on your own: the AI's and the other reviewers' answers are hidden in a calibration session."


def reviewer_email(name: str) -> str:
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}@reviewers.rubricate.local"


def ensure_reviewer(client: httpx.Client, name: str) -> int:
    """The Label Studio user id of reviewer ``name``, creating the account (in the admin's organization) if new."""
    email = reviewer_email(name)
    users = _call(client, "GET", "/api/users")
    for user in users.get("results", users) if isinstance(users, dict) else users:
        if user.get("email") == email:
            return int(user["id"])
    created = _call(client, "POST", "/api/users", json={"email": email, "username": name, "first_name": name})
    return int(created["id"])


def blind_task(conversation: Conversation, rubric: Rubric) -> dict[str, Any]:
    """A task with the transcript and the questions only: nothing of the AI."""
    text, _ = render_for_review(conversation)
    data: dict[str, Any] = {"conversation_id": conversation.id, "channel": conversation.channel,
                            "language": conversation.language or "?", TRANSCRIPT: text}
    for criterion in rubric.criteria:
        data[f"q__{key(criterion.id)}"] = f"▶ {criterion.question}"
        data[f"ai__{key(criterion.id)}"] = _BLIND
    return {"data": data, "meta": {"conversation_id": conversation.id}}


def _project_title(session: CalibrationSession, reviewer: str) -> str:
    return f"rubricate calibration {session.name} · {reviewer}"


def push_session(store: Store, connection: Connection, session: CalibrationSession, rubric: Rubric) -> dict[str, Any]:
    """Create each reviewer's account and project and import the session's conversations; returns the projects."""
    conversations = [store.get_conversation(cid) for cid in session.conversation_ids]
    missing = [cid for cid, c in zip(session.conversation_ids, conversations, strict=True) if c is None]
    if missing:
        raise ValueError(f"conversations not stored: {missing}")
    projects: dict[str, Any] = dict(session.projects)
    with connection.client() as client:
        for reviewer in session.reviewers:
            if reviewer in projects:
                continue
            user_id = ensure_reviewer(client, reviewer)
            project = _call(client, "POST", "/api/projects", json={
                "title": _project_title(session, reviewer), "label_config": label_config(rubric),
                "description": f"Calibration session {session.name}: {reviewer}'s own copy. Answer independently.",
                "show_collab_predictions": False, "show_annotation_history": False, "maximum_annotations": 1})
            _call(client, "POST", f"/api/projects/{project['id']}/import",
                  json=[blind_task(c, rubric) for c in conversations if c is not None])
            projects[reviewer] = {"project": int(project["id"]), "user": user_id}
            set_projects(store, session.id, projects)
    return projects


@dataclass
class PullSummary:
    stored: int = 0
    unchanged: int = 0
    ignored: int = 0


def pull_session(store: Store, connection: Connection, session: CalibrationSession, rubric: Rubric) -> PullSummary:
    """Store every reviewer's answers (the newest annotation per task counts); safe to repeat."""
    summary = PullSummary()
    by_key = {key(c.id): c for c in rubric.criteria}
    with connection.client() as client:
        for reviewer, where in session.projects.items():
            for task in _tasks(client, int(where["project"])):
                annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
                if not annotations:
                    continue
                newest = max(annotations, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
                conversation_id = str(task["data"]["conversation_id"])
                answers: dict[str, str] = {}
                comments: dict[str, str] = {}
                for item in newest.get("result", []):
                    name, value = str(item.get("from_name", "")), item.get("value") or {}
                    if name.startswith(ANSWER) and name[len(ANSWER):] in by_key:
                        criterion = by_key[name[len(ANSWER):]]
                        chosen = (value.get("choices") or [None])[0]
                        if chosen in criterion.answers:
                            answers[criterion.id] = str(chosen)
                        else:
                            summary.ignored += 1
                    elif name.startswith(COMMENT) and name[len(COMMENT):] in by_key:
                        comments[by_key[name[len(COMMENT):]].id] = " ".join(value.get("text") or [])
                for criterion_id, answer in answers.items():
                    changed = save_answer(store, session.id, Answer(reviewer, conversation_id, criterion_id, answer,
                                                                    comments.get(criterion_id) or None),
                                          external_id=str(newest.get("id", "")))
                    summary.stored += changed
                    summary.unchanged += not changed
    return summary
