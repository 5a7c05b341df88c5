"""The layers are one-way, the CLI and the service route alike, and user-facing errors are one line."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scorer.rubric import parse_rubric
from scorer.store.calibrations import save_calibration
from tests._api_fixtures import RUBRIC_YAML, conversation, free_port, make_settings, open_api

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"prompts": 0, "scorer": 1, "eval": 2, "labeling": 2, "api": 3, "cli": 4}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Top-level package names imported by a module (also those named by "pkg.module:attr" strings)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ":" in node.value:
            head = node.value.split(":")[0]
            if head.count(".") >= 1 and head.replace(".", "").replace("_", "").isalnum():
                found.append((node.lineno, head.split(".")[0]))
    return found


def test_every_package_imports_only_the_layers_below_it() -> None:
    wrong = []
    for package, level in LAYERS.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, name in _imports(path):
                if name in LAYERS and name != package and LAYERS[name] >= level:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "imports that run up or across the layers:\n" + "\n".join(wrong)


def test_the_service_routes_a_reworded_uncalibrated_criterion_to_review_as_the_cli_does(tmp_path: Path) -> None:
    """`greet` was calibrated (threshold 0) in version 1 and reworded in version 2: until it is re-validated,
    both the CLI and the service must send every answer of it to review, and must not hold back `solve`."""
    reworded = RUBRIC_YAML.replace("Did the agent greet the customer?", "Did the agent greet the customer by name?")
    settings = make_settings(tmp_path, review_threshold=0.0)
    with open_api(settings) as api:
        v1 = parse_rubric(RUBRIC_YAML)
        api.add_rubric(RUBRIC_YAML)
        for criterion in v1.criteria:
            save_calibration(api.store, v1, criterion.id, "fake", method="platt", threshold=0.0, n=50, params={})
        v2 = api.add_rubric(reworded)
        assert v2["version"] != v1.version
        ingested = api.ingest(conversation("svc-1"))
        assert ingested.status_code == 202, ingested.text
        assert api.wait_job(ingested.json()["job_id"])["status"] == "done"
        card = api.client.get("/v1/conversations/svc-1/scorecard", headers=api.auth()).json()
    service = {j["criterion_id"]: j for j in card["judgements"]}

    rubric_file = tmp_path / "v2.yaml"
    rubric_file.write_text(reworded)
    data = tmp_path / "convs.jsonl"
    data.write_text(json.dumps(conversation("cli-1")) + "\n")
    out = tmp_path / "scores.jsonl"
    env = {**os.environ, "RUBRICATE_DATABASE_URL": settings.resolved_database_url(),
           "RUBRICATE_REVIEW_THRESHOLD": "0", "RUBRICATE_AUDIT_RATE": "0"}
    proc = subprocess.run([sys.executable, "-c", "from cli import main; main()", "score", str(data),
                           "--rubric", str(rubric_file), "--judge", "fake", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert "greet changed since it was calibrated" in proc.stdout, proc.stdout + proc.stderr
    cli = {j["criterion_id"]: j for j in json.loads(out.read_text())["judgements"]}

    for judged in (service, cli):
        assert judged["greet"]["needs_review"] and "low_confidence" in judged["greet"]["review_reasons"]
        assert "low_confidence" not in judged["solve"]["review_reasons"]


def test_label_studio_down_is_a_one_line_error_with_a_hint(tmp_path: Path) -> None:
    rubric_file = tmp_path / "r.yaml"
    rubric_file.write_text(RUBRIC_YAML)
    env = {**os.environ, "RUBRICATE_DATA_DIR": str(tmp_path / "data"),
           "RUBRICATE_LABEL_STUDIO_URL": f"http://127.0.0.1:{free_port()}", "RUBRICATE_LABEL_STUDIO_TOKEN": "t"}
    env.pop("RUBRICATE_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-c", "from cli import main; main()", "review", "push",
                           "--rubric", str(rubric_file)], capture_output=True, text=True, timeout=300, env=env,
                          cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "not reachable" in errors[0] and "labeling up" in errors[0], proc.stderr


@pytest.mark.parametrize("judge_class", ["FakeJudge", "LocalJudge", "HostedJudge", "LearnedJudge", "EnsembleJudge"])
def test_every_judge_declares_its_abilities_through_the_base_class(judge_class: str) -> None:
    import importlib

    from scorer.judges import Judge

    modules = {"FakeJudge": "fake", "LocalJudge": "local", "HostedJudge": "hosted", "LearnedJudge": "learned",
               "EnsembleJudge": "ensemble"}
    cls = getattr(importlib.import_module(f"scorer.judges.{modules[judge_class]}"), judge_class)
    assert issubclass(cls, Judge)
    assert isinstance(cls.reads_wording, bool) and isinstance(cls.independent_questions, bool)


def test_the_api_and_cli_load_without_the_heavy_extras() -> None:
    """A user of the API alone installs no torch, transformers, celery, Label Studio SDK or matplotlib."""
    blocked = ["torch", "transformers", "sentence_transformers", "celery", "kombu", "label_studio_sdk", "matplotlib",
               "krippendorff"]
    code = ("import sys\n"
            f"for name in {blocked!r}: sys.modules[name] = None\n"
            "from api.main import create_app\nfrom cli import build_app\nbuild_app()\n"
            "from scorer.settings import Settings\n"
            "create_app(Settings(_env_file=None, database_url='sqlite://', judge='fake'))\n"
            "from scorer.judges import get_judge\n"
            "try:\n    get_judge('local')\nexcept Exception as exc:\n    print(type(exc).__name__, exc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "MissingExtra" in proc.stdout and "pip install 'rubricate[local]'" in proc.stdout, proc.stdout


def test_a_missing_extra_names_the_pip_extra() -> None:
    from scorer._errors import RubricateError
    from scorer._extras import require

    with pytest.raises(RubricateError, match=r"pip install 'rubricate\[workers\]'"):
        require("no_such_module_for_the_test", "workers", "Celery workers")
