"""Load and validate rubric YAML. Errors name the file, the line where known, the criterion and the problem."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import ValidationError

from scorer import limits
from scorer._errors import RubricError
from scorer.programme import AlertRules, Eligibility
from scorer.rules.check import language_key, parse_check
from scorer.settings import Settings
from scorer.types import Criterion, Rubric, Scale, lone_surrogate

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
        if any(isinstance(level, bool) or not isinstance(level, str | int) for level in body["levels"]):
            raise RubricError(f"{where}: ordinal levels must be names (text) or whole numbers")
        levels = [str(level).strip() for level in body["levels"]]
        if len(levels) < 2 or any(not level for level in levels) or len(set(levels)) != len(levels):
            raise RubricError(f"{where}: ordinal levels must be at least two distinct, non-empty names")
        if "na" in levels:
            raise RubricError(f"{where}: 'na' is reserved; set 'na: true' on the scale instead of listing it")
        raw_descriptions = body.get("descriptions") or {}
        if not isinstance(raw_descriptions, dict) or any(
                not isinstance(v, str) or isinstance(k, bool) or not isinstance(k, str | int)
                for k, v in raw_descriptions.items()):
            raise RubricError(f"{where}: 'descriptions' must map each level name to its description (text)")
        descriptions = {str(k): v for k, v in raw_descriptions.items()}
        if not isinstance(body.get("na", False), bool):
            raise RubricError(f"{where}: 'na' must be true or false (unquoted)")
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


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def _text(raw: dict[str, Any], key: str, where: str) -> str | None:
    """The field as stripped text; None when absent or null; RubricError when it is not a string."""
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RubricError(f"{where}: '{key}' must be text, not {_kind(value)} ({str(value)[:40]}); quote it if "
                          "it is meant as text")
    return value.strip()


def _flag(raw: dict[str, Any], key: str, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise RubricError(f"{where}: '{key}' must be true or false (unquoted), not {value!r}")
    return value


def _weight(raw: dict[str, Any], where: str) -> float:
    value = raw.get("weight", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise RubricError(f"{where}: 'weight' must be a finite number ≥ 0, not {str(value)[:40]}")
    return float(value)


class _Limits(NamedTuple):
    max_bytes: int
    max_aliases: int
    max_nodes: int
    max_depth: int


def _limits(settings: Settings | None) -> _Limits:
    if settings is None:
        return _Limits(limits.MAX_RUBRIC_BYTES, limits.YAML_MAX_ALIASES, limits.YAML_MAX_NODES, limits.MAX_JSON_DEPTH)
    return _Limits(settings.max_rubric_bytes, settings.yaml_max_aliases, settings.yaml_max_nodes,
                   settings.max_json_depth)


_BRACKETS = re.compile(r"[\[\]{}]")


def _flow_depth(text: str) -> int:
    """How deeply ``[``/``{`` nest (a cheap over-estimate: brackets inside quotes count too)."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def _load_yaml(text: str, source: str, bounds: _Limits) -> tuple[Any, yaml.Node | None]:
    """Parse YAML safely within the limits: size first, then aliases and expanded size on the composed node graph
    (where an alias is one shared node, so an alias bomb costs nothing to measure), and only then build objects."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > bounds.max_bytes:
        raise RubricError(f"{source}: the rubric is {size} bytes, over the limit of {bounds.max_bytes} "
                          "(RUBRICATE_MAX_RUBRIC_BYTES)")
    if _flow_depth(text) > bounds.max_depth:  # PyYAML slows down sharply on deep nesting: refuse it first
        raise RubricError(f"{source}: brackets nest more than {bounds.max_depth} levels deep "
                          "(RUBRICATE_MAX_JSON_DEPTH)")
    try:
        loader = _CountingLoader(text, source, bounds.max_aliases)
    except yaml.YAMLError as exc:
        raise RubricError(f"{source}: not valid YAML: {exc}") from exc
    try:
        root = loader.get_single_node()
        if root is not None:
            expanded = _expanded_size(root, bounds.max_nodes, source)
            if expanded > bounds.max_nodes:
                raise RubricError(f"{source}: the rubric expands to more than {bounds.max_nodes} YAML nodes once "
                                  "its aliases are resolved (RUBRICATE_YAML_MAX_NODES); write it out plainly")
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise RubricError(f"{source}: not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise RubricError(f"{source}: the YAML nests too deeply to be a rubric") from exc
    finally:
        loader.dispose()
    return data, root


class _CountingLoader(yaml.SafeLoader):
    """A SafeLoader that refuses more than ``max_aliases`` aliases while composing."""

    def __init__(self, text: str, source: str, max_aliases: int) -> None:
        super().__init__(text)
        self.source, self.max_aliases, self.aliases = source, max_aliases, 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.max_aliases:
                raise RubricError(f"{self.source}: more than {self.max_aliases} YAML aliases "
                                  "(RUBRICATE_YAML_MAX_ALIASES); write the rubric out without anchors")
        return super().compose_node(parent, index)  # type: ignore[no-any-return,arg-type]


def _expanded_size(root: yaml.Node, cap: int, source: str) -> int:
    """Nodes in the document with every alias expanded (stops counting past ``cap``)."""
    memo: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in open_nodes:
            raise RubricError(f"{source}: a YAML alias refers to itself; a rubric cannot be recursive")
        open_nodes.add(key)
        total = 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        for child in children:
            total += size(child)
            if total > cap:
                break
        open_nodes.discard(key)
        memo[key] = total
        return total

    return size(root)


def parse_rubric(text: str, *, source: str = "<rubric>", settings: Settings | None = None,
                 eligibility: Eligibility | None = None) -> Rubric:
    """Parse rubric YAML text; ``source`` names it in error messages; limits come from ``settings``.
    ``eligibility`` applies when the rubric has no ``eligibility:`` block of its own (:func:`default_eligibility`)."""
    data, root = _load_yaml(text, source, _limits(settings))
    if not isinstance(data, dict):
        raise RubricError(f"{source}: a rubric must be a mapping with 'id', 'name' and 'criteria'")
    bad_text = lone_surrogate(data)
    if bad_text is not None:
        raise RubricError(f"{source}: {bad_text} contains a lone surrogate (e.g. \\ud800), which is not text")
    rubric_id = _text(data, "id", source)
    if not rubric_id:
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
        cid = _text(raw, "id", where)
        if not cid:
            raise RubricError(f"{where}: has no 'id'")
        where = f"{source}{_line_of(node)}: criterion {cid!r}"
        if cid in seen:
            raise RubricError(f"{where}: duplicate id (first defined at{seen[cid]})")
        seen[cid] = _line_of(node) or f" #{index + 1}"
        question = _text(raw, "question", where)
        if not question:
            raise RubricError(f"{where}: the question is empty")
        scale = parse_scale(raw.get("scale"), where=where)
        applies_when = _text(raw, "applies_when", where)
        applies_if = raw.get("applies_if")
        if (applies_when or applies_if is not None) and not scale.allow_na:
            scale = scale.model_copy(update={"allow_na": True})
        known = {"id", "question", "category", "scale", "applies_when", "applies_if", "weight", "auto_fail",
                 "guidance", "check", "about"}
        extra = set(raw) - known
        if extra:
            raise RubricError(f"{where}: unknown field(s) {sorted(map(str, extra))}; known: {sorted(known)}")
        check = parse_check(raw["check"], where=where) if raw.get("check") is not None else None
        if check is not None and scale.levels != ["no", "yes"]:
            raise RubricError(f"{where}: a criterion with a 'check' needs scale yes_no or yes_no_na (a rule answers "
                              "yes or no)")
        about = str(raw.get("about") or "agent").strip().lower()
        if about not in ("agent", "customer", "any"):
            raise RubricError(f"{where}: about must be agent, customer or any, not {raw.get('about')!r}")
        try:
            criteria.append(
                Criterion(
                    id=cid,
                    question=question,
                    category=_text(raw, "category", where) or "general",
                    scale=scale,
                    applies_when=applies_when or None,
                    weight=_weight(raw, where),
                    auto_fail=_flag(raw, "auto_fail", where),
                    guidance=_text(raw, "guidance", where) or None,
                    applies_if=applies_if,
                    check=check,
                    about=about,  # type: ignore[arg-type]
                )
            )
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise RubricError(f"{where}: {problems}") from exc
    return Rubric(
        id=rubric_id,
        name=_text(data, "name", source) or rubric_id,
        description=_text(data, "description", source),
        criteria=criteria,
        **programme_fields(data, source=source, eligibility=eligibility),
        languages=_languages(data.get("languages"), source),
    )


def _languages(value: Any, source: str) -> list[str]:
    """The optional top-level ``languages:`` list (the conversation languages the rubric is used for)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RubricError(f"{source}: 'languages' must be a list of language tags such as [en, zh, ro, bg]")
    return [language_key(v) or v for v in value]


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
    max_bytes = _limits(settings).max_bytes
    try:
        if path.is_file() and path.stat().st_size > max_bytes:
            raise RubricError(f"{path}: {path.stat().st_size} bytes, over the rubric limit of {max_bytes} "
                              "(RUBRICATE_MAX_RUBRIC_BYTES)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RubricError(f"{path}: no such rubric file") from exc
    except UnicodeDecodeError as exc:
        raise RubricError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except IsADirectoryError as exc:
        raise RubricError(f"{path}: is a directory; give a rubric YAML file") from exc
    return parse_rubric(text, source=str(path), settings=settings, eligibility=default_eligibility(settings))
