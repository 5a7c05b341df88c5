"""A webhook receiver on loopback for the alert tests: records each POST's headers and body, answers 204."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

__all__ = ["ALERT_RUBRIC", "AlertReceiver"]

ALERT_RUBRIC = """id: svc
criteria:
  - {id: greet, question: "Did the agent greet the customer?", auto_fail: true}
  - {id: solve, question: "Did the agent offer a solution?"}
"""
"""A rubric whose auto-fail criterion and low scores set off both alert kinds with the fake judge."""


class AlertReceiver(BaseHTTPRequestHandler):
    """Reset ``received`` at the start of a test; the server threads append to it."""

    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass
