"""Load and validate rubric YAML. Errors name the file, the line where known, the criterion and the problem."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scorer._errors import RubricError
from scorer.programme import AlertRules, Eligibility
from scorer.settings import Settings
from scorer.types import Criterion, Rubric, Scale

__all__ = ["default_eligibility", "load_rubric", "parse_rubric", "parse_scale", "programme_fields"]

_RANGE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")
_NAMED_SCALES = {
    "yes_no": Scale(kind="yes_no", levels=["no", "yes"]),
    "yes_no_na": Scale(kind="yes_no_na", levels=["no", "yes"], allow_na=True),
}


def parse_scale(value: Any, *, where: str) -> Scale:
    """Turn the YAML ``scale`` field into a :class:`Scale`.

    Accepted forms: ``yes_no``, ``yes_no_na``, a numeric range such as ``1-5``, ``{levels: [...]}``
    (optionally with ``descriptions`` and ``na: true``) and ``{ordinal: {levels: [...]}}``.
    """
    if value is None:
        return _NAMED_SCALES["yes_no"].model_copy()
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_").replace("/", "_")
        if key in _NAMED_SCALES:
            return _NAMED_SCALES[key].model_copy()
        match = _RANGE.match(value)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if high <= low or high - low > 20:
                raise RubricError(f"{where}: scale range {value!r} must go up, with at most 21 levels")
            return Scale(kind="ordinal", levels=[str(i) for i in range(low, high + 1)])
        raise RubricError(
            f"{where}: unknown scale {value!r}; use yes_no, yes_no_na, a range such as 1-5, "
            "or {levels: [needs_improvement, good, exceptional]}"
        )
    if isinstance(value, dict):
        body = value.get("ordinal", value)
        if not isinstance(body, dict) or not isinstance(body.get("levels"), list):
            raise RubricError(f"{where}: an ordinal scale needs a list under 'levels'")
        levels = [str(level).strip() for level in body["levels"]]
        if len(levels) < 2 or any(not level for level in levels) or len(set(levels)) != len(levels):
            raise RubricError(f"{where}: ordinal levels must be at least two distinct, non-empty names")
        if "na" in levels:
            raise RubricError(f"{where}: 'na' is reserved; set 'na: true' on the scale instead of listing it")
        descriptions = {str(k): str(v) for k, v in (body.get("descriptions") or {}).items()}
        unknown = set(descriptions) - set(levels)
        if unknown:
            raise RubricError(f"{where}: descriptions for unknown levels {sorted(unknown)}")
        return Scale(kind="ordinal", levels=levels, descriptions=descriptions, allow_na=bool(body.get("na")))
    raise RubricError(f"{where}: scale must be a name, a range or a mapping, not {type(value).__name__}")


def programme_fields(data: dict[str, Any], *, source: str, eligibility: Eligibility | None = None
                     ) -> dict[str, Any]:
    """The rubric's ``eligibility`` and ``alerts`` blocks, validated (absent: ``eligibility``, else the defaults)."""
    out: dict[str, Any] = {} if eligibility is None else {"eligibility": eligibility}
    for name, model in (("eligibility", Eligibility), ("alerts", AlertRules)):
        if data.get(name) is None:
            continue
        try:
            out[name] = model.model_validate(data[name])
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise RubricError(f"{source}: {name}: {problems}") from exc
    return out


def _line_of(node: yaml.Node | None) -> str:
    return f" (line {node.start_mark.line + 1})" if node is not None else ""


def _criterion_nodes(root: yaml.Node | None) -> list[yaml.Node | None]:
    """The YAML nodes of the criteria, to report line numbers; empty when the shape is unexpected."""
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "criteria" and isinstance(value, yaml.SequenceNode):
            return list(value.value)
    return []


