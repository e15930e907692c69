"""The outbox: delivery rows planned with the alert, claimed, tried, and settled.

A delivery is ``pending`` until a worker claims it; the claim makes it ``sending``
with a lease. A success makes it ``delivered``; a failure puts it back to
``pending`` with a later ``next_attempt_at``, or makes it ``dead`` when it cannot
succeed or has used its attempts. A worker that dies while holding a lease leaves the
row to whoever claims it after the lease runs out, with the same idempotency key.
"""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from app.models import Alert, Delivery, DeliveryAttempt, SmsMessage
from app.store import as_utc
from app.timeline import append, entry
from app.wakeup import notify_outbox

deliveries = Delivery.__table__
attempts = DeliveryAttempt.__table__
alerts = Alert.__table__
sms_messages = SmsMessage.__table__

_ALERT_COLUMNS = (
    alerts.c.ref,
    alerts.c.alert_id,
    alerts.c.received_at,
    alerts.c.flagged_at,
    alerts.c.payload,
    alerts.c.placement,
    alerts.c.district,
    alerts.c.police_district,
    alerts.c.risk_category,
    alerts.c.risk_level,
    alerts.c.status,
    alerts.c.route_kind,
    alerts.c.route_reason,
    alerts.c.route_flags,
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, for a bounded number of tries."""

    base_s: float = 1.0
    cap_s: float = 60.0
    max_attempts: int = 20

    def delay_s(self, attempt: int, *, retry_after_s: float | None = None) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, attempt - 1))
        delay = random.uniform(0, ceiling)
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.cap_s))
        return delay


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    alert_pk: int
    idempotency_key: str
    room_id: str
    channel: str
    attempt: int
    alert: dict[str, Any]
    # Set for a message to a person (an officer, an alternate number), not a room.
    recipient: str | None = None
    address: str | None = None
    purpose: str = "alert"
    # An SMS's acknowledgement link token (see app.ack_links); only its hash is kept.
    link_token: str | None = None


def plan_rows(
    *, alert_pk: int, room_channels: list[tuple[str, str]], now: datetime
) -> list[dict[str, Any]]:
    """One pending delivery per (room, channel), due at once."""
    return [
        {
            "alert_pk": alert_pk,
            "room_id": room_id,
            "channel": channel,
            "idempotency_key": "msg_" + uuid.uuid4().hex,
            "state": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        }
        for room_id, channel in room_channels
    ]


def claim_due(
    conn: Connection, *, now: datetime, lease_s: float, limit: int
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries, oldest first, and return them.

    An endpoint (a room's channel) that has been failing is retried through its
    oldest waiting delivery only; the others queue behind it and follow, oldest
    first, once it gets through. A healthy endpoint takes deliveries in parallel.
    """
    pick, lease, read = _claim_statements(conn.dialect.name)
    ids = list(conn.execute(pick, {"now": now, "limit": limit}).scalars())
    if not ids:
        return []

    conn.execute(lease, {"ids": ids, "lease_until": now + timedelta(seconds=lease_s)})
    rows = conn.execute(read, {"ids": ids}).mappings()
    return [
        Claimed(
            delivery_id=row["id"],
            alert_pk=row["alert_pk"],
            idempotency_key=row["idempotency_key"],
            room_id=row["room_id"],
            channel=row["channel"],
            attempt=row["attempts"],
            recipient=row["recipient"],
            address=row["address"],
            purpose=row["purpose"],
            alert={column.name: row[column.name] for column in _ALERT_COLUMNS}
            | {"received_at": as_utc(row["received_at"])},
        )
        for row in rows
    ]


@functools.cache
def _claim_statements(dialect: str) -> tuple[Any, Any, Any]:
    """The claim's three statements, built once: pick the due ids, lease them, and
    read them with their alerts."""
    now = bindparam("now")
    due = or_(
        and_(deliveries.c.state == "pending", deliveries.c.next_attempt_at <= now),
        and_(deliveries.c.state == "sending", deliveries.c.lease_until < now),
    )
    older = deliveries.alias("older")
    failing_ahead = (
        select(older.c.id)
        .where(older.c.room_id == deliveries.c.room_id)
        .where(older.c.channel == deliveries.c.channel)
        .where(older.c.state.in_(("pending", "sending")))
        .where(older.c.last_error.is_not(None))
        .where(
            or_(
                older.c.created_at < deliveries.c.created_at,
                and_(
                    older.c.created_at == deliveries.c.created_at,
                    older.c.id < deliveries.c.id,
                ),
            )
        )
        .exists()
    )
    pick = (
        select(deliveries.c.id)
        .where(due)
        .where(~failing_ahead)
        .order_by(deliveries.c.created_at, deliveries.c.id)
        .limit(bindparam("limit"))
    )
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)

    chosen = deliveries.c.id.in_(bindparam("ids", expanding=True))
    lease = (
        update(deliveries)
        .where(chosen)
        .values(
            state="sending",
            lease_until=bindparam("lease_until"),
            attempts=deliveries.c.attempts + 1,
        )
    )
    read = (
        select(
            deliveries.c.id,
            deliveries.c.alert_pk,
            deliveries.c.idempotency_key,
            deliveries.c.room_id,
            deliveries.c.channel,
            deliveries.c.attempts,
            deliveries.c.recipient,
            deliveries.c.address,
            deliveries.c.purpose,
            *_ALERT_COLUMNS,
        )
        .join(alerts, alerts.c.id == deliveries.c.alert_pk)
        .where(chosen)
        .order_by(deliveries.c.created_at, deliveries.c.id)
    )
    return pick, lease, read


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to, as the worker reports it."""

    started_at: datetime
    finished_at: datetime
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    retryable: bool = True
    retry_after_s: float | None = None
    provider_message_id: str | None = None
    gateway: str | None = None
    messages: tuple[tuple[str, str], ...] = ()


def record_outcomes(
    conn: Connection, *, settled: list[tuple[Claimed, Outcome]], policy: RetryPolicy
) -> list[tuple[str, datetime | None]]:
    """Store each attempt and move each delivery on, in a few statements for the
    whole batch; return each delivery's new state and next try."""
    plans = [_plan(claimed, outcome, policy) for claimed, outcome in settled]

    conn.execute(
        insert(attempts),
        [
            {
                "delivery_id": claimed.delivery_id,
                "number": claimed.attempt,
                "started_at": outcome.started_at,
                "finished_at": outcome.finished_at,
                "outcome": state if state != "pending" else "retry",
                "status_code": outcome.status_code,
                "error": outcome.error,
                "duration_ms": (
                    outcome.finished_at - outcome.started_at
                ).total_seconds()
                * 1000,
            }
            for (claimed, outcome), (state, _) in zip(settled, plans, strict=True)
        ],
    )
    # A lease taken over by another worker is not ours to settle.
    moved = conn.execute(
        _SETTLE,
        [
            {
                "p_id": claimed.delivery_id,
                "p_attempts": claimed.attempt,
                "p_state": state,
                "p_next": next_at,
                "p_delivered_at": outcome.finished_at if outcome.delivered else None,
                "p_provider_id": outcome.provider_message_id,
                "p_gateway": outcome.gateway,
                "p_error": None if outcome.delivered else outcome.error,
            }
            for (claimed, outcome), (state, next_at) in zip(settled, plans, strict=True)
        ],
    ).rowcount
    lost = _lost_leases(conn, settled, plans) if moved != len(settled) else set()

    results: list[tuple[str, datetime | None]] = []
    messages, dead_alerts = [], set()
    for (claimed, outcome), (state, next_at) in zip(settled, plans, strict=True):
        if claimed.delivery_id in lost:
            results.append(("superseded", None))
            continue
        results.append((state, next_at))
        messages += [
            {
                "delivery_id": claimed.delivery_id,
                "gateway": outcome.gateway,
                "provider_message_id": message_id,
                "recipient": recipient,
                "report_state": "accepted",
                "updated_at": outcome.finished_at,
            }
            for recipient, message_id in outcome.messages
        ]
        if state == "dead":
            dead_alerts.add(claimed.alert_pk)
        if not outcome.delivered:
            _expedite_other_channels(conn, claimed=claimed, now=outcome.finished_at)
        elif claimed.attempt > 1:
            # Only a delivery that had failed can have had others queued behind it.
            _release_queue_behind(conn, claimed=claimed, now=outcome.finished_at)

    if messages:
        conn.execute(insert(sms_messages), messages)
    if dead_alerts:
        conn.execute(
            update(alerts).where(alerts.c.id.in_(dead_alerts)).values(undelivered=True)
        )
        _hurry_failed_steps(conn, alert_pks=dead_alerts, now=settled[0][1].finished_at)
    return results


