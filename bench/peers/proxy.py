"""A loopback proxy in front of the served model for the peers benchmark.

* Counts calls and prompt/completion tokens (from each response's ``usage``) per system, so every system is
  measured by the same meter.
* Bridges ``response_format`` dialects: ``{"type": "json_schema", "json_schema": {"schema": S}}`` (OpenAI's form,
  which Autorubric sends) becomes ``{"type": "json_object", "schema": S}`` (what llama-cpp-python's server takes).
* Gives requests that set no ``max_tokens`` the same ceiling (``--max-tokens`` of the bench), so no system can
  generate until the context is full; the ceiling is printed with the results.

Standard library only; binds to 127.0.0.1 and forwards only to the served model on loopback.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Meter", "Proxy"]


class Meter:
    """Calls and tokens per system label (the label currently being measured)."""

    def __init__(self) -> None:
        self.label = "none"
        self.counts: dict[str, dict[str, int]] = {}
        self.lock = threading.Lock()

    def add(self, usage: dict[str, Any], bridged: bool, failed: bool) -> None:
        with self.lock:
            row = self.counts.setdefault(self.label, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                                      "bridged_response_format": 0, "failed_calls": 0})
            row["calls"] += 1
            row["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
            row["completion_tokens"] += int(usage.get("completion_tokens") or 0)
            row["bridged_response_format"] += bridged
            row["failed_calls"] += failed

    def get(self, label: str) -> dict[str, int]:
        with self.lock:
            return dict(self.counts.get(label, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
                                                "bridged_response_format": 0, "failed_calls": 0}))


def bridge(body: dict[str, Any], max_tokens: int) -> bool:
    """Rewrite the request in place; True when the response_format was bridged."""
    if not body.get("max_tokens") and not body.get("max_completion_tokens"):
        body["max_tokens"] = max_tokens
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        body["response_format"] = {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
        return True
    return False


class Proxy:
    """Run with ``with Proxy(upstream, max_tokens) as proxy:``; ``proxy.url`` is the OpenAI base URL to use."""

    def __init__(self, upstream: str, max_tokens: int, timeout: float = 900.0) -> None:
        self.upstream = urlsplit(upstream)
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.meter = Meter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                bridged = False
                if raw and self.path.endswith("/chat/completions"):
                    body = json.loads(raw)
                    bridged = bridge(body, proxy.max_tokens)
                    body.pop("stream_options", None)
                    raw = json.dumps(body).encode()
                conn = http.client.HTTPConnection(proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port,
                                                  timeout=proxy.timeout)
                try:
                    conn.request(method, self.path, body=raw or None,
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
                    response = conn.getresponse()
                    data = response.read()
                    status = response.status
                except OSError as exc:
                    data, status = json.dumps({"error": {"message": str(exc)}}).encode(), 502
                finally:
                    conn.close()
                if self.path.endswith("/chat/completions"):
                    usage: dict[str, Any] = {}
                    with contextlib.suppress(ValueError, AttributeError):
                        usage = json.loads(data).get("usage") or {}
                    proxy.meter.add(usage, bridged, status >= 400)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def do_POST(self) -> None:
                self._forward("POST")

            def do_GET(self) -> None:
                self._forward("GET")

        return Handler

    def __enter__(self) -> Proxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
