"""The partner endpoints against the real service: faults F1 to F9 and F17 of the
receiving side, and the statuses of DESIGN.md's rule 2."""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import func, select

from app.demo import DEMO_STANDARD_SECRET, DEMO_VERIFY_TOKEN
from app.expansion import new_alerts_of
from app.local_server import ServiceThread
from app.models import Alert, AlertRevision, Event
from app.store import Store
from tests.builders import (
    alert,
    meta_body,
    meta_headers,
    meta_signature,
    standard_body,
    standard_headers,
)

# The helpers that read the store wait first until every event answered so far has
# its alerts written: they are written right after the answer, not before it.


def count(service: ServiceThread, model: type) -> int:
    service.settled()
    store = Store(service.server.config.app.state.settings.database_url)
    try:
        return store.read_sync(
            lambda conn: conn.execute(
                select(func.count()).select_from(model)
            ).scalar_one()
        )
    finally:
        store.close()


def stored_alert(service: ServiceThread, alert_id: str) -> dict:
    service.settled()
    store = Store(service.server.config.app.state.settings.database_url)
    try:
        return store.read_sync(
            lambda conn: (
                conn.execute(select(Alert.__table__).where(Alert.alert_id == alert_id))
                .mappings()
                .one()
            )
        )
    finally:
        store.close()


def new_alerts(service: ServiceThread, response: httpx.Response) -> int | None:
    """How many alerts not seen before the answered event brought."""
    service.settled()
    store = service.server.config.app.state.store
    event_id = response.json()["event_id"]
    return store.read_sync(lambda conn: new_alerts_of(conn, event_id))


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["error"]["code"] == code
    assert body["request_id"] == response.headers["x-request-id"]


# F1 and F2: the signature is over the exact bytes received.


def test_f1_pretty_printed_body_with_final_newline_is_accepted(
    client: httpx.Client, service: ServiceThread
) -> None:
    body = b'{\n  "alert_id": "rf-f1",\n  "score": 0.90\n}\n'
    document = {
        "object": "safety_alert",
        "entry": [
            {
                "id": "e",
                "time": 1,
                "changes": [{"field": "red_flag", "value": json.loads(body)}],
            }
        ],
    }
    exact = json.dumps(document, indent=2).replace("0.9", "0.90").encode() + b"\n"

    response = client.post("/webhooks/meta", content=exact, headers=meta_headers(exact))

    assert response.status_code == 200
    assert new_alerts(service, response) == 1


def test_f1_same_header_over_reserialized_or_trimmed_body_is_refused(
    client: httpx.Client, service: ServiceThread
) -> None:
    exact = meta_body(alert("rf-f1", score=0.90)).replace(b"0.9", b"0.90") + b"\n"
    headers = meta_headers(exact)
    reserialized = json.dumps(json.loads(exact)).encode()

    for body in (reserialized, exact.rstrip(b"\n")):
        response = client.post("/webhooks/meta", content=body, headers=headers)
        assert_error(response, 401, "signature_invalid")
    assert count(service, Event) == 0


def test_f2_body_ending_in_crlf_is_signed_over_all_its_bytes(
    client: httpx.Client,
) -> None:
    body = meta_body(alert("rf-f2")) + b"\r\n"
    headers = meta_headers(body)

    accepted = client.post("/webhooks/meta", content=body, headers=headers)
    trimmed = client.post("/webhooks/meta", content=body[:-2], headers=headers)

    assert accepted.status_code == 200
    assert trimmed.status_code == 401


def test_missing_signature_is_401_with_its_own_code(client: httpx.Client) -> None:
    response = client.post(
        "/webhooks/meta",
        content=meta_body(alert()),
        headers={"content-type": "application/json"},
    )

    assert_error(response, 401, "signature_missing")


# F3: Standard Webhooks.


