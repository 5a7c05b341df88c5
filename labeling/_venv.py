"""Label Studio's own virtual environment and a migrated template data directory, both under the cache dir.

Creating the venv takes minutes once; a fresh data dir needs its database migrated (~30 s), so one migrated
template is kept and copied for each new data dir (a start from it takes seconds).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scorer._errors import RubricateError

__all__ = ["LABEL_STUDIO_VERSION", "LabelStudioError", "ensure_template", "ensure_venv"]

LABEL_STUDIO_VERSION = "1.23.2"


class LabelStudioError(RubricateError):
    """Label Studio could not be installed, started or reached; the message says what to do."""


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _installed_version(venv: Path) -> str | None:
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('label-studio'))"],
        capture_output=True, text=True, timeout=120,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def ensure_venv(cache_dir: Path) -> Path:
    """The venv with ``label-studio==1.23.2`` under ``cache_dir``, created or repaired if needed."""
    venv = cache_dir.resolve() / "venv"
    with _locked(cache_dir / ".venv.lock"):
        if _installed_version(venv) == LABEL_STUDIO_VERSION and (venv / "bin" / "label-studio").exists():
            return venv
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        install = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", f"label-studio=={LABEL_STUDIO_VERSION}"],
            capture_output=True, text=True, timeout=1800,
        )
        if install.returncode != 0:
            tail = (install.stdout + install.stderr)[-1500:]
            raise LabelStudioError(f"installing label-studio=={LABEL_STUDIO_VERSION} into {venv} failed:\n{tail}")
    return venv


def ensure_template(cache_dir: Path) -> Path:
    """A data dir whose database is already migrated (made once by running the migrations)."""
    cache_dir = cache_dir.resolve()
    template = cache_dir / "template-data"
    with _locked(cache_dir / ".template.lock"):
        if (template / ".migrated").exists():
            return template
        venv = ensure_venv(cache_dir)
        scratch = cache_dir / "template-data.tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": os.environ.get("HOME", str(scratch)),
               "LANG": "C.UTF-8", "LABEL_STUDIO_BASE_DATA_DIR": str(scratch), "LATEST_VERSION_CHECK": "false",
               "COLLECT_ANALYTICS": "false", "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": ""}
        # `label-studio version` (unlike `--version`, which starts a server) migrates the data dir and exits.
        done = subprocess.run([str(venv / "bin" / "label-studio"), "version"],
                              env=env, capture_output=True, text=True, timeout=900, cwd=scratch)
        if done.returncode != 0 or not (scratch / "label_studio.sqlite3").exists():
            raise LabelStudioError(f"migrating Label Studio's database failed:\n{(done.stdout + done.stderr)[-1500:]}")
        (scratch / ".migrated").write_text(LABEL_STUDIO_VERSION)
        shutil.rmtree(template, ignore_errors=True)
        scratch.rename(template)
    return template
