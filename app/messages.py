"""What a control room's HTTP endpoint is sent: the JSON alert.

The document goes only to a configured room's endpoint, signed, and carries what the
room needs to find the person. (The SMS pager text is built in
``app.notifiers.sms``; it never carries personal data.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

SCHEMA_VERSION = 1
_PERSONAL_SECTIONS = ("subject", "content", "location", "contact")


def alert_document(
    *,
    alert: dict[str, Any],
    room_id: str,
    channel: str,
    idempotency_key: str,
    link: str,
) -> dict[str, Any]:
    """The JSON body an HTTP control room receives for one delivery."""
    payload = alert["payload"]
    test = "TEST " if alert["status"] == "test" else ""
    district = alert["district"] or "unplaced"
    risk = (alert["risk_level"] or "unknown").upper()
    document: dict[str, Any] = {
        "type": "red_flag.alert",
        "headline": f"{test}RED FLAG {alert['ref']}: {district}, risk {risk}",
        "version": SCHEMA_VERSION,
        "reference": alert["ref"],
        "alert_id": alert["alert_id"],
        "idempotency_key": idempotency_key,
        "room": room_id,
        "status": alert["status"],
        "received_at": _iso(alert["received_at"]),
        "flagged_at": alert["flagged_at"],
        "risk": {"category": alert["risk_category"], "level": alert["risk_level"]},
        "placement": {
            "district": alert["district"],
            "police_district": alert["police_district"],
            "confidence": alert["placement"].get("confidence"),
            "flags": alert["placement"].get("flags", []),
        },
        "route": {
            "kind": alert["route_kind"],
            "reason": alert["route_reason"],
            "flags": alert["route_flags"],
        },
        "link": link,
    }
    for section in _PERSONAL_SECTIONS:
        if isinstance(payload.get(section), dict):
            document[section] = payload[section]
    if isinstance(payload.get("platform"), str):
        document["platform"] = payload["platform"]
    return document


def alert_link(*, public_base_url: str, ref: str) -> str:
    """The alert's page in the console, where the room signs in and works it."""
    return f"{public_base_url.rstrip('/')}/console/alerts/{ref}"


def _iso(value: datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()
