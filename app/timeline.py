"""The timeline: an append-only record of everything that happened to an alert.

Entries written here cover the alert's life (received, placed, routed, each
escalation step, acknowledgements, handovers, resolution). Delivery attempts and
gateway reports already have rows of their own, which are never changed either;
``read_timeline`` merges the three in time order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from app.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryReport,
    SmsMessage,
    TimelineEntry,
)
from app.store import as_utc

timeline = TimelineEntry.__table__
SYSTEM = "system"


def entry(
    alert_pk: int, *, at: datetime, kind: str, actor: str = SYSTEM, **detail: Any
) -> dict[str, Any]:
    return {
        "alert_pk": alert_pk,
        "at": at,
        "kind": kind,
        "actor": actor[:80],
        "detail": detail,
    }


_INSERT = insert(timeline)


def append(conn: Connection, entries: list[dict[str, Any]]) -> None:
    if entries:
        conn.execute(_INSERT, entries)


def read_timeline(conn: Connection, alert_pk: int) -> list[dict[str, Any]]:
    """Every entry of one alert, oldest first."""
    items: list[dict[str, Any]] = [
        {
            "at": as_utc(row.at),
            "kind": row.kind,
            "actor": row.actor,
            "detail": row.detail or {},
        }
        for row in conn.execute(select(timeline).where(timeline.c.alert_pk == alert_pk))
    ]

    deliveries = Delivery.__table__
    attempts = DeliveryAttempt.__table__
    for row in conn.execute(
        select(
            attempts.c.finished_at,
            attempts.c.number,
            attempts.c.outcome,
            attempts.c.status_code,
            attempts.c.error,
            deliveries.c.room_id,
            deliveries.c.channel,
            deliveries.c.step,
            deliveries.c.recipient,
        )
        .join(deliveries, deliveries.c.id == attempts.c.delivery_id)
        .where(deliveries.c.alert_pk == alert_pk)
    ):
        items.append(
            {
                "at": as_utc(row.finished_at),
                "kind": "delivery_attempt",
                "actor": SYSTEM,
                "detail": {
                    "room": row.room_id,
                    "channel": row.channel,
                    "step": row.step,
                    "recipient": _kind_of(row.recipient),
                    "attempt": row.number,
                    "outcome": row.outcome,
                    "status_code": row.status_code,
                    "error": row.error,
                },
            }
        )

    messages = SmsMessage.__table__
    reports = DeliveryReport.__table__
    for row in conn.execute(
        select(
            reports.c.received_at,
            reports.c.gateway,
            reports.c.status,
            reports.c.outcome,
            deliveries.c.room_id,
            deliveries.c.step,
        )
        .join(messages, messages.c.id == reports.c.sms_message_id)
        .join(deliveries, deliveries.c.id == messages.c.delivery_id)
        .where(deliveries.c.alert_pk == alert_pk)
    ):
        items.append(
            {
                "at": as_utc(row.received_at),
                "kind": "delivery_report",
                "actor": row.gateway,
                "detail": {
                    "room": row.room_id,
                    "step": row.step,
                    "status": row.status,
                    "outcome": row.outcome,
                },
            }
        )
    items.sort(key=lambda item: item["at"])
    return items


def _kind_of(recipient: str | None) -> str:
    """What kind of recipient, without the number or the person's name."""
    if recipient is None:
        return "room"
    return recipient.split(":", 1)[0]
