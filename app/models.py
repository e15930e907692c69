"""The tables. Every step after the first commit is driven by these rows.

- ``Event``: one signed POST from the partner, its bytes as received.
- ``Alert``: one flagged person per partner ``alert_id`` (unique, forever), with its
  placement and route.
- ``AlertRevision``: every later copy of an alert (retries, updates), applied or not.
- ``Delivery``: one message to one control room over one channel (the outbox).
- ``DeliveryAttempt``: each try of a delivery and what came of it.

Times are stored in UTC. JSON columns hold text written by the service itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only makes INTEGER PRIMARY KEY an alias of its rowid; BIGINT elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    endpoint: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(200))
    content_encoding: Mapped[str | None] = mapped_column(String(50))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    new_alert_count: Mapped[int] = mapped_column(Integer, default=0)


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(200), unique=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flagged_at: Mapped[str | None] = mapped_column(String(64))
    partner_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    risk_category: Mapped[str | None] = mapped_column(String(32))
    risk_level: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="actual")
    payload: Mapped[dict] = mapped_column(JSON)
    problems: Mapped[list] = mapped_column(JSON, default=list)
    placement: Mapped[dict] = mapped_column(JSON)
    district: Mapped[str | None] = mapped_column(String(64))
    police_district: Mapped[str | None] = mapped_column(String(64))
    route_kind: Mapped[str] = mapped_column(String(16))
    route_reason: Mapped[str] = mapped_column(String(64))
    route_flags: Mapped[list] = mapped_column(JSON, default=list)
    rooms: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="routed")
    copies_received: Mapped[int] = mapped_column(Integer, default=1)
    undelivered: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )


class AlertRevision(Base):
    __tablename__ = "alert_revisions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    partner_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    risk_level: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        # Only deliveries of endpoints in trouble: small, and what claims look at.
        Index(
            "ix_deliveries_failing",
            "room_id",
            "channel",
            "created_at",
            sqlite_where=text("last_error IS NOT NULL"),
            postgresql_where=text("last_error IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    room_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(64))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    gateway: Mapped[str | None] = mapped_column(String(16))
    report_state: Mapped[str | None] = mapped_column(String(16))


class SmsMessage(Base):
    """One SMS a gateway accepted for one recipient of a delivery."""

    __tablename__ = "sms_messages"
    __table_args__ = (
        Index("ix_sms_messages_provider", "gateway", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    gateway: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    recipient: Mapped[str] = mapped_column(String(20))
    report_state: Mapped[str] = mapped_column(String(16), default="accepted")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeliveryReport(Base):
    """A gateway's delivery report as received; unmatched ones wait for a human."""

    __tablename__ = "delivery_reports"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    gateway: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str] = mapped_column(String(128))
    recipient: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16))
    raw_status: Mapped[str] = mapped_column(String(64))
    sms_message_id: Mapped[int | None] = mapped_column(ForeignKey("sms_messages.id"))
    outcome: Mapped[str] = mapped_column(String(16))


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[float] = mapped_column(Float)
