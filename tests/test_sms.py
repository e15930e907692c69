"""SMS: encodings and segments (F10), DLT templates (F11), Indian numbers (F12), the
gateways against fakes on loopback, and failover from one gateway to the next."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from app.circuit import CircuitBreaker
from app.demo import DEMO_SMS_AUTHKEY
from app.errors import DeliveryError
from app.fake_receivers import FakeControlRoom, FakeMsg91, FakeTwilio
from app.local_server import ServiceThread
from app.notifiers.base import Outbound, SendResult
from app.notifiers.msg91 import Msg91Gateway
from app.notifiers.sms import SmsNotifier, default_template_text
from app.notifiers.twilio import TwilioGateway
from app.outbound import OutboundClient
from app.sms_text import (
    DltTemplate,
    InvalidNumber,
    TemplateMismatch,
    encoding,
    normalise_mobile,
    segments,
    ucs2_hex,
)
from tests.builders import alert
from tests.conftest import example_rooms
from tests.test_notifiers import attempts_of, post_alert, wait_until

TWILIO_SID, TWILIO_TOKEN = "AC0123456789abcdef0123456789abcdef", "twilio-token-7c1e"
TEMPLATE = DltTemplate(
    template_id="1207170000000000001",
    text=default_template_text("https://rf.example.in"),
)

# F10: Hindi SMS garbled.


def test_f10_devanagari_is_ucs2_big_endian_without_a_bom() -> None:
    assert ucs2_hex("तत्काल सहायता") == (
        "09240924094D0915093E0932002009380939093E092F0924093E"
    )


@pytest.mark.parametrize(
    ("text", "expected_encoding", "expected_segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("[" * 80, "GSM-7", 1),
        ("[" * 81, "GSM-7", 2),
        ("क" * 70, "UCS-2", 1),
        ("क" * 71, "UCS-2", 2),
        ("क" * 134, "UCS-2", 2),
        ("क" * 135, "UCS-2", 3),
        ("It’s urgent", "UCS-2", 1),
        ("It’s" + "a" * 67, "UCS-2", 2),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 12 else None,
)
def test_f10_segments_are_counted_per_encoding(
    text: str, expected_encoding: str, expected_segments: int
) -> None:
    assert (encoding(text), segments(text)) == (expected_encoding, expected_segments)


# F11: DLT templates.


def test_f11_a_rendered_message_matches_its_template() -> None:
    text = TEMPLATE.render(["RF-ABCDEFG", "Kota", "HIGH", "RF-ABCDEFG"])

    assert text == (
        "RED FLAG RF-ABCDEFG: Kota, risk HIGH. Open https://rf.example.in/a/"
        "RF-ABCDEFG - Rajasthan Police"
    )


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (["RF-1", "K" * 31, "HIGH", "RF-1"], "variable_length"),
        (["RF-1", "", "HIGH", "RF-1"], "variable_length"),
        (["RF-1", "Kota", "HIGH"], "variable_count"),
        (["RF-1", "Kota\nJaipur", "HIGH", "RF-1"], "variable_line_break"),
    ],
)
def test_f11_a_message_that_would_be_dropped_is_refused_locally(
    values: list[str], reason: str
) -> None:
    with pytest.raises(TemplateMismatch) as caught:
        TEMPLATE.render(values)

    assert caught.value.reason == reason


def test_f11_text_that_strays_from_the_template_is_refused() -> None:
    with pytest.raises(TemplateMismatch):
        TEMPLATE.check("RED FLAG RF-1: Kota, risk HIGH. Call now")


def test_f11_a_template_without_an_id_is_refused() -> None:
    with pytest.raises(TemplateMismatch):
        DltTemplate(template_id=" ", text="Alert {#var#}")


# F12: Indian phone numbers.


@pytest.mark.parametrize(
    "raw",
    [
        "+91 98765 43210",
        "+91-98765-43210",
        "09876543210",
        "919876543210",
        "0919876543210",
        "9876543210",
        "98765\u00a043210",
        "९८७६५४३२१०",
        "(+91) 98765-43210",
    ],
)
def test_f12_indian_mobiles_in_any_form_become_e164(raw: str) -> None:
    assert normalise_mobile(raw) == "+919876543210"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("987654321", "wrong_length"),
        ("98765432O0", "not_digits"),
        ("5876543210", "not_a_mobile"),
        ("0141 2345678", "not_a_mobile"),
        ("+1 415 555 0100", "not_indian"),
        ("", "not_digits"),
    ],
    ids=["nine-digits", "letter-o", "first-digit-5", "jaipur-landline", "us", "empty"],
)
def test_f12_other_numbers_are_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as caught:
        normalise_mobile(raw)

    assert caught.value.reason == reason


# The gateways.


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN).start()
    yield server
    server.stop()


LINK_TOKEN = "Zm9yLXRoZS1saW5rLXRlc3Q"


def outbound(*, status: str = "actual", numbers: list[str] | None = None) -> Outbound:
    room = example_rooms("http://127.0.0.1:9").room("kota-city")
    if numbers is not None:
        room = room.model_copy(
            update={"sms": room.sms.model_copy(update={"numbers": numbers})}
        )
    return Outbound(
        delivery_id=1,
        idempotency_key="msg_1",
        room=room,
        channel="sms",
        attempt=1,
        alert={
            "ref": "RF-ABCDEFG",
            "district": "Kota",
            "risk_level": "high",
            "status": status,
            "payload": alert("rf-sms"),
        },
        link_token=LINK_TOKEN,
    )


def send(
    *gateways: str,
    msg91: FakeMsg91 | None = None,
    twilio: FakeTwilio | None = None,
    template: DltTemplate = TEMPLATE,
    breaker: CircuitBreaker | None = None,
    message: Outbound | None = None,
) -> SendResult:
    async def run() -> SendResult:
        client = OutboundClient()
        try:
            chosen = []
            for name in gateways:
                if name == "msg91":
                    chosen.append(
                        Msg91Gateway(
                            client=client,
                            url=msg91.flow_url,
                            authkey=SecretStr(DEMO_SMS_AUTHKEY),
                            template_id=template.template_id,
                            sender="RJPOLC",
                            timeout_s=5,
                        )
                    )
                else:
                    chosen.append(
                        TwilioGateway(
                            client=client,
                            api_url=twilio.url,
                            account_sid=TWILIO_SID,
                            auth_token=SecretStr(TWILIO_TOKEN),
                            sender="+15005550006",
                            status_callback="https://rf.example.in/webhooks/sms/twilio",
                            timeout_s=5,
                        )
                    )
            notifier = SmsNotifier(
                gateways=chosen,
                template=template,
                breaker=breaker or CircuitBreaker(),
            )
            return await notifier.send(message or outbound())
        finally:
            await client.close()

    return asyncio.run(run())


def test_msg91_request_has_the_flow_api_shape(sms: FakeMsg91) -> None:
    result = send("msg91", msg91=sms)

    [received] = sms.accepted()
    body = received.json()
    assert received.headers["authkey"] == DEMO_SMS_AUTHKEY
    assert (body["template_id"], body["sender"], body["unicode"]) == (
        "1207170000000000001",
        "RJPOLC",
        0,
    )
    assert body["recipients"] == [
        {
            "mobiles": "919000000002",
            "ref": "RF-ABCDEFG",
            "district": "Kota",
            "risk": "HIGH",
            "link": LINK_TOKEN,
        }
    ]
    assert result.gateway == "msg91"
    assert result.messages == (("+919000000002", result.provider_message_id),)


def test_msg91_sets_the_unicode_flag_for_a_hindi_template(sms: FakeMsg91) -> None:
    hindi = DltTemplate(
        template_id="1207170000000000002",
        text="लाल झंडा {#var#}: {#var#}, {#var#}. {#var#}",
    )

    send("msg91", msg91=sms, template=hindi)

    assert sms.accepted()[0].json()["unicode"] == 1


def test_twilio_request_has_the_messages_api_shape(twilio: FakeTwilio) -> None:
    result = send("twilio", twilio=twilio)

    [received] = twilio.accepted()
    form = twilio.form(received)
    assert form["To"] == "+919000000002"
    assert form["From"] == "+15005550006"
    assert form["StatusCallback"] == "https://rf.example.in/webhooks/sms/twilio"
    assert form["Body"].startswith("RED FLAG RF-ABCDEFG: Kota, risk HIGH.")
    assert result.gateway == "twilio"
    assert result.provider_message_id.startswith("SM")


def test_a_test_alert_says_test(twilio: FakeTwilio) -> None:
    send("twilio", twilio=twilio, message=outbound(status="test"))

    assert twilio.form(twilio.accepted()[0])["Body"].startswith("RED FLAG TEST RF-")


@pytest.mark.parametrize("status", [429, 503])
def test_a_throttling_primary_fails_over_to_the_secondary_at_once(
    sms: FakeMsg91, twilio: FakeTwilio, status: int
) -> None:
    sms.behaviour.default = status

    result = send("msg91", "twilio", msg91=sms, twilio=twilio)

    assert result.gateway == "twilio"
    assert len(sms.received) == 1 and len(twilio.accepted()) == 1


def test_a_template_rejection_is_permanent_and_moves_to_the_next_gateway(
    sms: FakeMsg91, twilio: FakeTwilio
) -> None:
    sms.behaviour.default = 400

    result = send("msg91", "twilio", msg91=sms, twilio=twilio)

    assert result.gateway == "twilio"


def test_every_gateway_failing_is_retryable_if_any_failure_was(
    sms: FakeMsg91, twilio: FakeTwilio
) -> None:
    sms.behaviour.default = 400
    twilio.behaviour.default = 503

    with pytest.raises(DeliveryError) as caught:
        send("msg91", "twilio", msg91=sms, twilio=twilio)

    assert (caught.value.reason, caught.value.retryable) == ("gateway_503", True)


def test_an_open_circuit_skips_the_primary_without_calling_it(
    sms: FakeMsg91, twilio: FakeTwilio
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_s=60)
    breaker.failed("sms:msg91")

    result = send("msg91", "twilio", msg91=sms, twilio=twilio, breaker=breaker)

    assert result.gateway == "twilio"
    assert sms.received == []


def test_numbers_that_are_not_mobiles_are_left_out(twilio: FakeTwilio) -> None:
    message = outbound(numbers=["+919000000002", "0141 2345678"])

    send("twilio", twilio=twilio, message=message)

    assert [twilio.form(r)["To"] for r in twilio.accepted()] == ["+919000000002"]


def test_the_sms_body_holds_no_personal_data(twilio: FakeTwilio) -> None:
    send("twilio", twilio=twilio)

    body = twilio.form(twilio.accepted()[0])["Body"]
    for personal in ("Sample Student", "sample_user_01", "9999900001", "अब और"):
        assert personal not in body


# The circuit breaker.


def test_circuit_opens_after_repeated_failures_and_probes_before_closing() -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        failure_threshold=3, cooldown_s=10, monotonic=lambda: now[0]
    )

    for _ in range(3):
        breaker.failed("x")
    refused_while_open = breaker.allow("x")
    now[0] = 11.0
    probe, second = breaker.allow("x"), breaker.allow("x")
    breaker.succeeded("x")

    assert refused_while_open is False
    assert (probe, second) == (True, False)
    assert breaker.state("x") == "closed"


def test_a_failed_probe_opens_the_circuit_again() -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        failure_threshold=1, cooldown_s=10, monotonic=lambda: now[0]
    )
    breaker.failed("x")
    now[0] = 10.5

    assert breaker.allow("x") is True
    breaker.failed("x")
    assert breaker.state("x") == "open"


# Failover between channels, through the worker.


def test_a_failing_http_channel_hands_over_to_sms_at_once(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom, sms: FakeMsg91
) -> None:
    """SMS failed once and waits out a long backoff; when HTTP fails too, SMS is
    tried again at once instead of after its wait."""
    sms.behaviour.statuses = [503]
    room.behaviour.delay_s = 0.5
    room.behaviour.default = 404
    service = start_service(retry_base_s=120.0, retry_cap_s=600.0)
    started = datetime.now(UTC)

    post_alert(service, "rf-failover")
    wait_until(lambda: len(sms.accepted()) == 1, timeout_s=10)

    # The gateway has it; the attempt is recorded a moment later, in a batch.
    def sms_outcomes() -> list[str]:
        found = [a for a in attempts_of(service) if a["channel"] == "sms"]
        return [a["outcome"] for a in found]

    wait_until(lambda: "delivered" in sms_outcomes(), timeout_s=10)
    assert sms_outcomes()[:2] == ["retry", "delivered"]
    assert (datetime.now(UTC) - started).total_seconds() < 10
