"""docker-compose.yml and the Dockerfile cannot drift from the code: every RUBRICATE_* variable they set is a field
of :class:`scorer.settings.Settings` (and its value parses), every ``rubricate`` command they run parses on the real
CLI, and the pinned versions match the project's. Docker itself is not needed."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli import build_app
from scorer.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PREFIX = "RUBRICATE_"
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _interpolate(value: str) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``: the default, else a placeholder."""
    return _INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) in ("-", ":-") else "x", value)


def unknown_variables(compose: dict[str, Any]) -> list[str]:
    """RUBRICATE_* names set in a service's environment or interpolated anywhere that are not Settings fields."""
    fields = set(Settings.model_fields)
    names = {name for service in compose.get("services", {}).values() for name in _environment(service)}
    names |= {m.group(1) for m in _INTERPOLATION.finditer(yaml.safe_dump(compose))}
    return sorted(n for n in names if n.startswith(PREFIX) and n.removeprefix(PREFIX).lower() not in fields)


def rubricate_commands(command: str | list[str] | None) -> list[list[str]]:
    """The ``rubricate ...`` invocations in a service command (exec form, or a shell line joined by && or ;)."""
    if command is None:
        return []
    argv = command if isinstance(command, list) else shlex.split(command)
    if argv[:2] in (["sh", "-c"], ["bash", "-c"], ["/bin/sh", "-c"]):
        return rubricate_commands(argv[2])
    found: list[list[str]] = []
    current: list[str] = []
    for word in [*argv, "&&"]:
        if word in ("&&", ";", "||"):
            words = current[1:] if current[:1] == ["exec"] else current
            if words[:1] == ["rubricate"]:
                found.append(words[1:])
            current = []
        else:
            current.append(word)
    return found


def cli_error(args: list[str]) -> str | None:
    """None when ``rubricate ARGS --help`` parses (command and options exist), else the CLI's complaint."""
    result = CliRunner().invoke(build_app(), [*args, "--help"])
    return None if result.exit_code == 0 else f"rubricate {shlex.join(args)}: {result.output.strip()}"


def _dockerfile_cmd() -> list[str]:
    line = next(line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD "))
    return json.loads(line.removeprefix("CMD "))  # type: ignore[no-any-return]


def test_compose_sets_only_real_settings() -> None:
    assert unknown_variables(_compose()) == []


def test_compose_values_parse_as_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, service in _compose()["services"].items():
        env = {k: _interpolate(v) for k, v in _environment(service).items() if k.startswith(PREFIX)}
        if not env:
            continue
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        for key in env:
            monkeypatch.delenv(key)
        assert settings.broker_url and settings.database_url, f"{name}: runs without PostgreSQL and Redis"
        assert settings.auto_migrate is False, f"{name}: only `rubricate db upgrade` should migrate"


def test_compose_runs_real_commands() -> None:
    services = _compose()["services"]
    commands = {name: rubricate_commands(s.get("command")) for name, s in services.items()}
    assert commands["api"] == [["db", "upgrade"], ["serve", "--host", "0.0.0.0", "--port", "8000"]]
    assert [c[0] for c in commands["worker"]] == ["worker"]
    for name, found in commands.items():
        for args in found:
            assert cli_error(args) is None, name
    image_cmd = _dockerfile_cmd()
    assert image_cmd[0] == "rubricate" and cli_error(image_cmd[1:]) is None


def test_compose_services_and_pins() -> None:
    from labeling._venv import LABEL_STUDIO_VERSION

    services = _compose()["services"]
    assert set(services) >= {"postgres", "redis", "api", "worker", "label-studio"}
    assert services["label-studio"]["image"].endswith(f":{LABEL_STUDIO_VERSION}")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch_pin = next(d for d in project["optional-dependencies"]["local"] if d.startswith("torch=="))
    assert f'"{torch_pin}"' in DOCKERFILE.read_text() and "whl/cpu" in DOCKERFILE.read_text()
    assert "pip install '.[all]'" in DOCKERFILE.read_text(), "the image must install every extra the compose uses"


def test_every_extra_is_part_of_all() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    named = {e.strip() for e in extras["all"][0].split("[", 1)[1].rstrip("]").split(",")}
    assert named == set(extras) - {"all", "dev", "fuzz"}  # dev and fuzz are developer tools, not product parts


def test_the_checks_catch_drift() -> None:
    """The helpers above fail on a misspelt variable, an interpolated unknown one and a command that does not exist,
    so the tests using them can fail."""
    drifted: dict[str, Any] = {"services": {
        "api": {"environment": {"RUBRICATE_DATABASE_URL": "x", "RUBRICATE_DB_URL": "x"},
                "command": "sh -c 'rubricate db upgrade && exec rubricate serve --bind 0.0.0.0'"},
        "worker": {"environment": ["RUBRICATE_BROKER=redis://r", "RUBRICATE_JUDGE=${RUBRICATE_JUDG:-local}"],
                   "command": ["rubricate", "workers"]},
    }}
    assert unknown_variables(drifted) == ["RUBRICATE_BROKER", "RUBRICATE_DB_URL", "RUBRICATE_JUDG"]
    api_cmds = rubricate_commands(drifted["services"]["api"]["command"])
    assert api_cmds == [["db", "upgrade"], ["serve", "--bind", "0.0.0.0"]]
    assert cli_error(api_cmds[0]) is None
    assert cli_error(api_cmds[1]) is not None  # no such option
    assert cli_error(rubricate_commands(drifted["services"]["worker"]["command"])[0]) is not None  # no such command