def _hurry_failed_steps(
    conn: Connection, *, alert_pks: set[int], now: datetime
) -> None:
    """An alert whose current escalation step has no message left that may still
    arrive takes its next step at once instead of waiting for its time. (Repeats
    keep their interval.)"""
    still_live = (
        select(deliveries.c.id)
        .where(deliveries.c.alert_pk == alerts.c.id)
        .where(deliveries.c.step == alerts.c.escalation_level)
        .where(deliveries.c.state.in_(("pending", "sending", "delivered")))
        .exists()
    )
    candidates = conn.execute(
        select(alerts.c.id, alerts.c.escalation_level, alerts.c.escalation_policy)
        .where(alerts.c.id.in_(alert_pks))
        .where(alerts.c.state == "notifying")
        .where(alerts.c.next_escalation_at > now)
        .where(~still_live)
    ).all()
    hurried = [
        row
        for row in candidates
        if row.escalation_level + 1
        < len((row.escalation_policy or {}).get("steps", []))
    ]
    if not hurried:
        return
    conn.execute(
        update(alerts)
        .where(alerts.c.id.in_([row.id for row in hurried]))
        .where(alerts.c.state == "notifying")
        .values(next_escalation_at=now)
    )
    append(
        conn,
        [
            entry(row.id, at=now, kind="step_failed", level=row.escalation_level)
            for row in hurried
        ],
    )


