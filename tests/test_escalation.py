"""Escalation on a virtual clock: the service keeps paging, and paging higher, until
a person acknowledges; an empty roster slot escalates at once; an acknowledgement
stops everything after it, even when it races a step."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.alert_actions import acknowledge
from app.api_keys import ADMIN
from app.clock import FrozenClock
from app.escalation import escalate_due
from app.fake_receivers import FakeControlRoom, FakeMsg91
from app.local_server import ServiceThread
from app.models import Alert, Delivery
from app.room_config import RoomsConfig, RosterOverride
from app.roster import Roster
from app.store import Store
from tests.builders import alert, meta_body, meta_headers
from tests.conftest import example_rooms
from tests.test_control_room_api import Api
from tests.test_notifiers import wait_until

ADMIN_KEY = "escalation-test-admin-key-7f3a"
# 22:30 IST on 3 December: the night shift that began at 22:00.
NIGHT = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def with_empty_slot(
    rooms: RoomsConfig, room_id: str, *, date: dt.date, shift: str
) -> RoomsConfig:
    """The rooms file with nobody on one shift of one room."""
    room = rooms.room(room_id)
    assert room.roster is not None
    empty = RosterOverride(date=date, shift=shift, people=[], reason="test")
    roster = room.roster.model_copy(
        update={"overrides": [*room.roster.overrides, empty]}
    )
    changed = room.model_copy(update={"roster": roster})
    return rooms.model_copy(
        update={"rooms": [changed if r.id == room_id else r for r in rooms.rooms]}
    )


class Desk:
    """The service on a frozen clock, with an admin's view of its alerts."""

    def __init__(self, service: ServiceThread, clock: FrozenClock, rooms: RoomsConfig):
        self.service = service
        self.clock = clock
        self.rooms = rooms
        self.roster = Roster.from_config(rooms)
        self.http = httpx.Client(
            base_url=service.url, headers={"x-api-key": ADMIN_KEY}, timeout=10
        )

    @property
    def app(self) -> Any:
        return self.service.server.config.app

    def post(self, alert_id: str, **fields: Any) -> str:
        body = meta_body(alert(alert_id, **fields))
        response = self.http.post(
            "/webhooks/meta", content=body, headers=meta_headers(body)
        )
        assert response.status_code == 200
        self.service.settled()
        [found] = [
            a
            for a in self.http.get("/v1/alerts").json()["alerts"]
            if a["alert_id"] == alert_id
        ]
        return found["reference"]

    def advance_to(self, minutes: float) -> None:
        """Stand ``minutes`` after NIGHT and let the escalator look."""
        self.clock.at = NIGHT + timedelta(minutes=minutes)
        self.app.state.escalator.wake()

    def alert(self, ref: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/alerts/{ref}")
        assert response.status_code == 200
        return response.json()

    def steps(self, ref: str) -> list[dict[str, Any]]:
        return [
            item
            for item in self.alert(ref)["timeline"]
            if item["kind"] == "escalation_step"
        ]

    def deliveries(self) -> list[dict[str, Any]]:
        store = Store(self.app.state.settings.database_url)
        try:
            return store.read_sync(
                lambda conn: [
                    dict(row)
                    for row in conn.execute(
                        select(Delivery.__table__).order_by(Delivery.id)
                    ).mappings()
                ]
            )
        finally:
            store.close()


@pytest.fixture
def desk(start_service: Callable[..., ServiceThread], room: FakeControlRoom) -> Desk:
    rooms = with_empty_slot(
        example_rooms(room.url, escalation=None),
        "ajmer",
        date=dt.date(2026, 12, 3),
        shift="night",
    )
    clock = FrozenClock(NIGHT)
    service = start_service(
        clock=clock,
        rooms=rooms,
        admin_key=ADMIN_KEY,
        escalation_poll_s=0.05,
        worker_poll_s=0.05,
    )
    return Desk(service, clock, rooms)


def sms_numbers(sms: FakeMsg91) -> list[str]:
    return ["+" + r["mobiles"] for m in sms.accepted() for r in m.json()["recipients"]]


def test_with_nobody_on_the_night_shift_escalation_walks_every_step_on_time(
    desk: Desk, room: FakeControlRoom, sms: FakeMsg91
) -> None:
    ajmer = desk.rooms.room("ajmer")
    fallback = desk.rooms.room("abhay-jaipur")
    duty = desk.roster.duty_officer("ajmer")
    supervisor = desk.roster.supervisor("ajmer")
    assert duty is not None and supervisor is not None
    ref = desk.post("rf-esc-empty-night")

    # At once: the room by HTTP and SMS; nobody on shift, so step 1 follows at once:
    # the room's alternate number and the district duty officer.
    wait_until(lambda: len(desk.steps(ref)) == 2)
    first, second = desk.steps(ref)
    assert first["detail"]["gaps"] == ["on_shift ajmer: nobody on the night shift"]
    assert (first["at"], second["at"]) == (NIGHT.isoformat(), NIGHT.isoformat())
    wait_until(
        lambda: (
            set(sms_numbers(sms))
            == {*ajmer.sms.numbers, *desk.roster.alternate_sms("ajmer"), duty.phone}
        )
    )
    assert [r.path for r in room.accepted()] == ["/rooms/ajmer"]

    # Nothing before its minute: at 5:59 still step 1.
    desk.advance_to(5 + 59 / 60)
    threading.Event().wait(0.3)
    assert desk.alert(ref)["escalation_level"] == 1

    # 6 minutes: the state fallback room, by HTTP and SMS.
    desk.advance_to(6)
    wait_until(lambda: desk.alert(ref)["escalation_level"] == 2)
    room.wait_for(2)
    assert [r.path for r in room.accepted()] == ["/rooms/ajmer", "/rooms/abhay-jaipur"]
    wait_until(lambda: fallback.sms.numbers[0] in sms_numbers(sms))
    assert desk.alert(ref)["rooms"] == ["ajmer"]

    # 10 minutes: the supervisor.
    desk.advance_to(10)
    wait_until(lambda: desk.alert(ref)["escalation_level"] == 3)
    wait_until(lambda: supervisor.phone in sms_numbers(sms))

    # Then every 5 minutes again, the room and its people, until someone answers.
    desk.advance_to(15)
    wait_until(lambda: desk.alert(ref)["escalation_level"] == 4)
    desk.advance_to(19)
    threading.Event().wait(0.3)
    assert desk.alert(ref)["escalation_level"] == 4
    desk.advance_to(20)
    wait_until(lambda: desk.alert(ref)["escalation_level"] == 5)

    times = [step["at"] for step in desk.steps(ref)]
    assert times == [
        (NIGHT + timedelta(minutes=m)).isoformat() for m in (0, 0, 6, 10, 15, 20)
    ]
    assert desk.alert(ref)["state"] == "notifying"
    wait_until(lambda: all(d["state"] == "delivered" for d in desk.deliveries()))


def test_the_fallback_room_sees_an_alert_from_the_step_that_pages_it(
    desk: Desk,
) -> None:
    ref = desk.post("rf-esc-fallback-sees")
    rooms = Api(desk.service)
    with rooms.as_room("abhay-jaipur") as fallback:
        before = fallback.get(f"/v1/alerts/{ref}").status_code

        desk.advance_to(6)
        wait_until(lambda: desk.alert(ref)["escalation_level"] == 2)
        after = fallback.get(f"/v1/alerts/{ref}")
        acknowledged = fallback.post(f"/v1/alerts/{ref}/acknowledge")

    assert before == 404
    assert after.status_code == 200
    assert acknowledged.json()["alert"]["state"] == "acknowledged"
    with rooms.as_room("tonk") as tonk:
        assert tonk.get(f"/v1/alerts/{ref}").status_code == 404


def test_an_acknowledgement_after_step_two_stops_every_page_after_it(
    desk: Desk, room: FakeControlRoom, sms: FakeMsg91
) -> None:
    ref = desk.post("rf-esc-ack")
    desk.advance_to(6)
    wait_until(lambda: desk.alert(ref)["escalation_level"] == 2)
    wait_until(lambda: all(d["state"] == "delivered" for d in desk.deliveries()))
    sent_before = len(desk.deliveries())

    response = desk.http.post(f"/v1/alerts/{ref}/acknowledge")
    assert response.status_code == 200
    assert response.json()["alert"]["state"] == "acknowledged"

    for minute in (10, 15, 20, 25, 60):
        desk.advance_to(minute)
        threading.Event().wait(0.15)
    assert desk.alert(ref)["escalation_level"] == 2
    assert len(desk.deliveries()) == sent_before
    kinds = [item["kind"] for item in desk.alert(ref)["timeline"]]
    assert kinds.count("escalation_step") == 3
    assert kinds[-1] in ("acknowledged", "delivery_attempt")
    assert "acknowledged" in kinds


def test_unacknowledging_resumes_escalation_at_once(desk: Desk) -> None:
    ref = desk.post("rf-esc-unack")
    wait_until(lambda: desk.alert(ref)["escalation_level"] == 1)
    assert desk.http.post(f"/v1/alerts/{ref}/acknowledge").status_code == 200
    desk.advance_to(30)
    threading.Event().wait(0.2)
    assert desk.alert(ref)["escalation_level"] == 1

    response = desk.http.post(f"/v1/alerts/{ref}/unacknowledge")

    assert response.json()["alert"]["state"] == "notifying"
    # Half an hour on, the steps that were due follow one another at once.
    wait_until(lambda: desk.alert(ref)["escalation_level"] >= 2)
    after = [
        step
        for step in desk.steps(ref)
        if step["at"] == (NIGHT + timedelta(minutes=30)).isoformat()
    ]
    assert after and after[0]["detail"]["level"] == 2


def test_a_test_alert_reaches_only_the_test_room_and_says_test(
    desk: Desk, room: FakeControlRoom, sms: FakeMsg91
) -> None:
    ref = desk.post("rf-esc-drill", status="test")

    [received] = room.wait_for(1)
    for minute in (3, 6, 10, 15):
        desk.advance_to(minute)
        threading.Event().wait(0.15)

    assert received.path == "/rooms/test-desk"
    assert received.json()["headline"].startswith("TEST RED FLAG")
    assert [r.path for r in room.accepted()] == ["/rooms/test-desk"]
    assert sms.accepted() == []
    assert desk.alert(ref)["rooms"] == ["test-desk"]
    assert len(desk.steps(ref)) == 1


def test_a_shift_handover_announces_acknowledged_unresolved_alerts(
    desk: Desk, sms: FakeMsg91
) -> None:
    # Kota City at 13:00 IST; acknowledged, not resolved, when 14:00 comes.
    desk.clock.at = datetime(2026, 12, 4, 7, 30, tzinfo=UTC)
    ref = desk.post("rf-esc-handover", location={"pincode": "324005"})
    assert desk.alert(ref)["rooms"] == ["kota-city"]
    assert desk.http.post(f"/v1/alerts/{ref}/acknowledge").status_code == 200
    handover_at = datetime(2026, 12, 4, 8, 30, tzinfo=UTC)
    incoming = desk.roster.on_shift("kota-city", handover_at)
    assert incoming.shift == "evening" and incoming.people

    desk.clock.at = handover_at
    desk.app.state.escalator.wake()

    wait_until(
        lambda: any(item["kind"] == "handover" for item in desk.alert(ref)["timeline"])
    )
    [handover] = [i for i in desk.alert(ref)["timeline"] if i["kind"] == "handover"]
    assert handover["detail"] == {
        "room": "kota-city",
        "shift": "evening",
        "officers": len(incoming.people),
    }
    wait_until(lambda: {p.phone for p in incoming.people} <= set(sms_numbers(sms)))


@pytest.mark.parametrize("round_", range(8))
def test_an_acknowledgement_racing_a_step_ends_in_exactly_one_outcome(
    desk: Desk, round_: int
) -> None:
    """Two writers on their own connections: one acknowledges, one takes the due
    step. Whichever wins, the acknowledgement is kept, and a step is either taken
    whole (its pages planned and recorded) or not at all."""
    ref = desk.post(f"rf-esc-race-{round_}")
    wait_until(lambda: desk.alert(ref)["escalation_level"] == 1)
    due = NIGHT + timedelta(minutes=6)
    url = desk.app.state.settings.database_url
    stores = [Store(url), Store(url)]
    barrier = threading.Barrier(2)

    def ack() -> None:
        barrier.wait()
        stores[0].write_sync(partial(acknowledge, principal=ADMIN, ref=ref, now=due))

    def step() -> None:
        barrier.wait()
        stores[1].write_sync(
            partial(escalate_due, now=due, paging=desk.app.state.paging)
        )

    threads = [threading.Thread(target=ack), threading.Thread(target=step)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()

    final = desk.alert(ref)
    assert final["state"] == "acknowledged"
    level = final["escalation_level"]
    assert level in (1, 2)
    steps = desk.steps(ref)
    assert len(steps) == level + 1
    step_two_pages = [
        d
        for d in desk.deliveries()
        if d["alert_pk"] == _pk(desk, ref) and d["step"] == 2
    ]
    assert bool(step_two_pages) == (level == 2)


def _pk(desk: Desk, ref: str) -> int:
    store = Store(desk.app.state.settings.database_url)
    try:
        return store.read_sync(
            lambda conn: conn.execute(
                select(Alert.id).where(Alert.ref == ref)
            ).scalar_one()
        )
    finally:
        store.close()
