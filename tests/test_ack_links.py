"""The acknowledgement link in an SMS: a short page where the officer confirms with
the room's key. The token is random-looking, stored hashed, bound to one alert and
one recipient, and expires."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.ack_links import TOKEN_LENGTH, token_hash
from app.clock import FrozenClock
from app.fake_receivers import FakeControlRoom, FakeMsg91
from app.local_server import ServiceThread
from app.models import AckToken
from app.store import Store
from tests.builders import alert, meta_body, meta_headers
from tests.conftest import example_rooms
from tests.test_control_room_api import ADMIN_KEY, Api
from tests.test_notifiers import wait_until

NOON = datetime(2026, 12, 4, 6, 30, tzinfo=UTC)


@pytest.fixture
def linked(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> tuple[Api, FrozenClock]:
    clock = FrozenClock(NOON)
    service = start_service(
        clock=clock,
        rooms=example_rooms(room.url, escalation=None),
        admin_key=ADMIN_KEY,
        escalation_poll_s=0.05,
    )
    return Api(service), clock


def links_sent(sms: FakeMsg91, count: int) -> list[dict[str, Any]]:
    messages = sms.wait_for(count)
    return [r for m in messages for r in m.json()["recipients"]]


def tokens(api: Api) -> list[dict[str, Any]]:
    store = Store(api.service.server.config.app.state.settings.database_url)
    try:
        return store.read_sync(
            lambda conn: [
                dict(r) for r in conn.execute(select(AckToken.__table__)).mappings()
            ]
        )
    finally:
        store.close()


def test_every_sms_carries_its_own_link_and_only_a_hash_is_stored(
    linked: tuple[Api, FrozenClock], sms: FakeMsg91
) -> None:
    api, _ = linked
    api.post_alert("rf-link-1", district="Ajmer")

    # The room's number and the officer on shift: two SMS, two tokens.
    sent = links_sent(sms, 2)
    stored = tokens(api)

    links = [r["link"] for r in sent]
    assert len(set(links)) == 2
    assert all(len(link) == TOKEN_LENGTH for link in links)
    assert {t["token_hash"] for t in stored} == {token_hash(link) for link in links}
    assert not any(link in str(stored) for link in links)
    assert {t["recipient"].split(":")[0] for t in stored} == {"room", "person"}


def test_the_room_key_on_the_link_page_acknowledges_the_alert(
    linked: tuple[Api, FrozenClock], sms: FakeMsg91
) -> None:
    api, _ = linked
    ref = api.post_alert("rf-link-2", district="Ajmer")
    link = links_sent(sms, 2)[0]["link"]

    page = httpx.get(f"{api.url}/a/{link}")
    wrong = httpx.post(f"{api.url}/a/{link}", data={"key": api.key_for("tonk")})
    right = httpx.post(f"{api.url}/a/{link}", data={"key": api.key_for("ajmer")})

    assert page.status_code == 200
    assert ref in page.text and "Sample" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert wrong.status_code == 401
    assert right.status_code == 200 and "Acknowledged" in right.text
    with api.as_room("ajmer") as ajmer:
        detail = ajmer.get(f"/v1/alerts/{ref}").json()
    assert detail["state"] == "acknowledged"
    assert "by link to" in detail["acknowledged_by"]


def test_a_link_expires(linked: tuple[Api, FrozenClock], sms: FakeMsg91) -> None:
    api, clock = linked
    ref = api.post_alert("rf-link-3", district="Ajmer")
    link = links_sent(sms, 2)[0]["link"]

    clock.at = NOON + timedelta(hours=24, seconds=1)
    page = httpx.get(f"{api.url}/a/{link}")
    post = httpx.post(f"{api.url}/a/{link}", data={"key": api.key_for("ajmer")})

    assert (page.status_code, post.status_code) == (404, 404)
    with api.as_room("ajmer") as ajmer:
        assert ajmer.get(f"/v1/alerts/{ref}").json()["state"] != "acknowledged"


@pytest.mark.parametrize(
    "token", ["", "x" * 22, "../../etc/passwd", "%00" * 30, "a" * 5000]
)
def test_made_up_tokens_find_nothing(
    linked: tuple[Api, FrozenClock], token: str
) -> None:
    api, _ = linked

    response = httpx.get(f"{api.url}/a/{token}")

    assert response.status_code == 404


def test_a_link_acknowledges_only_its_own_alert(
    linked: tuple[Api, FrozenClock], sms: FakeMsg91
) -> None:
    api, _ = linked
    first = api.post_alert("rf-link-4", district="Ajmer")
    link = links_sent(sms, 2)[0]["link"]
    second = api.post_alert("rf-link-5", district="Ajmer")
    wait_until(lambda: len(sms.accepted()) >= 4)

    httpx.post(f"{api.url}/a/{link}", data={"key": api.key_for("ajmer")})

    with api.as_room("ajmer") as ajmer:
        states = [ajmer.get(f"/v1/alerts/{r}").json()["state"] for r in (first, second)]
    assert states == ["acknowledged", "notifying"]


def test_links_hold_no_personal_data(
    linked: tuple[Api, FrozenClock], sms: FakeMsg91
) -> None:
    api, _ = linked
    body = meta_body(alert("rf-link-6", location={"district": "Ajmer"}))
    httpx.post(api.url + "/webhooks/meta", content=body, headers=meta_headers(body))

    for recipient in links_sent(sms, 2):
        assert set(recipient) == {"mobiles", "ref", "district", "risk", "link"}
        assert "sample" not in recipient["link"].lower()