def record_outcome(
    conn: Connection, *, claimed: Claimed, outcome: Outcome, policy: RetryPolicy
) -> tuple[str, datetime | None]:
    """``record_outcomes`` for one delivery."""
    return record_outcomes(conn, settled=[(claimed, outcome)], policy=policy)[0]


def _plan(
    claimed: Claimed, outcome: Outcome, policy: RetryPolicy
) -> tuple[str, datetime | None]:
    if outcome.delivered:
        return "delivered", None
    if not outcome.retryable or claimed.attempt >= policy.max_attempts:
        return "dead", None
    delay = policy.delay_s(claimed.attempt, retry_after_s=outcome.retry_after_s)
    return "pending", outcome.finished_at + timedelta(seconds=delay)


def _lost_leases(
    conn: Connection,
    settled: list[tuple[Claimed, Outcome]],
    plans: list[tuple[str, datetime | None]],
) -> set[int]:
    """The deliveries of a batch that another worker had claimed meanwhile."""
    wanted = {
        claimed.delivery_id: (state, claimed.attempt)
        for (claimed, _), (state, _) in zip(settled, plans, strict=True)
    }
    rows = conn.execute(
        select(deliveries.c.id, deliveries.c.state, deliveries.c.attempts).where(
            deliveries.c.id.in_(wanted)
        )
    )
    return {row.id for row in rows if (row.state, row.attempts) != wanted[row.id]}


