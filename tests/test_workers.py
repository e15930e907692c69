"""Several worker processes on one PostgreSQL database (F16), wake-ups by NOTIFY,
and a worker killed in the middle of a send."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from app.fake_receivers import FakeControlRoom, FakeMsg91
from app.local_server import ServiceThread
from tests.builders import alert, meta_body, meta_headers
from tests.databases import ON_POSTGRES
from tests.processes import RelayProcess, relay_env
from tests.test_trouble import deliveries

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="several processes need PostgreSQL"
)


@pytest.fixture
def workers(
    db_url: str, room: FakeControlRoom, sms: FakeMsg91
) -> Iterator[Callable[..., RelayProcess]]:
    started: list[RelayProcess] = []

    def start(**settings: str) -> RelayProcess:
        env = relay_env(db_url=db_url, room_url=room.url, sms_url="", **settings)
        process = RelayProcess("worker", env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def queue_alerts(service: ServiceThread, count: int, prefix: str) -> None:
    body = meta_body(*(alert(f"{prefix}-{i}") for i in range(count)))
    response = httpx.post(
        service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
    )
    assert response.json()["alerts"] == count
    service.settled()


def test_f16_two_workers_send_a_hundred_deliveries_once_each(
    start_service: Callable[..., ServiceThread],
    workers: Callable[..., RelayProcess],
    room: FakeControlRoom,
) -> None:
    service = start_service(worker_enabled=False, sms_gateway_url="")
    queue_alerts(service, 100, "rf-f16")

    workers(worker_batch="8")
    workers(worker_batch="8")
    received = room.wait_for(100, timeout_s=30)
    time.sleep(1.0)

    keys = [r.headers["webhook-id"] for r in room.received]
    assert len(received) == 100
    assert len(keys) == len(set(keys)) == 100
    assert set(keys) == {d["idempotency_key"] for d in deliveries(service)}
    assert all(d["state"] == "delivered" for d in deliveries(service))


def test_f16_a_killed_workers_claims_are_sent_by_another_with_the_same_keys(
    start_service: Callable[..., ServiceThread],
    workers: Callable[..., RelayProcess],
    room: FakeControlRoom,
) -> None:
    room.behaviour.delay_s = 3.0
    service = start_service(worker_enabled=False, sms_gateway_url="")
    queue_alerts(service, 10, "rf-kill")
    first = workers(lease_s="4", attempt_timeout_s="2")
    deadline = time.monotonic() + 10
    while not all(d["state"] == "sending" for d in deliveries(service)):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    first.kill()
    room.behaviour.delay_s = 0.0
    workers(lease_s="4", attempt_timeout_s="2")
    deadline = time.monotonic() + 20
    while not all(d["state"] == "delivered" for d in deliveries(service)):
        assert time.monotonic() < deadline, "the other worker did not take over"
        time.sleep(0.1)

    expected = {d["idempotency_key"] for d in deliveries(service)}
    assert {r.headers["webhook-id"] for r in room.accepted()} == expected
    assert all(d["attempts"] == 2 for d in deliveries(service))


def test_a_new_delivery_wakes_a_worker_in_another_process_at_once(
    start_service: Callable[..., ServiceThread],
    workers: Callable[..., RelayProcess],
    room: FakeControlRoom,
) -> None:
    """The worker polls every 60 s, so only NOTIFY can explain a quick delivery."""
    service = start_service(worker_enabled=False, sms_gateway_url="")
    workers(worker_poll_s="60")
    time.sleep(2.0)  # the worker's first look at the queue has happened

    started = time.monotonic()
    queue_alerts(service, 1, "rf-notify")
    room.wait_for(1, timeout_s=10)

    assert time.monotonic() - started < 3.0


def test_a_serve_that_only_receives_leaves_each_event_to_a_worker_woken_at_once(
    start_service: Callable[..., ServiceThread],
    workers: Callable[..., RelayProcess],
    room: FakeControlRoom,
) -> None:
    """``serve`` writes no alerts; the worker polls every 60 s, so only NOTIFY
    redflag_events can explain a quick delivery."""
    service = start_service(
        expand_after_answer=False,
        worker_enabled=False,
        escalation_enabled=False,
        sms_gateway_url="",
    )
    workers(worker_poll_s="60")
    time.sleep(2.0)  # the worker's first pass over waiting events has happened

    started = time.monotonic()
    body = meta_body(alert("rf-split-1"), alert("rf-split-2"))
    response = httpx.post(
        service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
    )
    received = room.wait_for(2, timeout_s=10)

    assert response.json() == {"status": "stored", "event_id": 1, "alerts": 2}
    assert time.monotonic() - started < 3.0
    assert sorted(r.json()["alert_id"] for r in received) == [
        "rf-split-1",
        "rf-split-2",
    ]
