"""Delivery reports from the SMS gateways: parsed, matched, and applied forward only.

A report moves an SMS's state only forward (accepted < queued < sent < delivered or
failed): a late "sent" never overwrites "delivered". A report whose message id is not
known is kept, unmatched, for reconciliation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from app.errors import NotAWebhook
from app.models import Delivery, DeliveryReport, SmsMessage

sms_messages = SmsMessage.__table__
reports = DeliveryReport.__table__
deliveries = Delivery.__table__

RANK = {"accepted": 0, "queued": 1, "sent": 2, "delivered": 3, "failed": 3}

# MSG91's delivery-report status codes.
MSG91_STATUSES = {
    "1": "delivered",
    "2": "failed",
    "8": "sent",
    "9": "failed",  # the number is on the do-not-disturb registry
    "16": "failed",  # rejected
    "17": "failed",  # blocked
    "25": "failed",
    "26": "failed",
}
TWILIO_STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}


@dataclass(frozen=True, slots=True)
class Report:
    gateway: str
    provider_message_id: str
    recipient: str | None
    status: str
    raw_status: str


def parse_msg91(document: Any) -> list[Report]:
    """``[{"requestId", "report": [{"number", "status", "desc"}]}]`` or one such
    object."""
    items = document if isinstance(document, list) else [document]
    found = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("report"), list):
            raise NotAWebhook("A MSG91 report needs 'requestId' and a 'report' list.")
        request_id = str(item.get("requestId") or "")[:128]
        for line in item["report"]:
            if not isinstance(line, dict):
                continue
            raw = str(line.get("status", ""))[:64]
            number = str(line.get("number") or "").lstrip("+")[-12:]
            found.append(
                Report(
                    gateway="msg91",
                    provider_message_id=request_id,
                    recipient="+" + number if number else None,
                    status=MSG91_STATUSES.get(raw, "unknown"),
                    raw_status=raw,
                )
            )
    return found


def parse_twilio(form: Mapping[str, str]) -> list[Report]:
    sid = form.get("MessageSid") or form.get("SmsSid")
    raw = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not sid:
        raise NotAWebhook("A Twilio status callback needs a MessageSid.")
    return [
        Report(
            gateway="twilio",
            provider_message_id=sid[:128],
            recipient=(form.get("To") or None),
            status=TWILIO_STATUSES.get(raw, "unknown"),
            raw_status=raw[:64],
        )
    ]


def twilio_signature(*, auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature``: HMAC-SHA1 of the URL and the sorted fields."""
    signed = url + "".join(key + form[key] for key in sorted(form))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def record_reports(conn: Connection, *, batch: list[Report], now: datetime) -> dict:
    """Store each report and apply it where it moves a state forward."""
    outcomes = {"applied": 0, "stale": 0, "unmatched": 0}
    for report in batch:
        outcome, message_id = _apply(conn, report=report, now=now)
        outcomes[outcome] += 1
        conn.execute(
            insert(reports).values(
                received_at=now,
                gateway=report.gateway,
                provider_message_id=report.provider_message_id,
                recipient=report.recipient,
                status=report.status,
                raw_status=report.raw_status,
                sms_message_id=message_id,
                outcome=outcome,
            )
        )
    return outcomes


def _apply(
    conn: Connection, *, report: Report, now: datetime
) -> tuple[str, int | None]:
    query = select(
        sms_messages.c.id, sms_messages.c.delivery_id, sms_messages.c.report_state
    ).where(
        sms_messages.c.gateway == report.gateway,
        sms_messages.c.provider_message_id == report.provider_message_id,
    )
    if report.recipient and report.gateway == "msg91":
        query = query.where(sms_messages.c.recipient == report.recipient)
    message = conn.execute(query).first()
    if message is None:
        return "unmatched", None

    current = RANK.get(message.report_state, 0)
    if report.status not in RANK or current == 3 or RANK[report.status] <= current:
        return "stale", message.id
    conn.execute(
        update(sms_messages)
        .where(sms_messages.c.id == message.id)
        .values(report_state=report.status, updated_at=now)
    )
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == message.delivery_id)
        .values(report_state=report.status)
    )
    return "applied", message.id
