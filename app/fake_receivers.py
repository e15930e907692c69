"""A fake control room and a fake SMS gateway: real HTTP servers on loopback.

They verify what they are sent as the real ones would (the room checks the Standard
Webhooks signature with the ``standardwebhooks`` package, the gateway checks its
``authkey``), record every request, and can be told to fail or stall, so the demo and
the tests assert on what actually crossed the wire.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    verified: bool
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    """What the server answers next: a status per request, then ``default``."""

    statuses: list[int] = field(default_factory=list)
    default: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.default


class _Server:
    def __init__(self, check: Callable[[str, dict[str, str], bytes], bool]):
        self.received: list[Received] = []
        self.behaviour = Behaviour()
        self._check = check
        self._cond = threading.Condition()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> _Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def accepted(self) -> list[Received]:
        with self._cond:
            return [r for r in self.received if r.verified and 200 <= r.status < 300]

    def wait_for(self, count: int, *, timeout_s: float = 10.0) -> list[Received]:
        """Wait until ``count`` requests were accepted; return them all."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self.accepted()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self.accepted()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                behaviour = server.behaviour
                if behaviour.delay_s:
                    time.sleep(behaviour.delay_s)
                verified = server._check(self.path, headers, body)
                status = behaviour.next_status() if verified else 401
                reply = server.reply(verified, status)
                with server._cond:
                    server.received.append(
                        Received(
                            self.path, headers, body, time.time(), verified, status
                        )
                    )
                    server._cond.notify_all()
                payload = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    for name, value in behaviour.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up (a timeout, or a killed process)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def reply(self, verified: bool, status: int) -> dict[str, Any]:
        return {"ok": verified and 200 <= status < 300}


class FakeControlRoom(_Server):
    """Takes ``POST /rooms/<room id>`` and verifies the Standard Webhooks signature."""

    def __init__(self, *, signing_secret: str):
        self._webhook = Webhook(signing_secret)
        super().__init__(self._verify)

    def _verify(self, path: str, headers: dict[str, str], body: bytes) -> bool:
        try:
            self._webhook.verify(body, headers)
        except WebhookVerificationError:
            return False
        return path.startswith("/rooms/")

    def for_room(self, room_id: str) -> list[Received]:
        return [r for r in self.accepted() if r.path == f"/rooms/{room_id}"]


class FakeMsg91(_Server):
    """Receives MSG91 Flow API calls (``POST /api/v5/flow``) and checks the authkey."""

    def __init__(self, *, authkey: str):
        self._authkey = authkey
        super().__init__(self._verify)

    def _verify(self, path: str, headers: dict[str, str], body: bytes) -> bool:
        return path == "/api/v5/flow" and headers.get("authkey") == self._authkey

    def reply(self, verified: bool, status: int) -> dict[str, Any]:
        if verified and 200 <= status < 300:
            return {"type": "success", "message": uuid.uuid4().hex[:24]}
        return {"type": "error", "message": "rejected"}

    @property
    def flow_url(self) -> str:
        return self.url + "/api/v5/flow"


class FakeTwilio(_Server):
    """Takes Twilio Messages API calls and checks the basic-auth credentials."""

    def __init__(self, *, account_sid: str, auth_token: str):
        self.account_sid = account_sid
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._authorization = f"Basic {token}"
        super().__init__(self._verify)

    def _verify(self, path: str, headers: dict[str, str], body: bytes) -> bool:
        expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return path == expected and headers.get("authorization") == self._authorization

    def reply(self, verified: bool, status: int) -> dict[str, Any]:
        if verified and 200 <= status < 300:
            return {"sid": "SM" + uuid.uuid4().hex, "status": "queued"}
        return {"code": 20003 if not verified else 21211, "message": "rejected"}

    def form(self, received: Received) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(received.body.decode()))
