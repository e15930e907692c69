"""The notifiers against real servers on loopback, and the worker's retries."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from app.clock import SystemClock
from app.demo import DEMO_ROOM_SECRET
from app.errors import DeliveryError
from app.fake_receivers import FakeControlRoom
from app.local_server import ServiceThread
from app.models import Delivery, DeliveryAttempt
from app.notifiers.base import Outbound, SendResult
from app.notifiers.http import HttpNotifier
from app.outbound import OutboundClient
from app.store import Store
from tests.builders import alert, meta_body, meta_headers
from tests.conftest import example_rooms


def outbound(
    room_url: str, *, room_id: str = "kota-city", status: str = "actual"
) -> Outbound:
    return Outbound(
        delivery_id=1,
        idempotency_key="msg_0123456789abcdef",
        room=example_rooms(room_url).room(room_id),
        channel="http",
        attempt=1,
        alert={
            "ref": "RF-ABCDEFG",
            "alert_id": "rf-0001",
            "received_at": datetime(2025, 10, 9, 8, 50, tzinfo=UTC),
            "flagged_at": "2025-10-09T14:20:05+05:30",
            "payload": alert("rf-0001", location={"city": "Kota", "pincode": "324005"}),
            "placement": {"confidence": 0.95, "flags": []},
            "district": "Kota",
            "police_district": "Kota City",
            "risk_category": "suicide",
            "risk_level": "high",
            "status": status,
            "route_kind": "kota",
            "route_reason": "kota_police:Kota City",
            "route_flags": [],
        },
    )


async def send_http(
    room: FakeControlRoom, *, timeout_s: float = 5.0, url: str | None = None
) -> SendResult:
    client = OutboundClient()
    try:
        notifier = HttpNotifier(
            client=client,
            clock=SystemClock(),
            timeout_s=timeout_s,
            public_base_url="https://relay.example.in",
        )
        return await notifier.send(outbound(url or room.url))
    finally:
        await client.close()


# The HTTP notifier.


def test_http_alert_verifies_with_the_standardwebhooks_package(
    room: FakeControlRoom,
) -> None:
    result = asyncio.run(send_http(room))

    [received] = room.accepted()
    payload = Webhook(DEMO_ROOM_SECRET).verify(received.body, received.headers)
    assert result.status_code == 200
    assert received.path == "/rooms/kota-city"
    assert received.headers["webhook-id"] == "msg_0123456789abcdef"
    assert received.headers["idempotency-key"] == "msg_0123456789abcdef"
    assert payload["reference"] == "RF-ABCDEFG"
    assert payload["placement"]["district"] == "Kota"
    assert payload["subject"]["display_name"] == "Sample Student"


def test_http_alert_signed_with_another_secret_fails_verification(
    room: FakeControlRoom,
) -> None:
    asyncio.run(send_http(room))
    [received] = room.received

    other = Webhook("whsec_b3RoZXItc2VjcmV0LW5vdC10aGUtcm9vbXMtb25l")
    with pytest.raises(Exception, match="signature"):
        other.verify(received.body, received.headers)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (500, True),
        (502, True),
        (503, True),
        (429, True),
        (408, True),
        (400, False),
        (401, False),
        (404, False),
        (410, False),
    ],
)
def test_http_failures_are_classified(
    room: FakeControlRoom, status: int, retryable: bool
) -> None:
    room.behaviour.default = status

    with pytest.raises(DeliveryError) as caught:
        asyncio.run(send_http(room))

    assert (caught.value.reason, caught.value.retryable) == (
        f"http_{status}",
        retryable,
    )


def test_http_retry_after_in_seconds_is_passed_on(room: FakeControlRoom) -> None:
    room.behaviour.default = 429
    room.behaviour.headers = {"retry-after": "7"}

    with pytest.raises(DeliveryError) as caught:
        asyncio.run(send_http(room))

    assert caught.value.retry_after_s == 7.0


def test_http_timeout_is_retryable(room: FakeControlRoom) -> None:
    room.behaviour.delay_s = 1.0

    with pytest.raises(DeliveryError) as caught:
        asyncio.run(send_http(room, timeout_s=0.2))

    assert (caught.value.reason, caught.value.retryable) == ("timeout", True)


def test_http_connection_refused_is_retryable(room: FakeControlRoom) -> None:
    with pytest.raises(DeliveryError) as caught:
        asyncio.run(send_http(room, url="http://127.0.0.1:9"))

    assert (caught.value.reason, caught.value.retryable) == ("connection_error", True)


# The worker: retries with backoff, every attempt recorded.


def attempts_of(service: ServiceThread) -> list[dict]:
    store = Store(service.server.config.app.state.settings.database_url)
    try:
        return store.read_sync(
            lambda conn: [
                dict(row)
                for row in conn.execute(
                    select(
                        Delivery.channel,
                        Delivery.state,
                        Delivery.idempotency_key,
                        DeliveryAttempt.number,
                        DeliveryAttempt.outcome,
                        DeliveryAttempt.error,
                        DeliveryAttempt.status_code,
                    )
                    .join(DeliveryAttempt, DeliveryAttempt.delivery_id == Delivery.id)
                    .order_by(Delivery.channel, DeliveryAttempt.number)
                ).mappings()
            ]
        )
    finally:
        store.close()


def post_alert(service: ServiceThread, alert_id: str) -> None:
    body = meta_body(alert(alert_id))
    response = httpx.post(
        service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
    )
    assert response.status_code == 200
    service.settled()


def wait_until(predicate: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_worker_retries_5xx_and_429_then_delivers_with_one_idempotency_key(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    room.behaviour.statuses = [503, 429]
    service = start_service(retry_base_s=0.05, retry_cap_s=0.2)

    post_alert(service, "rf-retry")
    room.wait_for(1)
    wait_until(
        lambda: len([a for a in attempts_of(service) if a["channel"] == "http"]) == 3
    )

    http = [a for a in attempts_of(service) if a["channel"] == "http"]
    assert [(a["number"], a["outcome"], a["error"]) for a in http] == [
        (1, "retry", "http_503"),
        (2, "retry", "http_429"),
        (3, "delivered", None),
    ]
    assert {a["state"] for a in http} == {"delivered"}
    keys = {r.headers["webhook-id"] for r in room.received}
    assert len(keys) == 1 and len(room.received) == 3


def test_worker_gives_up_at_once_on_a_permanent_failure(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    room.behaviour.default = 404
    service = start_service()

    post_alert(service, "rf-404")
    wait_until(lambda: any(a["channel"] == "http" for a in attempts_of(service)))
    time.sleep(0.3)

    http = [a for a in attempts_of(service) if a["channel"] == "http"]
    assert [(a["outcome"], a["error"], a["state"]) for a in http] == [
        ("dead", "http_404", "dead")
    ]


def test_worker_stops_retrying_after_max_attempts(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    room.behaviour.default = 500
    service = start_service(retry_base_s=0.01, retry_cap_s=0.02, max_attempts=4)

    post_alert(service, "rf-500")
    wait_until(lambda: any(a["outcome"] == "dead" for a in attempts_of(service)))

    http = [a for a in attempts_of(service) if a["channel"] == "http"]
    assert [a["outcome"] for a in http] == ["retry", "retry", "retry", "dead"]


def test_backoff_is_jittered_and_capped() -> None:
    from app.outbox import RetryPolicy

    policy = RetryPolicy(base_s=1.0, cap_s=30.0)

    delays = [policy.delay_s(10) for _ in range(200)]

    assert max(delays) <= 30.0
    assert len({round(d, 3) for d in delays}) > 150
    assert policy.delay_s(3, retry_after_s=20) >= 20
    assert policy.delay_s(3, retry_after_s=10_000) <= 30.0


def test_delivered_alert_document_is_json_with_the_reference(
    service: ServiceThread, room: FakeControlRoom
) -> None:
    post_alert(service, "rf-doc")

    [received] = room.wait_for(1)

    document = json.loads(received.body)
    assert document["alert_id"] == "rf-doc"
    assert document["reference"].startswith("RF-")
    assert document["route"]["kind"] == "district"
