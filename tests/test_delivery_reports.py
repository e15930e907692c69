"""Delivery reports from MSG91 (token in the path) and Twilio (signed): forward only,
unknown ids kept."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from app.delivery_reports import twilio_signature
from app.fake_receivers import FakeMsg91, FakeTwilio
from app.local_server import ServiceThread
from app.models import Delivery, DeliveryReport, SmsMessage
from app.store import Store
from tests.test_notifiers import post_alert, wait_until
from tests.test_sms import TWILIO_SID, TWILIO_TOKEN

TOKEN = "dlr-7f3a9c1e5b2d"
PUBLIC = "https://rf.example.in"


def rows(service: ServiceThread, table: type) -> list[dict]:
    store = Store(service.server.config.app.state.settings.database_url)
    try:
        return store.read_sync(
            lambda conn: [
                dict(r)
                for r in conn.execute(select(table.__table__).order_by("id")).mappings()
            ]
        )
    finally:
        store.close()


def sms_delivery(service: ServiceThread) -> dict:
    [delivery] = [d for d in rows(service, Delivery) if d["channel"] == "sms"]
    return delivery


def msg91_report(
    service: ServiceThread, request_id: str, status: str, *, token: str = TOKEN
) -> httpx.Response:
    number = rows(service, SmsMessage)[0]["recipient"].lstrip("+")
    report = [
        {
            "requestId": request_id,
            "report": [{"number": number, "status": status, "desc": "x"}],
        }
    ]
    return httpx.post(f"{service.url}/webhooks/sms/msg91/{token}", json=report)


@pytest.fixture
def msg91_service(
    start_service: Callable[..., ServiceThread], sms: FakeMsg91
) -> ServiceThread:
    service = start_service(sms_report_token=TOKEN)
    post_alert(service, "rf-dlr")
    sms.wait_for(1)
    wait_until(lambda: sms_delivery(service)["state"] == "delivered")
    return service


def test_msg91_report_marks_the_sms_delivered(msg91_service: ServiceThread) -> None:
    request_id = sms_delivery(msg91_service)["provider_message_id"]

    response = msg91_report(msg91_service, request_id, "1")

    assert response.json() == {
        "status": "recorded",
        "reports": 1,
        "applied": 1,
        "stale": 0,
        "unmatched": 0,
    }
    assert sms_delivery(msg91_service)["report_state"] == "delivered"
    [message] = rows(msg91_service, SmsMessage)
    assert (message["recipient"], message["report_state"]) == (
        "+919000000004",
        "delivered",
    )


def test_a_late_sent_never_overwrites_delivered(msg91_service: ServiceThread) -> None:
    request_id = sms_delivery(msg91_service)["provider_message_id"]

    msg91_report(msg91_service, request_id, "1")
    late = msg91_report(msg91_service, request_id, "8")

    assert late.json()["stale"] == 1
    assert sms_delivery(msg91_service)["report_state"] == "delivered"


def test_a_report_for_an_unknown_id_is_kept_for_reconciliation(
    msg91_service: ServiceThread,
) -> None:
    response = msg91_report(msg91_service, "no-such-request", "1")

    assert response.json()["unmatched"] == 1
    [kept] = rows(msg91_service, DeliveryReport)
    assert (kept["provider_message_id"], kept["outcome"]) == (
        "no-such-request",
        "unmatched",
    )


def test_msg91_report_with_a_wrong_token_is_404(msg91_service: ServiceThread) -> None:
    response = msg91_report(msg91_service, "x", "1", token="guess")

    assert response.status_code == 404
    assert rows(msg91_service, DeliveryReport) == []


def test_the_report_token_never_reaches_the_logs_or_the_metrics(
    msg91_service: ServiceThread,
) -> None:
    """A rejected report logs its route's template, not the path with the token."""
    with capture_logs() as logs:
        refused = httpx.post(
            f"{msg91_service.url}/webhooks/sms/msg91/{TOKEN}",
            content=b"not json",
            headers={"content-type": "application/json"},
        )
    metrics = httpx.get(f"{msg91_service.url}/metrics").text

    assert refused.status_code in (400, 415)
    [rejected] = [e for e in logs if e["event"] == "request_rejected"]
    assert rejected["route"] == "/webhooks/sms/msg91/{token}"
    assert TOKEN not in json.dumps(logs) and TOKEN[:6] not in metrics


def test_msg91_report_as_a_form_with_data(msg91_service: ServiceThread) -> None:
    request_id = sms_delivery(msg91_service)["provider_message_id"]
    line = {"number": "919000000004", "status": "2"}
    data = json.dumps([{"requestId": request_id, "report": [line]}])

    response = httpx.post(
        f"{msg91_service.url}/webhooks/sms/msg91/{TOKEN}", data={"data": data}
    )

    assert response.json()["applied"] == 1
    assert sms_delivery(msg91_service)["report_state"] == "failed"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def twilio_service(
    start_service: Callable[..., ServiceThread], twilio: FakeTwilio
) -> ServiceThread:
    service = start_service(
        sms_gateway_url="",
        twilio_api_url=twilio.url,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from="+15005550006",
        public_base_url=PUBLIC,
    )
    post_alert(service, "rf-twilio")
    twilio.wait_for(1)
    wait_until(lambda: sms_delivery(service)["state"] == "delivered")
    return service


def twilio_callback(
    service: ServiceThread, form: dict[str, str], *, token: str = TWILIO_TOKEN
) -> httpx.Response:
    url = PUBLIC + "/webhooks/sms/twilio"
    signature = twilio_signature(auth_token=token, url=url, form=form)
    return httpx.post(
        service.url + "/webhooks/sms/twilio",
        content=urllib.parse.urlencode(form),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": signature,
        },
    )


def test_signed_twilio_callback_moves_the_state_forward(
    twilio_service: ServiceThread,
) -> None:
    sid = sms_delivery(twilio_service)["provider_message_id"]
    form = {"MessageSid": sid, "MessageStatus": "delivered", "To": "+919000000004"}

    response = twilio_callback(twilio_service, form)

    assert response.json()["applied"] == 1
    assert sms_delivery(twilio_service)["report_state"] == "delivered"


def test_twilio_callback_with_a_wrong_signature_is_401(
    twilio_service: ServiceThread,
) -> None:
    sid = sms_delivery(twilio_service)["provider_message_id"]
    form = {"MessageSid": sid, "MessageStatus": "delivered"}

    response = twilio_callback(twilio_service, form, token="not-the-token")

    assert response.status_code == 401
    assert sms_delivery(twilio_service)["report_state"] is None
