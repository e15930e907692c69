"""Plain functions that build partner requests for tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from app.demo import DEMO_META_SECRETS, DEMO_STANDARD_SECRET
from app.settings import decode_whsec
from app.signatures import sign_standard


def alert(alert_id: str = "rf-test-1", **fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "alert_id": alert_id,
        "flagged_at": "2025-10-09T14:20:05+05:30",
        "platform": "instagram",
        "risk": {"category": "suicide", "level": "high"},
        "subject": {"username": "sample_user_01", "display_name": "Sample Student"},
        "content": {"excerpt": "अब और नहीं सहा जाता", "language": "hi"},
        "location": {"district": "Ajmer"},
        "contact": {"phone": "+919999900001"},
        "status": "actual",
    }
    value.update(fields)
    return value


def meta_body(*alerts: dict[str, Any], entry_time: int = 1760000000) -> bytes:
    changes = [{"field": "red_flag", "value": value} for value in alerts]
    document = {
        "object": "safety_alert",
        "entry": [{"id": "ent-0", "time": entry_time, "changes": changes}],
    }
    return json.dumps(document, ensure_ascii=False).encode()


def meta_signature(body: bytes, secret: str = DEMO_META_SECRETS[0]) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def meta_headers(body: bytes, **extra: str) -> dict[str, str]:
    return {
        "x-hub-signature-256": meta_signature(body),
        "content-type": "application/json",
        **extra,
    }


def standard_headers(
    body: bytes,
    *,
    message_id: str = "msg_test_1",
    timestamp: int | None = None,
    secret: str = DEMO_STANDARD_SECRET,
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = sign_standard(
        key=decode_whsec(secret), message_id=message_id, timestamp=timestamp, body=body
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def standard_body(value: dict[str, Any]) -> bytes:
    document = {
        "type": "red_flag.created",
        "timestamp": "2025-10-09T08:53:20Z",
        "data": value,
    }
    return json.dumps(document, ensure_ascii=False).encode()