def parse_rubric(text: str, *, source: str = "<rubric>", eligibility: Eligibility | None = None) -> Rubric:
    """Parse rubric YAML text; ``source`` names it in error messages. ``eligibility`` applies when the rubric has
    no ``eligibility:`` block of its own (see :func:`default_eligibility`)."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise RubricError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RubricError(f"{source}: a rubric must be a mapping with 'id', 'name' and 'criteria'")
    if not data.get("id"):
        raise RubricError(f"{source}: the rubric has no 'id'")
    raw_criteria = data.get("criteria")
    if not isinstance(raw_criteria, list) or not raw_criteria:
        raise RubricError(f"{source}: 'criteria' must be a non-empty list")
    nodes = _criterion_nodes(root)
    criteria: list[Criterion] = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(raw_criteria):
        node = nodes[index] if index < len(nodes) else None
        where = f"{source}{_line_of(node)}: criterion #{index + 1}"
        if not isinstance(raw, dict):
            raise RubricError(f"{where}: must be a mapping with 'id' and 'question'")
        cid = str(raw.get("id") or "").strip()
        if not cid:
            raise RubricError(f"{where}: has no 'id'")
        where = f"{source}{_line_of(node)}: criterion {cid!r}"
        if cid in seen:
            raise RubricError(f"{where}: duplicate id (first defined at{seen[cid]})")
        seen[cid] = _line_of(node) or f" #{index + 1}"
        question = str(raw.get("question") or "").strip()
        if not question:
            raise RubricError(f"{where}: the question is empty")
        scale = parse_scale(raw.get("scale"), where=where)
        applies_when = raw.get("applies_when")
        applies_if = raw.get("applies_if")
        if (applies_when or applies_if is not None) and not scale.allow_na:
            scale = scale.model_copy(update={"allow_na": True})
        known = {"id", "question", "category", "scale", "applies_when", "applies_if", "weight", "auto_fail",
                 "guidance"}
        extra = set(raw) - known
        if extra:
            raise RubricError(f"{where}: unknown field(s) {sorted(extra)}; known: {sorted(known)}")
        try:
            criteria.append(
                Criterion(
                    id=cid,
                    question=question,
                    category=str(raw.get("category") or "general"),
                    scale=scale,
                    applies_when=str(applies_when).strip() if applies_when else None,
                    weight=raw.get("weight", 1.0),
                    auto_fail=bool(raw.get("auto_fail", False)),
                    guidance=str(raw["guidance"]).strip() if raw.get("guidance") else None,
                    applies_if=applies_if,
                )
            )
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise RubricError(f"{where}: {problems}") from exc
    return Rubric(
        id=str(data["id"]),
        name=str(data.get("name") or data["id"]),
        description=data.get("description"),
        criteria=criteria,
        **programme_fields(data, source=source, eligibility=eligibility),
    )


def default_eligibility(settings: Settings | None = None) -> Eligibility | None:
    """The eligibility rules for every rubric without its own, from the YAML file ``RUBRICATE_ELIGIBILITY_FILE``
    (an ``eligibility:`` block, or the bare mapping); None when the setting is unset."""
    path = (settings or Settings()).eligibility_file
    if path is None:
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RubricError(f"{path} (RUBRICATE_ELIGIBILITY_FILE): cannot read it: {exc}") from exc
    block = data.get("eligibility", data) if isinstance(data, dict) else data
    try:
        return Eligibility.model_validate(block)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RubricError(f"{path} (RUBRICATE_ELIGIBILITY_FILE): {problems}") from exc


def load_rubric(path: str | Path, *, settings: Settings | None = None) -> Rubric:
    """Load a rubric YAML file; raises :class:`RubricError` naming the file and the problem. A rubric without an
    ``eligibility:`` block gets the rules of ``RUBRICATE_ELIGIBILITY_FILE`` when that is set."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RubricError(f"{path}: no such rubric file") from exc
    except UnicodeDecodeError as exc:
        raise RubricError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return parse_rubric(text, source=str(path), eligibility=default_eligibility(settings))
