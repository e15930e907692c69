"""``kill -9`` of ``redflag-relay serve`` right after a 200: the alert is delivered
once the service is back, because everything it needs is in committed rows."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from app.fake_receivers import FakeControlRoom, FakeMsg91
from tests.builders import alert, meta_body, meta_headers
from tests.processes import RelayProcess, relay_env


@pytest.fixture
def serve(db_url: str, room: FakeControlRoom, sms: FakeMsg91) -> Iterator[RelayProcess]:
    # A lease outlives an attempt; on PostgreSQL a dead process's lease runs out
    # before its rows are sent again (on SQLite, start-up releases them).
    env = relay_env(
        db_url=db_url,
        room_url=room.url,
        sms_url=sms.flow_url,
        attempt_timeout_s="5",
        lease_s="6",
    )
    process = RelayProcess("serve", env)
    yield process
    process.stop()


def test_alert_is_delivered_after_kill_9_in_the_middle_of_a_send(
    serve: RelayProcess, room: FakeControlRoom
) -> None:
    """The room stalls, so the send is in flight (leased) when the process dies."""
    room.behaviour.delay_s = 3.0
    serve.start()
    body = meta_body(alert("rf-kill"))

    response = httpx.post(
        serve.url + "/webhooks/meta",
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
    serve: RelayProcess, room: FakeControlRoom
) -> None:
    room.behaviour.default = 503
    serve.start()
    body = meta_body(alert("rf-kill-2"))

    response = httpx.post(
        serve.url + "/webhooks/meta",
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


def test_an_event_answered_but_not_yet_expanded_is_expanded_after_kill_9(
    serve: RelayProcess, room: FakeControlRoom
) -> None:
    """The 200 comes once the event is committed; its alerts are written after.
    This process writes none (it leaves them to a worker that is not running), so
    the event is certainly waiting when it dies; the next ``serve`` finds it."""
    serve.env |= {"REDFLAG_EXPAND_AFTER_ANSWER": "false"}
    serve.start()
    body = meta_body(alert("rf-kill-3"), alert("rf-kill-4"))

    response = httpx.post(
        serve.url + "/webhooks/meta", content=body, headers=meta_headers(body)
    )
    time.sleep(0.3)
    nothing_sent = list(room.received)
    serve.kill()
    serve.env.pop("REDFLAG_EXPAND_AFTER_ANSWER")
    serve.start()
    received = room.wait_for(2, timeout_s=20)

    assert response.status_code == 200
    assert response.json()["alerts"] == 2
    assert nothing_sent == []
    assert sorted(r.json()["alert_id"] for r in received) == ["rf-kill-3", "rf-kill-4"]
