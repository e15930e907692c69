"""Signature checks over the exact bytes received, before anything parses them.

Both schemes compare in constant time against every configured secret, so a secret
can be rotated by configuring the new one beside the old. Nothing here raises
anything but ``SignatureInvalid``, whatever the headers hold.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from app.clock import Clock
from app.errors import SignatureInvalid

META_HEADER = "x-hub-signature-256"
_META_PREFIX = "sha256="
_MAX_SIGNATURES = 16


def verify_meta(*, body: bytes, header: str | None, keys: Sequence[bytes]) -> None:
    """Check ``X-Hub-Signature-256: sha256=<hex>`` against each app secret."""
    if not header:
        raise SignatureInvalid(
            "The X-Hub-Signature-256 header is missing.", code="signature_missing"
        )
    value = header.strip()
    if value[: len(_META_PREFIX)].lower() != _META_PREFIX:
        raise SignatureInvalid()
    try:
        given = bytes.fromhex(value[len(_META_PREFIX) :])
    except ValueError:
        raise SignatureInvalid() from None

    matched = False
    for key in keys:
        expected = hmac.new(key, body, hashlib.sha256).digest()
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise SignatureInvalid()


def sign_standard(*, key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of a Standard Webhooks message."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_standard(
    *,
    body: bytes,
    headers: Mapping[str, str],
    keys: Sequence[bytes],
    clock: Clock,
    tolerance_s: int,
) -> str:
    """Check a Standard Webhooks request; return its ``webhook-id``.

    ``headers`` must look names up without regard to case (Starlette's do).
    """
    message_id = headers.get("webhook-id")
    timestamp_text = headers.get("webhook-timestamp")
    signature_header = headers.get("webhook-signature")
    if not message_id or not timestamp_text or not signature_header:
        raise SignatureInvalid(
            "The webhook-id, webhook-timestamp and webhook-signature headers are "
            "required.",
            code="signature_missing",
        )

    # Seconds since 1970 in at most 12 digits: a longer number is no timestamp, and
    # a huge one would overflow the comparison below.
    text = timestamp_text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        raise SignatureInvalid("The webhook-timestamp is not a number of seconds.")
    timestamp = int(text)
    now = clock.now().timestamp()
    if abs(now - timestamp) > tolerance_s:
        raise SignatureInvalid(
            "The webhook-timestamp is outside the accepted tolerance.",
            code="timestamp_out_of_tolerance",
        )

    given = _standard_signatures(signature_header)
    signed = f"{message_id}.{timestamp_text.strip()}.".encode() + body
    matched = False
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        for candidate in given:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureInvalid()
    return message_id


def _standard_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` signatures of a header; other versions are skipped."""
    found = []
    for part in header.split()[:_MAX_SIGNATURES]:
        version, _, encoded = part.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found
