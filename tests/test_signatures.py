"""Signature checks, called directly: constant-time, every secret, never a crash."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.clock import FrozenClock
from app.errors import SignatureInvalid
from app.settings import decode_whsec
from app.signatures import sign_standard, verify_meta, verify_standard

KEYS = [b"current-secret", b"previous-secret"]
BODY = b'{"alert_id": "rf-1"}'
WHSEC = "whsec_cmFqYXN0aGFuLWFsZXJ0LXRlc3Qta2V5LTMyYnl0ZXM="
T0 = 1760000000


def meta_header(key: bytes, body: bytes = BODY) -> str:
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def standard(body: bytes = BODY, *, key: bytes | None = None, ts: int = T0) -> dict:
    key = decode_whsec(WHSEC) if key is None else key
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_standard(
            key=key, message_id="msg_1", timestamp=ts, body=body
        ),
    }


def check_standard(headers: dict, body: bytes = BODY, *, now: int = T0) -> str:
    return verify_standard(
        body=body,
        headers=headers,
        keys=[decode_whsec(WHSEC)],
        clock=FrozenClock(datetime.fromtimestamp(now, UTC)),
        tolerance_s=300,
    )


@pytest.mark.parametrize("key", KEYS, ids=["current", "previous"])
def test_meta_accepts_every_configured_secret(key: bytes) -> None:
    verify_meta(body=BODY, header=meta_header(key), keys=KEYS)


def test_meta_accepts_upper_case_hex_and_prefix() -> None:
    header = meta_header(KEYS[0]).upper().replace("SHA256=", "SHA256=")

    verify_meta(body=BODY, header=header, keys=KEYS)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=abc",
        "sha256=zz",
        "sha256=" + "00" * 32,
        meta_header(b"wrong-secret"),
        "sha256=" + "a" * 10_000,
    ],
    ids=["missing", "empty", "no-hex", "sha1", "not-hex", "zeros", "wrong-key", "huge"],
)
def test_meta_refuses_bad_headers(header: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        verify_meta(body=BODY, header=header, keys=KEYS)


def test_meta_missing_header_has_its_own_code() -> None:
    with pytest.raises(SignatureInvalid) as caught:
        verify_meta(body=BODY, header=None, keys=KEYS)

    assert caught.value.code == "signature_missing"


@given(st.text(max_size=300))
def test_meta_never_raises_anything_but_signature_invalid(header: str) -> None:
    with pytest.raises(SignatureInvalid):
        verify_meta(body=BODY, header=header, keys=KEYS)


def test_standard_accepts_a_signed_message_and_returns_its_id() -> None:
    assert check_standard(standard()) == "msg_1"


def test_standard_accepts_any_of_several_signatures() -> None:
    headers = standard()
    headers["webhook-signature"] = "v1,AAAA v2,xyz " + headers["webhook-signature"]

    assert check_standard(headers) == "msg_1"


def test_standard_keys_with_the_decoded_secret_not_its_text() -> None:
    """F3: keyed with the whole 'whsec_...' text or the undecoded base64: refused."""
    for wrong_key in (WHSEC.encode(), WHSEC.removeprefix("whsec_").encode()):
        with pytest.raises(SignatureInvalid):
            check_standard(standard(key=wrong_key))


@pytest.mark.parametrize("skew", [-301, 301, -10_000_000])
def test_standard_refuses_a_timestamp_outside_tolerance(skew: int) -> None:
    with pytest.raises(SignatureInvalid) as caught:
        check_standard(standard(), now=T0 + skew)

    assert caught.value.code == "timestamp_out_of_tolerance"


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_standard_accepts_a_timestamp_at_the_edge_of_tolerance(skew: int) -> None:
    assert check_standard(standard(), now=T0 + skew) == "msg_1"


@pytest.mark.parametrize(
    "timestamp",
    ["9" * 400, "1e9", "-1760000000", "١٧٦٠٠٠٠٠٠٠", " ", "1760000000.5"],
)
def test_standard_refuses_a_timestamp_that_is_not_seconds(timestamp: str) -> None:
    """Regression: 400 nines overflowed the comparison into a 500."""
    headers = standard() | {"webhook-timestamp": timestamp}

    with pytest.raises(SignatureInvalid):
        check_standard(headers)


def test_standard_refuses_a_body_changed_after_signing() -> None:
    with pytest.raises(SignatureInvalid):
        check_standard(standard(), body=BODY + b" ")


@given(
    st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature"]),
        st.text(max_size=200),
    )
)
def test_standard_never_raises_anything_but_signature_invalid(headers: dict) -> None:
    with pytest.raises(SignatureInvalid):
        check_standard(headers)


def test_sign_standard_matches_the_published_scheme() -> None:
    key = decode_whsec(WHSEC)
    expected = base64.b64encode(
        hmac.new(key, b"msg_1.1760000000." + BODY, hashlib.sha256).digest()
    ).decode()

    assert sign_standard(key=key, message_id="msg_1", timestamp=T0, body=BODY) == (
        "v1," + expected
    )
