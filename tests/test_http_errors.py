"""What a request that no handler expected comes to: the one error shape, a log
line with the route's template, and nothing raised on to the server."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
from structlog.testing import capture_logs

from app.fake_receivers import FakeControlRoom
from app.local_server import ServiceThread
from app.main import create_app
from app.settings import Settings
from tests.conftest import example_rooms
from tests.test_notifiers import wait_until
from tests.test_webhooks import assert_error


@pytest.fixture
def crashing(
    make_settings: Callable[..., Settings], room: FakeControlRoom
) -> Iterator[ServiceThread]:
    app = create_app(make_settings(), rooms=example_rooms(room.url))

    @app.get("/test/crash/{secret}")
    async def crash(secret: str) -> None:
        # An exception's message may quote what it was handling.
        raise RuntimeError("a bug near Priya Kumari, +919812345678")

    service = ServiceThread(app).start()
    yield service
    service.stop()


def test_a_crash_is_a_500_in_the_error_shape_logged_once_as_json(
    crashing: ServiceThread, caplog: pytest.LogCaptureFixture
) -> None:
    with capture_logs() as logs, caplog.at_level(logging.ERROR, logger="uvicorn"):
        response = httpx.get(crashing.url + "/test/crash/tok-4f1e9a")

    assert_error(response, 500, "internal_error")
    assert "a bug" not in response.text and "Traceback" not in response.text
    [crashed] = [e for e in logs if e["event"] == "request_crashed"]
    assert crashed["route"] == "/test/crash/{secret}"
    assert crashed["error"] == "RuntimeError"
    assert crashed["stack"][-1].endswith(" crash")  # the route function raised it
    assert "tok-4f1e9a" not in str(logs)
    assert "Priya" not in str(logs) and "9812345678" not in str(logs)
    assert [r for r in caplog.records if r.name.startswith("uvicorn")] == []


def test_a_client_that_hangs_up_mid_body_is_a_note_not_a_crash(
    crashing: ServiceThread,
) -> None:
    with capture_logs() as logs:
        with socket.create_connection(("127.0.0.1", crashing.port)) as sock:
            sock.sendall(
                b"POST /webhooks/meta HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
        wait_until(lambda: any(e["event"] == "client_disconnected" for e in logs))

    assert not any(e["event"] == "request_crashed" for e in logs)
