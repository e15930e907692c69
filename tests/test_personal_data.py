"""Personal data never reaches logs, error bodies or SMS text (DESIGN.md rule 7)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
from structlog.testing import capture_logs

from app.fake_receivers import FakeControlRoom, FakeMsg91
from app.local_server import ServiceThread
from tests.builders import (
    alert,
    meta_body,
    meta_headers,
    standard_body,
    standard_headers,
)
from tests.test_notifiers import wait_until

PERSONAL = {
    "subject": {
        "account_id": "17841499999999999",
        "username": "priya_k_2007",
        "display_name": "Priya Kumari",
        "profile_url": "https://ig.example/priya",
    },
    "content": {"excerpt": "मैं अब और नहीं जी सकती", "url": "https://ig.example/p/xyz"},
    "location": {
        "city": "Kota",
        "locality": "Talwandi",
        "pincode": "324005",
        "lat": 25.1432,
        "lon": 75.8312,
    },
    "contact": {"phone": "+919812345678", "email": "priya@example.com"},
}
NEEDLES = [
    "17841499999999999",
    "priya_k_2007",
    "Priya Kumari",
    "ig.example",
    "मैं अब और नहीं",
    "Talwandi",
    "324005",
    "25.1432",
    "75.8312",
    "9812345678",
    "priya@example.com",
]


def assert_clean(text: str) -> None:
    found = [needle for needle in NEEDLES if needle in text]
    assert found == []


def test_logs_of_a_whole_delivery_hold_no_personal_data(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom, sms: FakeMsg91
) -> None:
    body = meta_body(alert("rf-pii", **PERSONAL))
    with capture_logs() as logs:
        service = start_service()
        response = httpx.post(
            service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
        )
        room.wait_for(1)
        sms.wait_for(1)
        wait_until(lambda: sum(e["event"] == "delivery_sent" for e in logs) == 2)

    assert response.status_code == 200
    assert {"event_stored", "alert_created", "delivery_sent"} <= {
        entry["event"] for entry in logs
    }
    assert_clean(json.dumps(logs, default=str, ensure_ascii=False))


def test_sms_text_holds_no_personal_data(
    service: ServiceThread, sms: FakeMsg91
) -> None:
    body = meta_body(alert("rf-pii-sms", **PERSONAL))

    httpx.post(service.url + "/webhooks/meta", content=body, headers=meta_headers(body))
    [request] = sms.wait_for(1)

    recipient = request.json()["recipients"][0]
    assert set(recipient) == {"mobiles", "ref", "district", "risk", "link"}
    # The link is an acknowledgement token: random-looking, not derived from the alert.
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", recipient["link"])
    assert_clean(request.body.decode())


def test_error_bodies_and_their_logs_hold_no_personal_data(
    service: ServiceThread,
) -> None:
    good = meta_body(alert("rf-pii-err", **PERSONAL))
    not_an_envelope = json.dumps({"alert": PERSONAL}).encode()
    not_json = b"{" + json.dumps(PERSONAL).encode()
    attempts = [
        (
            good,
            {"x-hub-signature-256": "sha256=00", "content-type": "application/json"},
        ),
        (not_an_envelope, meta_headers(not_an_envelope)),
        (not_json, meta_headers(not_json)),
        (good, meta_headers(good, **{"content-type": "text/xml"})),
    ]

    with capture_logs() as logs:
        for body, headers in attempts:
            response = httpx.post(
                service.url + "/webhooks/meta", content=body, headers=headers
            )
            assert 400 <= response.status_code < 500
            assert_clean(response.text)
        standard = standard_body(alert("rf-pii-std", **PERSONAL))
        response = httpx.post(
            service.url + "/webhooks/standard",
            content=standard,
            headers=standard_headers(standard, timestamp=1),
        )
        assert_clean(response.text)

    assert_clean(json.dumps(logs, default=str, ensure_ascii=False))