def test_f3_standard_header_names_in_any_case(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service()
    body = standard_body(alert("rf-f3"))
    headers = standard_headers(body)
    shouted = {
        "Webhook-Id": headers["webhook-id"],
        "WEBHOOK-TIMESTAMP": headers["webhook-timestamp"],
        "webhook-SIGNATURE": headers["webhook-signature"],
        "Content-Type": "application/json",
    }

    response = httpx.post(
        service.url + "/webhooks/standard", content=body, headers=shouted
    )

    assert response.status_code == 200
    assert stored_alert(service, "rf-f3")["district"] == "Ajmer"


def test_f3_standard_signature_keyed_with_the_undecoded_secret_is_refused(
    client: httpx.Client,
) -> None:
    import base64
    import hashlib
    import hmac

    body = standard_body(alert("rf-f3b"))
    ts = str(int(time.time()))
    for key in (
        DEMO_STANDARD_SECRET.encode(),
        DEMO_STANDARD_SECRET.removeprefix("whsec_").encode(),
    ):
        digest = hmac.new(key, f"msg_x.{ts}.".encode() + body, hashlib.sha256).digest()
        headers = {
            "webhook-id": "msg_x",
            "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(digest).decode(),
            "content-type": "application/json",
        }

        response = client.post("/webhooks/standard", content=body, headers=headers)

        assert_error(response, 401, "signature_invalid")


def test_standard_timestamp_too_old_is_401(client: httpx.Client) -> None:
    body = standard_body(alert("rf-old"))
    headers = standard_headers(body, timestamp=int(time.time()) - 301)

    response = client.post("/webhooks/standard", content=body, headers=headers)

    assert_error(response, 401, "timestamp_out_of_tolerance")


# F4 and F17: one alert per partner alert id.


def test_f4_retries_that_differ_byte_for_byte_make_one_alert(
    client: httpx.Client, service: ServiceThread
) -> None:
    first = standard_body(alert("rf-f4", sent_at="2025-10-09T09:00:00Z"))
    second = standard_body(alert("rf-f4", sent_at="2025-10-09T09:00:07Z"))

    one = client.post(
        "/webhooks/standard",
        content=first,
        headers=standard_headers(first, message_id="msg_a"),
    )
    two = client.post(
        "/webhooks/standard",
        content=second,
        headers=standard_headers(second, message_id="msg_b"),
    )

    assert (one.status_code, two.status_code) == (200, 200)
    assert (new_alerts(service, one), new_alerts(service, two)) == (1, 0)
    assert count(service, Alert) == 1
    assert stored_alert(service, "rf-f4")["copies_received"] == 2


def test_f17_same_keys_in_another_order_are_the_same_alert(
    client: httpx.Client, service: ServiceThread
) -> None:
    """Even without an alert_id, where the content is all there is to go on."""
    value = alert("x")
    del value["alert_id"]
    reordered = dict(reversed(list(value.items())))

    for payload in (value, reordered):
        body = meta_body(payload)
        assert (
            client.post(
                "/webhooks/meta", content=body, headers=meta_headers(body)
            ).status_code
            == 200
        )

    assert count(service, Alert) == 1


def test_concurrent_copies_of_one_alert_make_one_alert(
    service: ServiceThread,
) -> None:
    import concurrent.futures

    bodies = [meta_body(alert("rf-race", n=i)) for i in range(20)]

    def post(body: bytes) -> int:
        return httpx.post(
            service.url + "/webhooks/meta",
            content=body,
            headers=meta_headers(body),
            timeout=10,
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(post, bodies))

    assert statuses == [200] * 20
    assert count(service, Alert) == 1
    assert count(service, AlertRevision) == 19


# F5: slow control rooms never slow receiving.


def test_f5_a_stalled_control_room_does_not_slow_receiving(
    start_service: Callable[..., ServiceThread], room
) -> None:
    room.behaviour.delay_s = 3.0
    service = start_service(attempt_timeout_s=15.0)
    timings = []

    with httpx.Client(base_url=service.url, timeout=10) as http:
        for i in range(20):
            body = meta_body(alert(f"rf-f5-{i}"))
            started = time.monotonic()
            response = http.post(
                "/webhooks/meta", content=body, headers=meta_headers(body)
            )
            timings.append(time.monotonic() - started)
            assert response.status_code == 200
    room.behaviour.delay_s = 0.0

    assert max(timings) < 1.0
    received = room.wait_for(20, timeout_s=30)
    ids = [r.json()["alert_id"] for r in received]
    assert sorted(set(ids)) == sorted(f"rf-f5-{i}" for i in range(20))


# F6: out-of-order updates.


def test_f6_an_older_update_arriving_late_never_lowers_the_risk(
    client: httpx.Client, service: ServiceThread
) -> None:
    newer = meta_body(
        alert("rf-f6", risk={"category": "suicide", "level": "imminent"}),
        entry_time=1760000100,
    )
    older = meta_body(
        alert("rf-f6", risk={"category": "suicide", "level": "low"}),
        entry_time=1760000000,
    )

    for body in (newer, older):
        assert (
            client.post(
                "/webhooks/meta", content=body, headers=meta_headers(body)
            ).status_code
            == 200
        )

    assert stored_alert(service, "rf-f6")["risk_level"] == "imminent"
    assert count(service, AlertRevision) == 1


def test_f6_a_newer_update_raising_the_risk_is_applied(
    client: httpx.Client, service: ServiceThread
) -> None:
    first = meta_body(alert("rf-f6b", risk={"level": "medium"}), entry_time=1760000000)
    later = meta_body(
        alert("rf-f6b", risk={"level": "imminent"}), entry_time=1760000100
    )

    for body in (first, later):
        client.post("/webhooks/meta", content=body, headers=meta_headers(body))

    assert stored_alert(service, "rf-f6b")["risk_level"] == "imminent"


# F7: content types and encodings.


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
        "APPLICATION/JSON",
        None,
    ],
)
def test_f7_json_media_types_in_any_spelling_are_json(
    client: httpx.Client, content_type: str | None
) -> None:
    body = meta_body(alert("rf-f7"))
    headers = {"x-hub-signature-256": meta_signature(body)}
    if content_type is not None:
        headers["content-type"] = content_type

    response = client.post("/webhooks/meta", content=body, headers=headers)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"alert_id=rf-1"),
        ("application/xml", b"<alert><id>rf-1</id></alert>"),
        ("text/plain", b"hello"),
    ],
)
def test_f7_forms_and_xml_are_415_with_a_message(
    client: httpx.Client, service: ServiceThread, content_type: str, body: bytes
) -> None:
    headers = {
        "x-hub-signature-256": meta_signature(body),
        "content-type": content_type,
    }

    response = client.post("/webhooks/meta", content=body, headers=headers)

    assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in response.json()["error"]["message"]
    assert count(service, Event) == 0


