"""The tables. Every step after the first commit is driven by these rows.

- ``Event``: one signed POST from the partner, its bytes as received.
- ``Alert``: one flagged person per partner ``alert_id`` (unique, forever), with its
  placement and route.
- ``AlertRevision``: every later copy of an alert (retries, updates), applied or not.
- ``Delivery``: one message to one control room over one channel (the outbox).
- ``DeliveryAttempt``: each try of a delivery and what came of it.
- ``AlertRoom``: which rooms may see an alert; ``TimelineEntry``: what happened.
- ``ApiKey``, ``IdempotentResponse``, ``AckToken``, ``Handover``, ``ConsoleSession``:
  the control-room API's keys and replays, acknowledgement links, announced shift
  handovers, and signed-in consoles.

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
    __table_args__ = (
        # Only the events whose alerts are still to be written: what a pass reads.
        Index(
            "ix_events_waiting",
            "id",
            sqlite_where=text("expanded_at IS NULL"),
            postgresql_where=text("expanded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    endpoint: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(200))
    content_encoding: Mapped[str | None] = mapped_column(String(50))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    new_alert_count: Mapped[int] = mapped_column(Integer, default=0)
    # When its alerts were written; empty from the 2xx until then.
    expanded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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
    # Escalation: the policy as it was when the alert came in, the last step taken,
    # and when the next one falls due (None once a person has acknowledged).
    escalation_policy: Mapped[dict | None] = mapped_column(JSON)
    escalation_level: Mapped[int] = mapped_column(
        Integer, default=0, server_default=text("0")
    )
    next_escalation_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), index=True
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(32))
    resolution_note: Mapped[str | None] = mapped_column(String(2000))


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
        # The queue in the order claims take it, so a claim reads its few rows
        # instead of sorting every waiting one.
        Index(
            "ix_deliveries_queue",
            "created_at",
            "id",
            sqlite_where=text("state IN ('pending', 'sending')"),
            postgresql_where=text("state IN ('pending', 'sending')"),
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
    # Which escalation step planned it, and for a person (an officer on shift, a
    # duty officer) rather than a room, who and at which number.
    step: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    purpose: Mapped[str] = mapped_column(
        String(16), default="alert", server_default=text("'alert'")
    )
    recipient: Mapped[str | None] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(String(20))


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


class AlertRoom(Base):
    """A control room that may see and act on an alert: routed to it, or paged by
    an escalation step."""

    __tablename__ = "alert_rooms"

    alert_pk: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(32))


class TimelineEntry(Base):
    """One thing that happened to an alert. Rows are only ever added."""

    __tablename__ = "timeline"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(80))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    """A control room's (or an administrator's) key; only a hash is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    room_id: Mapped[str | None] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotentResponse(Base):
    """The answer to a write call, kept so a retry under the same key gets it again."""

    __tablename__ = "idempotent_responses"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ux_idempotent_responses", "principal", "key", unique=True),
    )


class AckToken(Base):
    """The token of an acknowledgement link: one alert, one recipient, a hash."""

    __tablename__ = "ack_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(80))
    room_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Handover(Base):
    """A shift start at a room whose open acknowledged alerts were announced."""

    __tablename__ = "handovers"

    room_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shift_start: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), primary_key=True
    )
    announced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    alerts: Mapped[int] = mapped_column(Integer)


class ConsoleSession(Base):
    """A signed-in console: the hash of its cookie and who it acts for."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    actor: Mapped[str] = mapped_column(String(80))
    room_id: Mapped[str | None] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The API key it was opened with, so revoking the key ends the session.
    key_id: Mapped[str] = mapped_column(String(48))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
