"""A minimal alert receiver: checks X-Rubricate-Signature and prints each alert. For trying alerts out locally:

    RUBRICATE_ALERT_SECRET=whsec_demo python examples/programme/receiver.py 8799
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["RUBRICATE_ALERT_SECRET"].encode()


def verified(body: bytes, header: str, tolerance: float = 300) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    t = parts.get("t", "0")
    expected = hmac.new(SECRET, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - int(t)) <= tolerance and hmac.compare_digest(expected, parts.get("v1", ""))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not verified(body, self.headers.get("X-Rubricate-Signature", "")):
            self.send_response(401)
            self.end_headers()
            return
        alert = json.loads(body)
        print(f"{alert['type']:<17} {alert['conversation_id']:<24} agent {alert['agent']['id']} "
              f"score {alert['score']} {alert['link']}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8799), Receiver).serve_forever()