def test_f7_gzip_body_is_signed_as_sent_and_inflated_after(
    client: httpx.Client, service: ServiceThread
) -> None:
    compressed = gzip.compress(meta_body(alert("rf-gzip")))
    headers = meta_headers(compressed, **{"content-encoding": "gzip"})

    response = client.post("/webhooks/meta", content=compressed, headers=headers)

    assert response.status_code == 200
    assert stored_alert(service, "rf-gzip")["alert_id"] == "rf-gzip"


def test_f7_gzip_signed_over_the_inflated_bytes_is_401_not_500(
    client: httpx.Client,
) -> None:
    inflated = meta_body(alert("rf-gzip2"))
    headers = meta_headers(inflated, **{"content-encoding": "gzip"})

    response = client.post(
        "/webhooks/meta", content=gzip.compress(inflated), headers=headers
    )

    assert_error(response, 401, "signature_invalid")


def test_f7_small_gzip_inflating_past_the_limit_is_413(
    client: httpx.Client, service: ServiceThread
) -> None:
    bomb = gzip.compress(b'{"entry": ["' + b"a" * (5 * 1024 * 1024) + b'"]}')
    headers = meta_headers(bomb, **{"content-encoding": "gzip"})

    response = client.post("/webhooks/meta", content=bomb, headers=headers)

    assert len(bomb) < 64 * 1024
    assert_error(response, 413, "body_too_large")
    assert count(service, Event) == 0


@pytest.mark.parametrize("encoding", ["br", "deflate, gzip", "compress"])
def test_f7_other_encodings_are_415(client: httpx.Client, encoding: str) -> None:
    body = meta_body(alert())
    headers = meta_headers(body, **{"content-encoding": encoding})

    response = client.post("/webhooks/meta", content=body, headers=headers)

    assert_error(response, 415, "unsupported_encoding")


def test_gzip_that_is_not_gzip_is_415(client: httpx.Client) -> None:
    body = b"this is not gzip"
    headers = meta_headers(body, **{"content-encoding": "gzip"})

    response = client.post("/webhooks/meta", content=body, headers=headers)

    assert_error(response, 415, "unsupported_encoding")


# F8: size limits.

LIMIT = 64 * 1024


def padded_body(size: int) -> bytes:
    body = meta_body(alert("rf-f8"))
    return body[:-1] + b" " * (size - len(body)) + body[-1:]