_SETTLE = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("p_id"))
    .where(deliveries.c.state == "sending")
    .where(deliveries.c.attempts == bindparam("p_attempts"))
    .values(
        state=bindparam("p_state"),
        lease_until=None,
        next_attempt_at=func.coalesce(
            bindparam("p_next", type_=deliveries.c.next_attempt_at.type),
            deliveries.c.next_attempt_at,
        ),
        delivered_at=func.coalesce(
            bindparam("p_delivered_at", type_=deliveries.c.delivered_at.type),
            deliveries.c.delivered_at,
        ),
        provider_message_id=func.coalesce(
            bindparam("p_provider_id", type_=deliveries.c.provider_message_id.type),
            deliveries.c.provider_message_id,
        ),
        gateway=func.coalesce(
            bindparam("p_gateway", type_=deliveries.c.gateway.type),
            deliveries.c.gateway,
        ),
        last_error=bindparam("p_error", type_=deliveries.c.last_error.type),
    )
)


def _release_queue_behind(conn: Connection, *, claimed: Claimed, now: datetime) -> None:
    """The endpoint got one through: what waited behind it is due now."""
    conn.execute(
        update(deliveries)
        .where(deliveries.c.room_id == claimed.room_id)
        .where(deliveries.c.channel == claimed.channel)
        .where(deliveries.c.state == "pending")
        .where(deliveries.c.next_attempt_at > now)
        .values(next_attempt_at=now)
    )


def _expedite_other_channels(
    conn: Connection, *, claimed: Claimed, now: datetime
) -> None:
    """A channel in trouble hands over at once: the room's other channels waiting
    in backoff become due now, instead of after their own wait."""
    conn.execute(
        update(deliveries)
        .where(deliveries.c.alert_pk == claimed.alert_pk)
        .where(deliveries.c.room_id == claimed.room_id)
        .where(deliveries.c.id != claimed.delivery_id)
        .where(deliveries.c.state == "pending")
        .where(deliveries.c.next_attempt_at > now)
        .values(next_attempt_at=now)
    )


def replay_dead(
    conn: Connection,
    *,
    now: datetime,
    alert_id: str | None = None,
    room_id: str | None = None,
) -> int:
    """Put dead deliveries back in the queue, due now, with their idempotency keys;
    by alert, by room, or all of them. Returns how many."""
    query = update(deliveries).where(deliveries.c.state == "dead")
    if alert_id is not None:
        alert_pks = select(alerts.c.id).where(alerts.c.alert_id == alert_id)
        query = query.where(deliveries.c.alert_pk.in_(alert_pks))
    if room_id is not None:
        query = query.where(deliveries.c.room_id == room_id)
    replayed = conn.execute(
        query.values(
            state="pending", attempts=0, next_attempt_at=now, lease_until=None
        ).returning(deliveries.c.alert_pk)
    ).all()
    alert_pks = {row[0] for row in replayed}
    if alert_pks:
        notify_outbox(conn)
        still_dead = select(deliveries.c.alert_pk).where(deliveries.c.state == "dead")
        conn.execute(
            update(alerts)
            .where(alerts.c.id.in_(alert_pks))
            .where(alerts.c.id.not_in(still_dead))
            .values(undelivered=False)
        )
    return len(replayed)


def release_leases(conn: Connection) -> int:
    """Make every leased delivery due again (at start-up, with one process only)."""
    result = conn.execute(
        update(deliveries)
        .where(deliveries.c.state == "sending")
        .values(state="pending", lease_until=None)
    )
    return result.rowcount or 0


def delivery_counts(conn: Connection) -> dict[str, int]:
    """How many deliveries are in each state (every state listed, zero or not)."""
    counts = dict.fromkeys(("pending", "sending", "delivered", "dead"), 0)
    rows = conn.execute(
        select(deliveries.c.state, func.count()).group_by(deliveries.c.state)
    )
    counts.update({state: n for state, n in rows})
    return counts


def next_due_at(conn: Connection) -> datetime | None:
    earliest = conn.execute(
        select(func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.state == "pending"
        )
    ).scalar_one_or_none()
    return as_utc(earliest)
