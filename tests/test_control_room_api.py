"""The control-room API: a room works its own alerts and sees nobody else's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from app.api_keys import create_key, revoke_key
from app.clock import SystemClock
from app.fake_receivers import FakeControlRoom
from app.local_server import ServiceThread
from app.store import Store
from tests.builders import alert, meta_body, meta_headers
from tests.conftest import example_rooms

ADMIN_KEY = "api-test-admin-key-51c9e2"
OUTCOMES = (
    "reached_safe",
    "hospitalised",
    "not_found",
    "wrong_location",
    "out_of_jurisdiction",
    "false_positive",
    "duplicate",
    "other",
)


class Api:
    def __init__(self, service: ServiceThread):
        self.service = service
        self.url = service.url
        self.keys: dict[str, str] = {}

    def key_for(self, room_id: str) -> str:
        if room_id not in self.keys:
            store = Store(self.service.server.config.app.state.settings.database_url)
            try:
                _, self.keys[room_id] = store.write_sync(
                    lambda conn: create_key(
                        conn,
                        room_id=room_id,
                        is_admin=False,
                        label="test",
                        now=SystemClock().now(),
                    )
                )
            finally:
                store.close()
        return self.keys[room_id]

    def as_room(self, room_id: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"authorization": f"Bearer {self.key_for(room_id)}"},
            timeout=10,
        )

    def as_admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"x-api-key": ADMIN_KEY}, timeout=10
        )

    def post_alert(self, alert_id: str, **location: Any) -> str:
        body = meta_body(alert(alert_id, location=location))
        response = httpx.post(
            self.url + "/webhooks/meta", content=body, headers=meta_headers(body)
        )
        assert response.status_code == 200
        self.service.settled()
        with self.as_admin() as admin:
            [found] = [
                a
                for a in admin.get("/v1/alerts").json()["alerts"]
                if a["alert_id"] == alert_id
            ]
        return found["reference"]


@pytest.fixture
def api(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> Iterator[Api]:
    service = start_service(
        rooms=example_rooms(room.url, escalation=None), admin_key=ADMIN_KEY
    )
    yield Api(service)


def test_a_room_lists_its_alerts_and_reads_one_with_its_timeline(api: Api) -> None:
    ref = api.post_alert("rf-api-kota", pincode="324005")

    with api.as_room("kota-city") as kota:
        listed = kota.get("/v1/alerts").json()
        detail = kota.get(f"/v1/alerts/{ref}").json()

    assert [a["reference"] for a in listed["alerts"]] == [ref]
    assert listed["alerts"][0]["state"] == "notifying"
    assert "subject" not in listed["alerts"][0]
    assert detail["subject"]["display_name"] == "Sample Student"
    assert detail["police_district"] == "Kota City"
    kinds = [item["kind"] for item in detail["timeline"]]
    assert kinds[:4] == ["received", "placed", "routed", "escalation_step"]


def test_acknowledge_twice_is_fine_resolve_twice_is_a_conflict(api: Api) -> None:
    ref = api.post_alert("rf-api-states", district="Ajmer")

    with api.as_room("ajmer") as ajmer:
        first = ajmer.post(f"/v1/alerts/{ref}/acknowledge")
        again = ajmer.post(f"/v1/alerts/{ref}/acknowledge")
        resolved = ajmer.post(
            f"/v1/alerts/{ref}/resolve",
            json={"outcome": "reached_safe", "note": "Counsellor with her"},
        )
        twice = ajmer.post(f"/v1/alerts/{ref}/resolve", json={"outcome": "other"})
        ack_after = ajmer.post(f"/v1/alerts/{ref}/acknowledge")
        timeline = ajmer.get(f"/v1/alerts/{ref}").json()

    assert (first.status_code, again.status_code) == (200, 200)
    assert (
        again.json()["alert"]["acknowledged_at"]
        == (first.json()["alert"]["acknowledged_at"])
    )
    assert resolved.json()["alert"]["state"] == "resolved"
    assert resolved.json()["alert"]["resolution"] == "reached_safe"
    assert (twice.status_code, twice.json()["error"]["code"]) == (
        409,
        "already_resolved",
    )
    assert ack_after.status_code == 409
    assert timeline["resolution_note"] == "Counsellor with her"
    kinds = [item["kind"] for item in timeline["timeline"]]
    assert kinds.count("acknowledged") == 1 and kinds.count("resolved") == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "outcome_invalid"),
        ({"outcome": "fine"}, "outcome_invalid"),
        ({"outcome": 7}, "outcome_invalid"),
        ({"outcome": "other", "note": "x" * 2001}, "note_invalid"),
        ({"outcome": "other", "note": ["a"]}, "note_invalid"),
    ],
)
def test_resolving_needs_a_known_outcome(
    api: Api, body: dict[str, Any], code: str
) -> None:
    ref = api.post_alert("rf-api-outcome", district="Ajmer")

    with api.as_room("ajmer") as ajmer:
        response = ajmer.post(f"/v1/alerts/{ref}/resolve", json=body)
        state = ajmer.get(f"/v1/alerts/{ref}").json()["state"]

    assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert state == "notifying"


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_outcome_resolves(api: Api, outcome: str) -> None:
    ref = api.post_alert(f"rf-api-{outcome}", district="Tonk")

    with api.as_room("tonk") as tonk:
        response = tonk.post(f"/v1/alerts/{ref}/resolve", json={"outcome": outcome})

    assert response.json()["alert"]["resolution"] == outcome


def test_a_write_repeated_under_one_idempotency_key_happens_once(api: Api) -> None:
    ref = api.post_alert("rf-api-idem", district="Ajmer")
    headers = {"idempotency-key": "resolve-1"}

    with api.as_room("ajmer") as ajmer:
        first = ajmer.post(
            f"/v1/alerts/{ref}/resolve", json={"outcome": "duplicate"}, headers=headers
        )
        again = ajmer.post(
            f"/v1/alerts/{ref}/resolve", json={"outcome": "duplicate"}, headers=headers
        )
        other = ajmer.post(
            f"/v1/alerts/{ref}/resolve", json={"outcome": "other"}, headers=headers
        )
        kinds = [i["kind"] for i in ajmer.get(f"/v1/alerts/{ref}").json()["timeline"]]

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert (other.status_code, other.json()["error"]["code"]) == (
        409,
        "idempotency_key_reused",
    )
    assert kinds.count("resolved") == 1


def test_lists_filter_by_state_and_page_by_cursor(api: Api) -> None:
    refs = [api.post_alert(f"rf-api-page-{i}", district="Ajmer") for i in range(5)]
    with api.as_room("ajmer") as ajmer:
        ajmer.post(f"/v1/alerts/{refs[0]}/acknowledge")
        acknowledged = ajmer.get("/v1/alerts", params={"state": "acknowledged"}).json()
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = ajmer.get("/v1/alerts", params=params).json()
            seen += [a["reference"] for a in page["alerts"]]
            cursor = page["next"]
            if cursor is None:
                break
        bad = ajmer.get("/v1/alerts", params={"state": "sleeping"})

    assert [a["reference"] for a in acknowledged["alerts"]] == [refs[0]]
    assert seen == list(reversed(refs))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "state_invalid")


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1e3", "201", "5000", "٥"])
def test_a_limit_outside_1_to_200_is_refused(api: Api, limit: str) -> None:
    with api.as_room("ajmer") as ajmer:
        response = ajmer.get("/v1/alerts", params={"limit": limit})

    assert (response.status_code, response.json()["error"]["code"]) == (
        422,
        "limit_invalid",
    )


def test_the_cursor_is_a_reference_of_the_rooms_own(api: Api) -> None:
    """The cursor tells nothing of how many alerts there are, and another room's
    reference is no cursor."""
    refs = [api.post_alert(f"rf-api-cursor-{i}", district="Ajmer") for i in range(3)]
    kota = api.post_alert("rf-api-cursor-kota", pincode="324005")

    with api.as_room("ajmer") as ajmer:
        first = ajmer.get("/v1/alerts", params={"limit": 2}).json()
        foreign = ajmer.get("/v1/alerts", params={"cursor": kota})
        junk = ajmer.get("/v1/alerts", params={"cursor": "1' OR 1=1"})

    assert first["next"] == refs[1]
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (
        422,
        "cursor_invalid",
    )
    assert junk.json()["error"]["code"] == "cursor_invalid"


# Every call a room can make, tried with another room's key: each answers exactly
# as for an alert that does not exist, and changes nothing.
CALLS = [
    ("GET", "/v1/alerts/{ref}", None),
    ("POST", "/v1/alerts/{ref}/acknowledge", None),
    ("POST", "/v1/alerts/{ref}/unacknowledge", None),
    ("POST", "/v1/alerts/{ref}/resolve", {"outcome": "false_positive"}),
]
OTHER_ROOMS = ["kota-rural", "ajmer", "jaipur-commissionerate", "test-desk"]


@pytest.mark.parametrize("other", OTHER_ROOMS)
@pytest.mark.parametrize(("method", "path", "body"), CALLS)
def test_another_rooms_key_gets_404_for_every_call(
    api: Api, other: str, method: str, path: str, body: dict | None
) -> None:
    ref = api.post_alert("rf-api-private", pincode="324005")

    with api.as_room(other) as intruder:
        response = intruder.request(method, path.format(ref=ref), json=body)
        missing = intruder.request(method, path.format(ref="RF-NOSUCH1"), json=body)
        listed = intruder.get("/v1/alerts").json()["alerts"]
    with api.as_room("kota-city") as owner:
        state = owner.get(f"/v1/alerts/{ref}").json()["state"]

    assert response.status_code == 404
    assert response.json()["error"] == missing.json()["error"]
    assert "Sample" not in response.text
    assert ref not in [a["reference"] for a in listed]
    assert state == "notifying"


def test_no_other_room_of_the_rooms_file_can_read_list_or_act_on_an_alert(
    api: Api,
) -> None:
    """The whole table: every room but Kota City, every call."""
    ref = api.post_alert("rf-api-every-room", pincode="324005")
    rooms = api.service.server.config.app.state.rooms
    others = [r.id for r in rooms.rooms if r.id != "kota-city"]

    answers: dict[tuple[str, str], tuple[int, Any]] = {}
    for other in others:
        with api.as_room(other) as intruder:
            listed = intruder.get("/v1/alerts", params={"state": "open"})
            answers[(other, "list")] = (
                listed.status_code,
                ref in [a["reference"] for a in listed.json()["alerts"]],
            )
            for method, path, body in CALLS:
                response = intruder.request(method, path.format(ref=ref), json=body)
                answers[(other, path)] = (
                    response.status_code,
                    response.json()["error"]["code"],
                )
    with api.as_room("kota-city") as owner:
        detail = owner.get(f"/v1/alerts/{ref}").json()

    assert len(others) == len(rooms.rooms) - 1 == 43
    for (other, call), answer in answers.items():
        expected = (200, False) if call == "list" else (404, "alert_not_found")
        assert answer == expected, (other, call)
    assert detail["state"] == "notifying"
    kinds = {item["kind"] for item in detail["timeline"]}
    assert not kinds & {"acknowledged", "unacknowledged", "resolved"}


def test_an_admin_key_sees_every_room(api: Api) -> None:
    kota = api.post_alert("rf-api-admin-1", pincode="324005")
    ajmer = api.post_alert("rf-api-admin-2", district="Ajmer")

    with api.as_admin() as admin:
        listed = {a["reference"] for a in admin.get("/v1/alerts").json()["alerts"]}
        acked = admin.post(f"/v1/alerts/{ajmer}/acknowledge")

    assert {kota, ajmer} <= listed
    assert acked.json()["alert"]["acknowledged_by"] == "admin"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "key_missing"),
        ({"x-api-key": "rfk_000000000000_nope"}, "key_invalid"),
        ({"authorization": "Bearer " + "x" * 500}, "key_invalid"),
        ({"authorization": "Basic dXNlcjpwYXNz"}, "key_missing"),
    ],
)
def test_calls_without_a_valid_key_are_401(
    api: Api, headers: dict[str, str], code: str
) -> None:
    response = httpx.get(api.url + "/v1/alerts", headers=headers)

    assert (response.status_code, response.json()["error"]["code"]) == (401, code)


def test_a_revoked_key_stops_at_once(api: Api) -> None:
    key = api.key_for("ajmer")
    store = Store(api.service.server.config.app.state.settings.database_url)
    try:
        store.write_sync(
            lambda conn: revoke_key(
                conn, key_id=key.split("_")[1], now=SystemClock().now()
            )
        )
    finally:
        store.close()

    with api.as_room("ajmer") as ajmer:
        assert ajmer.get("/v1/alerts").status_code == 401


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{", 422, "body_not_json"),
        (b"[1, 2]", 422, "invalid_request"),
        (b"\xff\xfe", 422, "body_not_json"),
        (b"[" * 5000 + b"]" * 5000, 422, "body_not_json"),
        (b'{"outcome": ' + b"9" * 20000 + b"}", 413, "body_too_large"),
        (b'{"outcome": "other", "note": "\\ud800 \\u0000"}', 200, None),
    ],
)
def test_malformed_bodies_get_a_clear_error_not_a_500(
    api: Api, content: bytes, status: int, code: str | None
) -> None:
    ref = api.post_alert("rf-api-malformed", district="Ajmer")

    with api.as_room("ajmer") as ajmer:
        response = ajmer.post(f"/v1/alerts/{ref}/resolve", content=content)
        note = ajmer.get(f"/v1/alerts/{ref}").json()["resolution_note"]

    assert response.status_code == status
    if code is not None:
        assert response.json()["error"]["code"] == code
    else:
        # Text no database can hold (a NUL, a lone surrogate) is kept as U+FFFD.
        assert note == "\ufffd \ufffd"