def test_f8_body_of_exactly_the_limit_is_accepted(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(max_body_bytes=LIMIT)
    body = padded_body(LIMIT)

    response = httpx.post(
        service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
    )

    assert len(body) == LIMIT
    assert response.status_code == 200


def test_f8_one_byte_over_the_limit_is_413_and_nothing_stored(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(max_body_bytes=LIMIT)
    body = padded_body(LIMIT + 1)

    response = httpx.post(
        service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
    )

    assert_error(response, 413, "body_too_large")
    assert count(service, Event) == 0


def test_f8_chunked_body_over_the_limit_is_413(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(max_body_bytes=LIMIT)
    body = padded_body(LIMIT * 3)

    def chunks():
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = httpx.post(
        service.url + "/webhooks/meta",
        content=chunks(),
        headers=meta_headers(body),
        timeout=10,
    )

    assert "content-length" not in response.request.headers
    assert_error(response, 413, "body_too_large")
    assert count(service, Event) == 0


def test_f8_body_longer_than_its_content_length_is_refused_and_nothing_hangs(
    service: ServiceThread,
) -> None:
    """The server reads what Content-Length declares; the rest is not a body. The
    truncated body fails its signature, nothing is stored, and the connection ends."""
    body = meta_body(alert("rf-f8-cl"))
    head = (
        "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        f"x-hub-signature-256: {meta_signature(body)}\r\n"
        f"content-length: {len(body) - 20}\r\nconnection: close\r\n\r\n"
    ).encode()

    with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
        sock.sendall(head + body)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk

    status = int(reply.split(b" ", 2)[1])
    assert status in (400, 401, 413)
    assert count(service, Event) == 0


def test_f8_a_batch_of_1500_changes_fits_under_the_default_limit(
    start_service: Callable[..., ServiceThread],
) -> None:
    service = start_service(worker_enabled=False)
    body = meta_body(*(alert(f"rf-batch-{i}") for i in range(1500)))

    response = httpx.post(
        service.url + "/webhooks/meta",
        content=body,
        headers=meta_headers(body),
        timeout=30,
    )

    assert 500_000 < len(body) < 4 * 1024 * 1024
    assert response.status_code == 200
    assert response.json() == {
        "status": "stored",
        "event_id": 1,
        "alerts": 1500,
    }
    assert count(service, Alert) == 1500


# F9: the subscription handshake.


def test_f9_handshake_echoes_exactly_the_challenge_as_text(
    client: httpx.Client,
) -> None:
    response = client.get(
        "/webhooks/meta",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": DEMO_VERIFY_TOKEN,
            "hub.challenge": "7302218855",
        },
    )

    assert response.status_code == 200
    assert response.content == b"7302218855"
    assert response.headers["content-type"].startswith("text/plain")


def test_f9_wrong_token_is_403_without_the_echo(client: httpx.Client) -> None:
    response = client.get(
        "/webhooks/meta",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "wrong",
            "hub.challenge": "7302218855",
        },
    )

    assert_error(response, 403, "verify_token_mismatch")
    assert b"7302218855" not in response.content


def test_f9_no_challenge_is_400(client: httpx.Client) -> None:
    response = client.get(
        "/webhooks/meta",
        params={"hub.mode": "subscribe", "hub.verify_token": DEMO_VERIFY_TOKEN},
    )

    assert_error(response, 400, "challenge_missing")


def test_f9_head_is_never_500(client: httpx.Client) -> None:
    response = client.head(
        "/webhooks/meta",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": DEMO_VERIFY_TOKEN,
            "hub.challenge": "1",
        },
    )

    assert response.status_code < 500


# Rule 2: what is a 400, and what is stored and routed anyway.


@pytest.mark.parametrize(
    "document",
    [[], "text", 42, None, {"object": "x"}, {"entry": "not a list"}, {"entry": {}}],
    ids=[
        "list",
        "string",
        "number",
        "null",
        "no-entry",
        "entry-string",
        "entry-object",
    ],
)
def test_json_that_is_not_an_envelope_is_400(
    client: httpx.Client, service: ServiceThread, document: object
) -> None:
    body = json.dumps(document).encode()

    response = client.post("/webhooks/meta", content=body, headers=meta_headers(body))

    assert_error(response, 400, "not_a_webhook")
    assert count(service, Event) == 0


@pytest.mark.parametrize(
    "body",
    [b"{", b"", b"\xff\xfe{}", b'{"a": 1}}', b"[" * 100_000 + b"]" * 100_000],
    ids=["truncated", "empty", "bad-utf8", "trailing", "deeply-nested"],
)
def test_a_body_that_is_not_json_is_415(client: httpx.Client, body: bytes) -> None:
    response = client.post("/webhooks/meta", content=body, headers=meta_headers(body))

    assert_error(response, 415, "body_not_json")


