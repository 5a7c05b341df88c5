"""Rubric YAML loading: valid forms, versions, and errors that name the file, line, criterion and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from scorer import RubricError
from scorer.rubric import load_rubric, parse_rubric

GOOD = """
id: demo
name: Demo
criteria:
  - id: greet
    category: opening
    question: Did the agent greet the customer by name?
    scale: yes_no
  - id: solution
    category: resolution
    question: Did the agent offer an actionable solution or a follow-up timeline?
    scale: yes_no_na
    applies_when: The customer asked for help with a problem.
    weight: 2
    auto_fail: true
    guidance: A promise to call back counts when it has a date.
  - id: clarity
    question: How clearly did the agent explain the next steps?
    scale: {levels: [needs_improvement, good, exceptional], descriptions: {good: "steps named"}}
  - id: stars
    question: Rate the closing.
    scale: 1-5
"""


def test_good_rubric_loads_with_all_scale_forms() -> None:
    rubric = parse_rubric(GOOD)
    assert [c.id for c in rubric.criteria] == ["greet", "solution", "clarity", "stars"]
    assert rubric.criterion("greet").answers == ["no", "yes"]
    assert rubric.criterion("solution").answers == ["no", "yes", "na"]
    assert rubric.criterion("solution").weight == 2 and rubric.criterion("solution").auto_fail
    assert rubric.criterion("clarity").answers == ["needs_improvement", "good", "exceptional"]
    assert rubric.criterion("stars").answers == ["1", "2", "3", "4", "5"]
    assert rubric.criterion("clarity").category == "general"


def test_version_is_content_hash_of_criteria() -> None:
    a = parse_rubric(GOOD)
    b = parse_rubric(GOOD.replace("Demo", "Renamed"))  # the name is not part of the criteria
    c = parse_rubric(GOOD.replace("by name", "by their name"))
    assert a.version == b.version
    assert a.version != c.version
    assert len(a.version) == 12


def test_applies_when_adds_na() -> None:
    rubric = parse_rubric(
        "id: x\ncriteria:\n  - id: a\n    question: Did the agent escalate?\n"
        "    applies_when: An escalation was asked.\n"
    )
    assert "na" in rubric.criteria[0].answers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id: x\ncriteria: [", "not valid YAML"),
        ("- just a list", "must be a mapping"),
        ("name: no id\ncriteria:\n  - id: a\n    question: Q?", "has no 'id'"),
        ("id: x\ncriteria: []", "non-empty list"),
        ("id: x\ncriteria:\n  - id: a\n    question: Q?\n  - id: a\n    question: R?", "criterion 'a'"),
        ("id: x\ncriteria:\n  - id: a\n    question: '  '", "question is empty"),
        ("id: x\ncriteria:\n  - id: a\n    question: Q?\n    scale: stars", "unknown scale 'stars'"),
        ("id: x\ncriteria:\n  - id: a\n    question: Q?\n    scale: {levels: [one]}", "at least two"),
        ("id: x\ncriteria:\n  - id: a\n    question: Q?\n    weight: -1", "weight"),
        ("id: x\ncriteria:\n  - id: a\n    question: Q?\n    colour: red", "unknown field"),
        ("id: x\ncriteria:\n  - id: 'bad id!'\n    question: Q?", "criterion 'bad id!'"),
    ],
)
def test_bad_rubrics_give_clear_errors(text: str, expected: str) -> None:
    with pytest.raises(RubricError) as info:
        parse_rubric(text, source="r.yaml")
    message = str(info.value)
    assert message.startswith("r.yaml"), message
    assert expected in message, message


def test_duplicate_id_names_the_line() -> None:
    text = "id: x\ncriteria:\n  - id: a\n    question: Q?\n  - id: a\n    question: R?\n"
    with pytest.raises(RubricError, match=r"line 5.*duplicate id"):
        parse_rubric(text, source="r.yaml")


def test_load_rubric_file_errors(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="no such rubric file"):
        load_rubric(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("id: x\nname: caf\xe9\n".encode("latin-1"))
    with pytest.raises(RubricError, match="not UTF-8"):
        load_rubric(bad)
