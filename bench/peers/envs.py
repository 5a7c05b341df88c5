"""The peers' venvs under ``$RUBRICATE_CACHE_DIR/peers`` (never project dependencies), built on first use.

``llama-cpp-python`` builds from source (about 6 minutes on 2 cores); Autorubric and DeepEval install from PyPI.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["PEERS", "ensure_env", "peer_python", "root"]

PEERS = {
    "llama": ("llama-cpp-python[server]==0.3.36", "llama_cpp.server"),
    "autorubric": ("autorubric==1.6.1", "autorubric"),
    "deepeval": ("deepeval==4.3.1", "deepeval"),
}
_BUILD_ENV = {"CMAKE_BUILD_PARALLEL_LEVEL": "2",
              "CMAKE_ARGS": "-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF"}


def root() -> Path:
    return Path(os.environ.get("RUBRICATE_CACHE_DIR") or Path.home() / ".cache" / "rubricate") / "peers"


def peer_python(name: str) -> Path:
    return root() / f"{name}-venv" / "bin" / "python"


def ensure_env(name: str) -> Path:
    """The venv's python, creating the venv and installing the peer when it cannot import it yet."""
    spec, module = PEERS[name]
    python = peer_python(name)
    if python.exists() and subprocess.run([str(python), "-c", f"import {module}"],
                                          capture_output=True).returncode == 0:
        return python
    print(f"  installing {spec} into {python.parent.parent} (once; llama-cpp-python builds for ~6 min)", flush=True)
    if not python.exists():
        subprocess.run(["python3.11", "-m", "venv",
                        str(python.parent.parent)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", spec], check=True,
                   env={**os.environ, **(_BUILD_ENV if name == "llama" else {})})
    return python