def test_odd_alerts_are_stored_and_routed_to_the_fallback_room(
    client: httpx.Client, service: ServiceThread
) -> None:
    odd = [
        {"alert_id": "rf-odd-1", "location": {"district": "Atlantis", "lat": "north"}},
        {"alert_id": "rf-odd-2", "risk": {"level": "apocalyptic"}, "location": [1, 2]},
        {"alert_id": 12345, "status": "maybe", "extra": {"unknown": True}},
        {"flagged_at": "yesterday"},
    ]
    body = meta_body(*odd)

    response = client.post("/webhooks/meta", content=body, headers=meta_headers(body))

    assert response.status_code == 200
    assert new_alerts(service, response) == 4
    atlantis = stored_alert(service, "rf-odd-1")
    assert atlantis["route_kind"] == "fallback"
    assert atlantis["route_flags"] == ["unrouted"]
    assert stored_alert(service, "12345")["payload"]["extra"] == {"unknown": True}
    assert "risk_level_unknown" in stored_alert(service, "rf-odd-2")["problems"]


def test_text_no_database_holds_is_stored_as_a_replacement_not_refused(
    client: httpx.Client, service: ServiceThread
) -> None:
    """Regression: one lone surrogate or NUL escape made the whole batch a 503 on
    SQLite and a 500 on PostgreSQL, every retry, so its alerts were never stored."""
    body = (
        b'{"object": "safety_alert", "entry": [{"id": "e", "time": 1760000000, '
        b'"changes": ['
        b'{"field": "red_flag", "value": {"alert_id": "rf-clean", "flagged_at": '
        b'"2025-10-09T14:20:05Z", "location": {"pincode": "324005"}}},'
        b'{"field": "red_flag", "value": {"alert_id": "rf-odd-\\ud800\\u0000", '
        b'"flagged_at": "2025-10-09T14:20:05Z", "subject": {"display_name": '
        b'"\\udfff Priya \\u0000"}, "location": {"district": "Ajmer\\u0000", '
        b'"lat": NaN, "lon": Infinity}, "\\u0000key": 1}}]}]}'
    )

    response = client.post("/webhooks/meta", content=body, headers=meta_headers(body))

    assert response.status_code == 200, response.text
    assert new_alerts(service, response) == 2
    odd = stored_alert(service, "rf-odd-\ufffd\ufffd")
    assert odd["payload"]["subject"]["display_name"] == "\ufffd Priya \ufffd"
    assert odd["rooms"]  # routed, like any other
    assert stored_alert(service, "rf-clean")["police_district"] == "Kota City"


def test_numbers_json_has_no_room_for_are_stored_exactly_or_as_null(
    client: httpx.Client, service: ServiceThread
) -> None:
    """Regression: orjson read an integer beyond 64 bits as a float, so two ids that
    differ in the last digit were one alert; and NaN beside such a number reached
    PostgreSQL's json column as NaN, which it refuses, so a 200 had no alert."""
    body = (
        b'{"object": "safety_alert", "entry": [{"id": "e", "time": 1760000000, '
        b'"changes": ['
        b'{"field": "red_flag", "value": {"alert_id": 123456789012345678901234567890,'
        b' "flagged_at": "2025-10-09T14:20:05Z", "score": NaN, "big": 1e400}},'
        b'{"field": "red_flag", "value": {"alert_id": 123456789012345678901234567891,'
        b' "flagged_at": "2025-10-09T14:20:05Z", "subject": {"account_id": '
        b'17841400000000000000001}, "location": {"lat": Infinity, "lon": -Infinity}}}'
        b"]}]}"
    )

    response = client.post("/webhooks/meta", content=body, headers=meta_headers(body))

    assert response.status_code == 200, response.text
    assert new_alerts(service, response) == 2
    first = stored_alert(service, "123456789012345678901234567890")
    second = stored_alert(service, "123456789012345678901234567891")
    assert (first["payload"]["score"], first["payload"]["big"]) == (None, None)
    assert second["payload"]["subject"]["account_id"] == 17841400000000000000001
    assert second["route_flags"] == ["unrouted"]


def test_a_batch_yields_one_alert_per_change_none_dropped(
    client: httpx.Client, service: ServiceThread
) -> None:
    document = {
        "object": "safety_alert",
        "entry": [
            {
                "id": f"e{e}",
                "time": 1760000000,
                "changes": [
                    {"field": "red_flag", "value": alert(f"rf-b{e}-{c}")}
                    for c in range(5)
                ],
            }
            for e in range(4)
        ],
    }
    body = json.dumps(document).encode()

    response = client.post("/webhooks/meta", content=body, headers=meta_headers(body))

    assert new_alerts(service, response) == 20
    assert count(service, Alert) == 20


def test_unknown_paths_and_methods_answer_in_the_error_shape(
    client: httpx.Client,
) -> None:
    assert_error(client.get("/nowhere"), 404, "not_found")
    assert_error(client.delete("/webhooks/meta"), 405, "method_not_allowed")
