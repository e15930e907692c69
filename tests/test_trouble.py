"""Delivery on a bad day: Retry-After (F13), endpoints that hang (F14), an outage on
a virtual clock, replay of dead deliveries."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import cli
from app.clock import FrozenClock
from app.fake_receivers import FakeControlRoom, FakeMsg91
from app.local_server import ServiceThread
from app.models import Alert, Delivery
from app.store import Store, as_utc
from tests.builders import alert, meta_body, meta_headers
from tests.test_notifiers import attempts_of, post_alert, wait_until


def deliveries(service: ServiceThread, channel: str = "http") -> list[dict]:
    store = Store(service.server.config.app.state.settings.database_url)
    try:
        return store.read_sync(
            lambda conn: [
                dict(row)
                for row in conn.execute(
                    select(Delivery.__table__, Alert.alert_id, Alert.undelivered)
                    .join(Alert, Alert.id == Delivery.alert_pk)
                    .where(Delivery.channel == channel)
                    .order_by(Delivery.id)
                ).mappings()
            ]
        )
    finally:
        store.close()


def first_waiting_retry(service: ServiceThread) -> bool:
    """The first HTTP delivery failed once and waits for its retry (one read, so
    the two facts are about the same moment)."""
    first = deliveries(service)[0]
    return first["attempts"] == 1 and first["state"] == "pending"


# F13: Retry-After.


def test_f13_retry_after_in_seconds_sets_the_next_attempt(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    room.behaviour.default = 429
    room.behaviour.headers = {"retry-after": "120"}
    service = start_service(retry_cap_s=600.0)
    before = datetime.now(UTC)

    post_alert(service, "rf-ra")
    wait_until(lambda: first_waiting_retry(service))

    wait = as_utc(deliveries(service)[0]["next_attempt_at"]) - before
    assert timedelta(seconds=119) < wait < timedelta(seconds=125)


def test_f13_retry_after_as_an_http_date_is_honoured(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    room.behaviour.default = 503
    room.behaviour.headers = {"retry-after": when.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    service = start_service(retry_cap_s=600.0)

    post_alert(service, "rf-ra-date")
    wait_until(lambda: first_waiting_retry(service))

    next_at = as_utc(deliveries(service)[0]["next_attempt_at"])
    assert abs((next_at - when).total_seconds()) < 3


def test_f13_a_very_long_retry_after_is_capped_and_sms_goes_at_once(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom, sms: FakeMsg91
) -> None:
    room.behaviour.default = 503
    room.behaviour.headers = {"retry-after": "86000"}
    service = start_service(retry_cap_s=60.0)
    before = datetime.now(UTC)

    post_alert(service, "rf-ra-long")
    wait_until(lambda: first_waiting_retry(service))

    wait = as_utc(deliveries(service)[0]["next_attempt_at"]) - before
    assert wait <= timedelta(seconds=62)
    assert len(sms.wait_for(1)) == 1


def test_f13_fifty_failures_at_one_instant_do_not_retry_at_one_instant(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    room.behaviour.default = 503
    service = start_service(
        retry_base_s=3600.0,
        retry_cap_s=7200.0,
        sms_gateway_url="",
        worker_concurrency=64,
    )
    body = meta_body(*(alert(f"rf-herd-{i}") for i in range(50)))

    httpx.post(service.url + "/webhooks/meta", content=body, headers=meta_headers(body))
    wait_until(
        lambda: (
            all(
                d["attempts"] == 1 and d["state"] == "pending"
                for d in deliveries(service)
            )
            and len(deliveries(service)) == 50
        )
    )

    retry_times = {d["next_attempt_at"] for d in deliveries(service)}
    assert len(retry_times) >= 45


# F14: a pool that never recovers.


def test_f14_endpoints_that_hang_then_recover_get_every_alert(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    """The room accepts connections and does not answer for a while. Attempts time
    out, connections are let go, and once it answers everything goes through,
    while receiving stays fast throughout."""
    room.behaviour.delay_s = 2.0
    service = start_service(
        attempt_timeout_s=0.5,
        retry_base_s=0.2,
        retry_cap_s=0.5,
        worker_concurrency=4,
        breaker_cooldown_s=0.5,
        sms_gateway_url="",
    )
    timings = []

    for i in range(30):
        body = meta_body(alert(f"rf-hang-{i}"))
        started = time.monotonic()
        response = httpx.post(
            service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
        )
        timings.append(time.monotonic() - started)
        assert response.status_code == 200
    time.sleep(2.0)
    room.behaviour.delay_s = 0.0

    wait_until(
        lambda: all(d["state"] == "delivered" for d in deliveries(service)),
        timeout_s=30,
    )
    assert max(timings) < 0.5
    delivered_keys = {r.headers["webhook-id"] for r in room.accepted()}
    assert delivered_keys >= {d["idempotency_key"] for d in deliveries(service)}


# A room down for ten minutes of a virtual clock.


def test_a_room_down_for_ten_virtual_minutes_gets_everything_once_oldest_first(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom, sms: FakeMsg91
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    room.behaviour.default = 503
    service = start_service(
        clock=clock,
        worker_poll_s=0.02,
        worker_concurrency=1,
        retry_base_s=5.0,
        retry_cap_s=60.0,
        breaker_cooldown_s=0.05,
    )
    for i in range(5):
        post_alert(service, f"rf-outage-{i}")
        clock.advance(seconds=1)
    sms.wait_for(5)

    for _ in range(60):  # ten minutes, ten virtual seconds at a time
        clock.advance(seconds=10)
        time.sleep(0.03)
    room.behaviour.default = 200
    for _ in range(30):
        clock.advance(seconds=5)
        time.sleep(0.03)
        if len(room.accepted()) == 5:
            break

    accepted = room.wait_for(5, timeout_s=10)
    assert [r.json()["alert_id"] for r in accepted] == [
        f"rf-outage-{i}" for i in range(5)
    ]
    assert len({r.headers["webhook-id"] for r in accepted}) == 5
    assert len(sms.accepted()) == 5
    # Through the outage the oldest alone kept trying; the rest queued behind it.
    attempts = [d["attempts"] for d in deliveries(service)]
    assert attempts[0] > 5
    assert all(n <= 2 for n in attempts[1:])


# Dead letters and replay.


def test_a_dead_delivery_flags_its_alert_and_replay_sends_it_with_the_same_key(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom, monkeypatch
) -> None:
    room.behaviour.default = 404
    service = start_service(sms_gateway_url="")
    post_alert(service, "rf-dead")
    wait_until(lambda: deliveries(service)[0]["state"] == "dead")
    [dead] = deliveries(service)
    room.behaviour.default = 200
    monkeypatch.setenv(
        "REDFLAG_DATABASE_URL", service.server.config.app.state.settings.database_url
    )

    result = CliRunner().invoke(cli, ["replay", "--alert", "rf-dead"])
    [delivered] = room.wait_for(1)

    assert dead["undelivered"] is True
    assert result.exit_code == 0 and "replayed 1" in result.stdout
    assert delivered.headers["webhook-id"] == dead["idempotency_key"]
    wait_until(lambda: deliveries(service)[0]["state"] == "delivered")
    assert deliveries(service)[0]["undelivered"] is False


def test_admin_replay_needs_the_admin_key(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    room.behaviour.default = 410
    service = start_service(sms_gateway_url="", admin_key="adm-5c2e9f81d7a4")
    post_alert(service, "rf-dead-2")
    wait_until(lambda: deliveries(service)[0]["state"] == "dead")
    room.behaviour.default = 200
    url = service.url + "/admin/replay"

    refused = httpx.post(
        url, json={"all_dead": True}, headers={"authorization": "Bearer wrong"}
    )
    empty = httpx.post(
        url, json={}, headers={"authorization": "Bearer adm-5c2e9f81d7a4"}
    )
    by_room = httpx.post(
        url,
        json={"room": "ajmer"},
        headers={"authorization": "Bearer adm-5c2e9f81d7a4"},
    )

    assert refused.status_code == 401
    assert empty.status_code == 400
    assert by_room.json() == {"replayed": 1}
    assert len(room.wait_for(1)) == 1


def test_admin_replay_is_absent_without_an_admin_key(service: ServiceThread) -> None:
    response = httpx.post(service.url + "/admin/replay", json={"all_dead": True})

    assert response.status_code == 404


def test_attempts_of_a_dead_delivery_are_all_recorded(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    room.behaviour.default = 500
    service = start_service(
        sms_gateway_url="", retry_base_s=0.01, retry_cap_s=0.02, max_attempts=3
    )

    post_alert(service, "rf-dead-3")
    wait_until(lambda: deliveries(service)[0]["state"] == "dead")

    assert [a["outcome"] for a in attempts_of(service)] == ["retry", "retry", "dead"]
