"""From a stored event to its alerts. The partner is answered once the event is
committed; its alerts are written right after, and an event left waiting (its
process died first) is expanded by the next pass, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.pool import NullPool
from structlog.testing import capture_logs

from app.clock import Clock, FrozenClock, SystemClock
from app.expansion import _CLAIM_EVENT, Expander, count_waiting
from app.fake_receivers import FakeControlRoom
from app.gazetteer import Gazetteer, Placement, load_gazetteer
from app.local_server import ServiceThread
from app.main import create_app
from app.models import Alert, AlertRevision, Delivery, Event
from app.settings import Settings
from app.store import Store
from tests.builders import alert, meta_body, meta_headers
from tests.conftest import example_rooms
from tests.databases import ON_POSTGRES


class HeldGazetteer:
    """The real gazetteer, whose placements wait until the test lets them go."""

    def __init__(self, real: Gazetteer):
        self.real = real
        self.release = threading.Event()

    def place(self, location: Mapping[str, Any] | None) -> Placement:
        self.release.wait(timeout=10)
        return self.real.place(location)


def count(service: ServiceThread, model: type) -> int:
    store = service.server.config.app.state.store
    return store.read_sync(
        lambda conn: conn.execute(
            select(func.count()).select_from(model.__table__)
        ).scalar_one()
    )


def post(service: ServiceThread, *alert_ids: str) -> httpx.Response:
    body = meta_body(*(alert(alert_id) for alert_id in alert_ids))
    return httpx.post(
        service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
    )


def expander_for(service: ServiceThread, clock: Clock | None = None) -> Expander:
    """Another expander over the service's own store, as a second process has."""
    state = service.server.config.app.state
    return Expander(
        store=state.store,
        gazetteer=load_gazetteer(),
        rooms=state.rooms,
        paging=state.paging,
        clock=clock or SystemClock(),
        max_body_bytes=state.settings.max_body_bytes,
    )


def store_unreadable_event(store: Store) -> None:
    """An event row whose body no intake would have accepted: a pass must step over
    it, as over any event that fails."""
    store.write_sync(
        lambda conn: conn.execute(
            insert(Event.__table__).values(
                received_at=SystemClock().now(),
                endpoint="meta",
                body=b"\xff not json",
                alert_count=1,
                new_alert_count=0,
            )
        )
    )


def test_the_partner_is_answered_before_the_alerts_are_written(
    room: FakeControlRoom, make_settings: Callable[..., Settings]
) -> None:
    gazetteer = HeldGazetteer(load_gazetteer())
    app = create_app(
        make_settings(), rooms=example_rooms(room.url), gazetteer=gazetteer
    )
    service = ServiceThread(app).start()
    try:
        response = post(service, "rf-early")
        stored_before_release = (count(service, Event), count(service, Alert))
        gazetteer.release.set()
        service.settled()
        received = room.wait_for(1, timeout_s=10)
    finally:
        gazetteer.release.set()
        service.stop()

    assert response.status_code == 200
    assert response.json() == {"status": "stored", "event_id": 1, "alerts": 1}
    assert stored_before_release == (1, 0)
    assert [r.json()["alert_id"] for r in received] == ["rf-early"]


def test_an_event_is_expanded_once_when_two_processes_race_for_it(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(expand_after_answer=False, worker_enabled=False)
    assert post(service, "rf-race-1", "rf-race-2").status_code == 200
    waiting_before = service.server.config.app.state.store.read_sync(count_waiting)
    one, two = expander_for(service), expander_for(service)

    async def race() -> list[int]:
        return await asyncio.gather(one.expand_waiting(), two.expand_waiting())

    created = asyncio.run(race())

    assert waiting_before == 1
    assert sorted(created) == [0, 2]
    assert count(service, Alert) == 2
    # Expanded twice, the second would have recorded each alert again as a copy.
    assert count(service, AlertRevision) == 0
    # The routed room's HTTP and SMS for each alert, once.
    assert count(service, Delivery) == 4
    assert service.server.config.app.state.store.read_sync(count_waiting) == 0


def test_a_pass_leaves_the_newest_events_to_the_requests_that_stored_them(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(expand_after_answer=False, worker_enabled=False)
    post(service, "rf-new")
    expander = expander_for(service)

    too_new = asyncio.run(expander.expand_waiting(older_than_s=60))
    waiting = service.server.config.app.state.store.read_sync(count_waiting)
    old_enough = asyncio.run(expander.expand_waiting(older_than_s=0))

    assert (too_new, waiting, old_enough) == (0, 1, 1)


def test_an_unreadable_stored_event_is_logged_and_does_not_hold_up_the_others(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(expand_after_answer=False, worker_enabled=False)
    store = service.server.config.app.state.store
    store_unreadable_event(store)
    post(service, "rf-after-bad")
    expander = expander_for(service)

    with capture_logs() as logs:
        created = asyncio.run(expander.expand_waiting())

    assert created == 1
    assert store.read_sync(count_waiting) == 1
    assert [e["event"] for e in logs if e["log_level"] == "error"] == [
        "event_unreadable"
    ]


def test_a_serve_that_leaves_expansion_to_workers_writes_no_alerts(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(expand_after_answer=False)

    response = post(service, "rf-for-a-worker")
    time.sleep(0.3)

    assert response.status_code == 200
    assert (count(service, Event), count(service, Alert)) == (1, 0)


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks are PostgreSQL's")
def test_a_claim_skips_an_event_another_process_is_expanding_instead_of_waiting(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(expand_after_answer=False, worker_enabled=False)
    post(service, "rf-locked")
    engine = create_engine(
        service.server.config.app.state.settings.database_url, poolclass=NullPool
    )
    claim = {"event_pk": 1, "now": SystemClock().now()}

    with engine.connect() as first, engine.connect() as second:
        first.begin()
        held = first.execute(_CLAIM_EVENT, claim).scalar_one_or_none()
        second.begin()
        # Waiting for the first claim's lock would fail here after a second.
        second.execute(text("SET LOCAL lock_timeout = '1s'"))
        skipped = second.execute(_CLAIM_EVENT, claim).scalar_one_or_none()
        second.rollback()
        first.rollback()
    engine.dispose()

    assert (held, skipped) == (1, None)


def test_an_event_left_waiting_for_a_minute_is_reported_as_stalled(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(expand_after_answer=False, worker_enabled=False)
    store = service.server.config.app.state.store
    store_unreadable_event(store)
    later = FrozenClock(SystemClock().now() + timedelta(minutes=2))
    expander = expander_for(service, clock=later)

    async def one_pass() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(expander.run(), timeout=1.0)

    with capture_logs() as logs:
        asyncio.run(one_pass())

    stalled = [e for e in logs if e["event"] == "events_stalled"]
    assert stalled and stalled[0]["events"] == 1
