"""Rubric files a hostile or careless author could write: alias bombs, coerced types, non-finite weights.

Each is refused before expensive work with one clear error naming the file, the line and the field."""

from __future__ import annotations

import tracemalloc

import pytest

from scorer._errors import RubricError
from scorer.rubric import parse_rubric
from scorer.settings import Settings

BASE = "id: r\ncriteria:\n  - id: q\n    question: 'Did the agent greet?'\n"


def bomb(levels: int) -> str:
    """The classic billion-laughs document: each level refers to the previous one nine times."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n" + BASE


@pytest.mark.parametrize("levels", [8, 9])
def test_alias_bomb_is_refused_cheaply(levels: int) -> None:
    tracemalloc.start()
    with pytest.raises(RubricError, match=r"bomb.yaml: .*(RUBRICATE_YAML_MAX_NODES|RUBRICATE_YAML_MAX_ALIASES)"):
        parse_rubric(bomb(levels), source="bomb.yaml")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20_000_000  # the 8-level bomb took 1.4 GB before


def test_few_aliases_but_huge_expansion_is_refused() -> None:
    # 4 aliases per level, 12 levels: 48 aliases (under the default 100) but 4**12 nodes once expanded
    lines = ["a0: &a0 [x, x, x, x]"] + [f"a{n}: &a{n} [*a{n-1}, *a{n-1}, *a{n-1}, *a{n-1}]" for n in range(1, 13)]
    with pytest.raises(RubricError, match="RUBRICATE_YAML_MAX_NODES"):
        parse_rubric("\n".join(lines) + "\n" + BASE)


def test_recursive_alias_and_limits_from_settings() -> None:
    with pytest.raises(RubricError, match="RUBRICATE_MAX_RUBRIC_BYTES"):
        parse_rubric(BASE + "# " + "x" * 2000 + "\n", settings=Settings(max_rubric_bytes=1000))
    with pytest.raises(RubricError, match="RUBRICATE_YAML_MAX_ALIASES"):
        parse_rubric("x: &x 1\ny: *x\n" + BASE, settings=Settings(yaml_max_aliases=0))
    with pytest.raises(RubricError, match="refers to itself"):
        parse_rubric("loop: &loop [*loop]\n" + BASE)
    ok = parse_rubric("defaults: &d {weight: 2}\n" + BASE)  # a few anchors are fine
    assert ok.criteria[0].id == "q"
    with pytest.raises(RubricError, match="nest more than 64 levels deep"):
        parse_rubric("x: " + "[" * 200_000 + "]" * 200_000 + "\n" + BASE)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("auto_fail", '"false"', "'auto_fail' must be true or false"),
    ("auto_fail", "yes_please", "'auto_fail' must be true or false"),
    ("question", "42", "'question' must be text, not a number"),
    ("question", "[a, b]", "'question' must be text, not a list"),
    ("category", "{a: 1}", "'category' must be text, not a mapping"),
    ("guidance", "true", "'guidance' must be text, not true/false"),
    ("weight", ".inf", "'weight' must be a finite number ≥ 0"),
    ("weight", ".nan", "'weight' must be a finite number ≥ 0"),
    ("weight", "1e400", "'weight' must be a finite number ≥ 0"),
    ("weight", "1.0e+400", "'weight' must be a finite number ≥ 0"),
    ("weight", "-1", "'weight' must be a finite number ≥ 0"),
    ("weight", "'2'", "'weight' must be a finite number ≥ 0"),
    ("weight", "true", "'weight' must be a finite number ≥ 0"),
    ("scale", "{levels: [bad, good], descriptions: [x, y]}", "'descriptions' must map each level"),
    ("scale", "{levels: [bad, good], descriptions: {bad: [1, 2]}}", "'descriptions' must map each level"),
    ("scale", "{levels: [true, false]}", "ordinal levels must be names"),
    ("scale", "{levels: [bad, good], na: 'yes'}", "'na' must be true or false"),
])
def test_rubric_fields_are_strictly_typed(field: str, value: str, message: str) -> None:
    with pytest.raises(RubricError, match=message.replace("(", r"\(")) as info:
        parse_rubric(BASE + f"    {field}: {value}\n", source="strict.yaml")
    assert "strict.yaml (line 3): criterion 'q'" in str(info.value)


def test_rubric_level_fields_are_strictly_typed() -> None:
    with pytest.raises(RubricError, match="'description' must be text, not a list"):
        parse_rubric("description: [a, b]\n" + BASE)
    with pytest.raises(RubricError, match="'id' must be text"):
        parse_rubric(BASE.replace("id: r", "id: [r]"))
    with pytest.raises(RubricError, match="lone surrogate"):
        parse_rubric(BASE.replace("'Did the agent greet?'", '"Did \\ud800 greet?"'))


def test_yaml_booleans_and_finite_numbers_still_work() -> None:
    rubric = parse_rubric(BASE + "    auto_fail: true\n    weight: 2.5\n    scale: {levels: [1, 2, 3]}\n")
    [criterion] = rubric.criteria
    assert criterion.auto_fail is True and criterion.weight == 2.5 and criterion.scale.levels == ["1", "2", "3"]
    assert parse_rubric(BASE + "    auto_fail: false\n").criteria[0].auto_fail is False
