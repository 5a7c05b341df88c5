"""A calibration session on a real Label Studio: three reviewer accounts created through the API, each answering in
their own blind project through the SDK; the report's α is checked against the ``krippendorff`` package on the same
answers; calibration answers change nothing until a consensus is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from label_studio_sdk import LabelStudio
from typer.testing import CliRunner

from cli import build_app
from eval.session_report import consensus_of
from labeling.calibration import reviewer_email
from labeling.server import Credentials
from scorer.judges.fake import FakeJudge
from scorer.pipeline import score_conversation
from scorer.rubric import parse_rubric
from scorer.store import Store
from scorer.store.calibration_sessions import get_session
from scorer.types import Conversation

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]

RUBRIC_YAML = """id: calib
criteria:
  - {id: greet, question: "Did the agent greet the customer by name?"}
  - {id: tone, question: "How warm was the agent's tone?", scale: 1-3}
"""
RUBRIC = parse_rubric(RUBRIC_YAML)
REVIEWERS = ["ana", "bogdan", "chen"]
# reviewer → conversation index → (greet, tone)
ANSWERS = {
    "ana":    [("yes", "3"), ("no", "1"), ("yes", "2"), ("no", "2")],
    "bogdan": [("yes", "3"), ("no", "2"), ("yes", "2"), ("yes", "2")],
    "chen":   [("yes", "2"), ("no", "1"), ("no", "2"), ("yes", "1")],
}


def _choice(cid: str, answer: str) -> dict[str, object]:
    return {"from_name": f"answer__{cid}", "to_name": "transcript", "type": "choices",
            "value": {"choices": [answer]}}


def test_calibration_session_end_to_end(tmp_path: Path, label_studio: Credentials) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    store = Store(db)
    for i in range(6):
        conv = Conversation(id=f"cal-{i}", turns=[
            {"speaker": "customer", "text": "Hello, my order arrived broken."},
            {"speaker": "agent", "text": f"Hi Maria, I am sorry about order {i}; a replacement ships today."}])
        score_conversation(conv, RUBRIC, FakeJudge("yes"), store=store)
    rubric_path = tmp_path / "r.yaml"
    rubric_path.write_text(RUBRIC_YAML)
    env = {"RUBRICATE_LABEL_STUDIO_URL": label_studio.url, "RUBRICATE_LABEL_STUDIO_TOKEN": label_studio.token}
    runner = CliRunner()
    started = runner.invoke(build_app(), ["calibration", "start", "-r", str(rubric_path), "--conversations", "4",
                                          "--reviewers", ",".join(REVIEWERS), "--name", "wk49", "--db", db], env=env)
    assert started.exit_code == 0, started.output
    session = get_session(store, "wk49")
    assert len(session.conversation_ids) == 4 and set(session.projects) == set(REVIEWERS)

    sdk = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
    users = {u.email: u.id for u in sdk.users.list()}
    for reviewer in REVIEWERS:
        assert users[reviewer_email(reviewer)] == session.projects[reviewer]["user"]  # a real account each
        tasks = {t.data["conversation_id"]: t for t in sdk.tasks.list(project=session.projects[reviewer]["project"],
                                                                      fields="all")}
        assert set(tasks) == set(session.conversation_ids)
        for index, cid in enumerate(session.conversation_ids):
            task = tasks[cid]
            assert not task.predictions and "hidden" in task.data["ai__greet"]  # blind: nothing of the AI
            greet, tone = ANSWERS[reviewer][index]
            result = [_choice("greet", greet), _choice("tone", tone)]
            if reviewer == "chen" and index == 2:
                result.append({"from_name": "comment__greet", "to_name": "transcript", "type": "textarea",
                               "value": {"text": ["No name used in the greeting."]}})
            sdk.annotations.create(id=task.id, result=result, completed_by=session.projects[reviewer]["user"])

    html = tmp_path / "report.html"
    report = runner.invoke(build_app(), ["calibration", "report", "wk49", "--json", "--html", str(html), "--db", db],
                           env=env)
    assert report.exit_code == 0, report.output
    body = json.loads(report.output[report.output.index("{"):report.output.rindex("}") + 1])
    criteria = {c["criterion_id"]: c for c in body["criteria"]}
    for position, (cid, level, codes) in enumerate([("greet", "nominal", {"no": 0, "yes": 1}),
                                                    ("tone", "ordinal", {"1": 1, "2": 2, "3": 3})]):
        data = np.array([[codes[ANSWERS[r][i][position]] for i in range(4)] for r in REVIEWERS], dtype=float)
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert criteria[cid]["alpha"] == pytest.approx(expected)
    # grade the grader: greet consensus per conversation is yes, no, yes, yes; ana and chen each miss one
    consensus = [consensus_of([ANSWERS[r][i][0] for r in REVIEWERS]) for i in range(4)]
    assert consensus == ["yes", "no", "yes", "yes"]
    assert criteria["greet"]["reviewer_vs_consensus"] == {"ana": 0.75, "bogdan": 1.0, "chen": 0.75}
    assert criteria["greet"]["ai_vs_consensus"] == 0.75  # the AI said yes everywhere
    greet_disagreements = [d for d in body["disagreements"] if d["criterion_id"] == "greet"]
    assert len(greet_disagreements) == 2
    commented = next(d for d in greet_disagreements if "chen" in d["comments"])
    assert commented["comments"]["chen"] == "No name used in the greeting." and commented["ai"] == "yes"
    page = html.read_text()
    assert "Disagreements to discuss" in page and "No name used in the greeting." in page and "Hi Maria" in page

    # kept apart: no review event, no score change, until a consensus is recorded
    first = session.conversation_ids[0]
    assert [e.source for e in store.history(first, "greet")] == ["ai"]
    recorded = runner.invoke(build_app(), ["calibration", "consensus", "wk49", "--db", db], env=env)
    assert recorded.exit_code == 0 and "recorded" in recorded.output
    assert [e.source for e in store.history(first, "greet")] == ["ai", "calibration"]
    store.close()
