"""``kill -9`` of ``redflag-relay serve`` right after a 200: the alert is delivered
once the service is back, because everything it needs is in committed rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from app.demo import (
    DEMO_META_SECRETS,
    DEMO_ROOM_SECRET,
    DEMO_SMS_AUTHKEY,
    DEMO_STANDARD_SECRET,
    DEMO_VERIFY_TOKEN,
)
from app.fake_receivers import FakeControlRoom, FakeMsg91
from app.local_server import free_port
from tests.builders import alert, meta_body, meta_headers


class Serve:
    """``python -m app serve`` in its own process."""

    def __init__(self, env: dict[str, str], port: int):
        self.env = env
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(
            self.process.stderr.read1().decode() if self.process.stderr else ""
        )

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def serve(db_url: str, room: FakeControlRoom, sms: FakeMsg91) -> Iterator[Serve]:
    env = {
        **os.environ,
        "REDFLAG_DEMO_MODE": "true",
        "REDFLAG_DATABASE_URL": db_url,
        "REDFLAG_META_APP_SECRETS": ",".join(DEMO_META_SECRETS),
        "REDFLAG_META_VERIFY_TOKEN": DEMO_VERIFY_TOKEN,
        "REDFLAG_STANDARD_WEBHOOK_SECRETS": DEMO_STANDARD_SECRET,
        "REDFLAG_ROOM_BASE_URL": room.url,
        "REDFLAG_ROOM_SIGNING_SECRET": DEMO_ROOM_SECRET,
        "REDFLAG_SMS_GATEWAY_URL": sms.flow_url,
        "REDFLAG_SMS_AUTHKEY": DEMO_SMS_AUTHKEY,
        "REDFLAG_SMS_TEMPLATE_ID": "1207170000000000001",
        # A lease outlives an attempt; on PostgreSQL a dead process's lease runs
        # out before its rows are sent again (on SQLite, start-up releases them).
        "REDFLAG_ATTEMPT_TIMEOUT_S": "5",
        "REDFLAG_LEASE_S": "6",
    }
    process = Serve(env, free_port())
    yield process
    process.stop()


def test_alert_is_delivered_after_kill_9_in_the_middle_of_a_send(
    serve: Serve, room: FakeControlRoom
) -> None:
    """The room stalls, so the send is in flight (leased) when the process dies."""
    room.behaviour.delay_s = 3.0
    serve.start()
    body = meta_body(alert("rf-kill"))

    response = httpx.post(
        f"http://127.0.0.1:{serve.port}/webhooks/meta",
        content=body,
        headers=meta_headers(body),
    )
    time.sleep(0.3)
    serve.kill()
    room.behaviour.delay_s = 0.0
    serve.start()
    received = room.wait_for(1, timeout_s=20)

    assert response.status_code == 200
    assert {r.json()["alert_id"] for r in received} == {"rf-kill"}
    assert len({r.headers["webhook-id"] for r in room.received}) == 1


def test_alert_is_delivered_after_kill_9_before_any_send(
    serve: Serve, room: FakeControlRoom
) -> None:
    room.behaviour.default = 503
    serve.start()
    body = meta_body(alert("rf-kill-2"))

    response = httpx.post(
        f"http://127.0.0.1:{serve.port}/webhooks/meta",
        content=body,
        headers=meta_headers(body),
    )
    serve.kill()
    room.behaviour.default = 200
    serve.start()
    received = room.wait_for(1, timeout_s=20)

    assert response.status_code == 200
    assert [r.json()["alert_id"] for r in received] == ["rf-kill-2"]
    assert len({r.headers["webhook-id"] for r in room.received}) == 1
