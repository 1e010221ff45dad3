"""A real HTTP receiver of webhooks for the tests: a small server on 127.0.0.1 (in a
thread) that verifies every message's signature with the ``standardwebhooks``
library, as a customer's endpoint would, and answers as it is told (fail, recover,
be slow)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Receiver:
    url: str = ""
    secret: str | None = None
    fail_first: int = 0
    """Answer 500 to the first this many messages."""
    always_fail: bool = False
    gate: threading.Event | None = None
    """A hanging endpoint: a message that comes while the gate is closed waits for it
    (longer than the sender waits), then is answered 503 and not counted."""
    hung: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    """Messages whose signature verified: {"id", "body", "headers"}."""
    answered: list[int] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def types(self) -> list[str]:
        with self.lock:
            return [m["body"]["type"] for m in self.received]


@contextmanager
def receiver(**kw: Any) -> Iterator[Receiver]:
    rec = Receiver(**kw)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            if rec.gate is not None and not rec.gate.is_set():
                with rec.lock:
                    rec.hung += 1
                rec.gate.wait(30)
                self._answer(503)  # too late: the sender gave up on it, or tries again
                return
            headers = {k: v for k, v in self.headers.items()}
            assert rec.secret is not None, "set the receiver's secret before sending"
            try:
                body = Webhook(rec.secret).verify(raw, headers)
            except WebhookVerificationError:
                with rec.lock:
                    rec.bad_signatures += 1
                self._answer(401)
                return
            with rec.lock:
                seen = len(rec.answered)
                code = 500 if rec.always_fail or seen < rec.fail_first else 200
                rec.answered.append(code)
                if code == 200:
                    rec.received.append(
                        {"id": headers["webhook-id"], "body": body, "headers": headers}
                    )
            self._answer(code)

        def _answer(self, code: int) -> None:
            text = json.dumps({"code": code}).encode()
            self.send_response(code)
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(text)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
