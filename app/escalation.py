"""Escalation: keep paging, and paging higher, until a person acknowledges.

Every step is driven by the alert's row: ``escalation_level`` is the last step
taken and ``next_escalation_at`` when the next one falls due. Taking a step first
moves the row on with a conditional update (``state = 'notifying'`` and the level
it expects), so an acknowledgement that races a step, or two processes that race
each other, end in exactly one outcome: either the step is taken and its pages are
planned in the same transaction, or the alert was acknowledged first and nothing is
sent.

The messages of a step are ordinary outbox deliveries, sent, retried and failed over
by the delivery worker. A step whose roster slot is empty, or that finds nobody to
page, makes the next step due at once and says why in the timeline; a step whose
every delivery has died does the same (see ``app.outbox``).

Shift handovers: when a shift starts, every alert a room has acknowledged but not
resolved is announced to the officers coming on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.clock import Clock
from app.errors import RelayError
from app.escalation_policy import EscalationPolicy, Notify
from app.logs import crash_fields
from app.metrics import ESCALATIONS
from app.models import Alert, AlertRoom, Handover
from app.outbox import deliveries, plan_rows
from app.room_config import RoomsConfig
from app.roster import Roster
from app.store import Store, as_utc
from app.timeline import append, entry
from app.wakeup import notify_outbox

log = structlog.get_logger(__name__)

alerts = Alert.__table__
alert_rooms = AlertRoom.__table__
handovers = Handover.__table__

# A handover is announced only this long after the shift started; a process that
# starts later in the shift does not announce it late.
HANDOVER_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Page:
    """One message a step sends: to a room's channel, or by SMS to a person."""

    room_id: str
    channel: str
    target: str
    recipient: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class Paging:
    """What an escalation step needs besides the database."""

    rooms: RoomsConfig
    roster: Roster


def pages_for(
    notify: list[Notify], *, routed: list[str], paging: Paging, at: datetime
) -> tuple[list[Page], list[str]]:
    """The pages of one step, and a reason for each target that found nobody."""
    rooms = paging.rooms
    pages: list[Page] = []
    gaps: list[str] = []
    for item in notify:
        if item.target in ("routed_room", "fallback_room"):
            targets = routed if item.target == "routed_room" else [rooms.fallback_room]
            for room_id in targets:
                room = rooms.room(room_id)
                usable = [c for c in item.channels if c in room.channels]
                if not usable:
                    gaps.append(
                        f"{item.target} {room_id}: no channel among {item.channels}"
                    )
                pages += [Page(room_id, channel, item.target) for channel in usable]
            continue
        if not rooms.sms_enabled:
            gaps.append(f"{item.target}: SMS is off")
            continue
        for room_id in routed:
            found = _people_pages(item.target, room_id=room_id, paging=paging, at=at)
            if isinstance(found, str):
                gaps.append(found)
            else:
                pages += found
    return pages, gaps


def _people_pages(
    target: str, *, room_id: str, paging: Paging, at: datetime
) -> list[Page] | str:
    roster = paging.roster
    if target == "on_shift":
        slot = roster.on_shift(room_id, at)
        if not slot.people:
            return f"on_shift {room_id}: nobody on the {slot.shift} shift"
        return [
            Page(room_id, "sms", target, f"person:{person.id}", person.phone)
            for person in slot.people
        ]
    if target == "room_alternate":
        numbers = roster.alternate_sms(room_id)
        if not numbers:
            return f"room_alternate {room_id}: no alternate number"
        return [
            Page(room_id, "sms", target, f"alternate:{room_id}", number)
            for number in numbers
        ]
    person = (
        roster.duty_officer(room_id)
        if target == "duty_officer"
        else roster.supervisor(room_id)
    )
    if person is None:
        return f"{target} {room_id}: nobody named"
    return [Page(room_id, "sms", target, f"person:{person.id}", person.phone)]


@dataclass(frozen=True, slots=True)
class StepPlan:
    """What taking one step means: its pages, the targets that found nobody, and
    when the next step falls due (None when there is none)."""

    level: int
    pages: list[Page]
    gaps: list[str]
    next_at: datetime | None


def plan_step(
    *,
    policy: EscalationPolicy,
    level: int,
    routed: list[str],
    received_at: datetime,
    now: datetime,
    paging: Paging,
) -> StepPlan:
    step = policy.step(level)
    pages, gaps = pages_for(step.notify, routed=routed, paging=paging, at=now)

    # The next step is due at its minute after receipt, and at once when this one
    # left someone out; past the last step, the repeat keeps its interval whatever
    # happens, so a gap cannot turn it into a storm.
    following = policy.minutes_until(level + 1)
    if following is None:
        next_at = None
    elif level + 1 >= len(policy.steps):
        next_at = now + timedelta(minutes=following)
    elif gaps or not pages:
        next_at = now
    else:
        due = received_at + timedelta(minutes=policy.steps[level + 1].after_minutes)
        next_at = max(now, due)
    return StepPlan(level, pages, gaps, next_at)


def take_step(
    conn: Connection,
    *,
    alert: dict[str, Any],
    level: int,
    now: datetime,
    paging: Paging,
) -> bool:
    """Take step ``level`` (after the first) of an alert: move its row on, plan its
    pages, record it.

    Returns False, having changed nothing, when the alert is no longer waiting for
    this step (acknowledged, resolved, or stepped by another process).
    """
    plan = plan_step(
        policy=EscalationPolicy.model_validate(alert["escalation_policy"]),
        level=level,
        routed=list(alert["rooms"]),
        received_at=as_utc(alert["received_at"]),
        now=now,
        paging=paging,
    )
    moved = conn.execute(
        update(alerts)
        .where(alerts.c.id == alert["id"])
        .where(alerts.c.state == "notifying")
        .where(alerts.c.escalation_level == level - 1)
        .values(escalation_level=level, next_escalation_at=plan.next_at)
    ).rowcount
    if moved != 1:
        return False
    append(
        conn,
        [record_step(conn, alert_pk=alert["id"], ref=alert["ref"], plan=plan, now=now)],
    )
    return True


def record_step(
    conn: Connection, *, alert_pk: int, ref: str, plan: StepPlan, now: datetime
) -> dict[str, Any]:
    """Queue a step's pages and let a fallback room it pages see the alert; return
    the step's timeline entry for the caller to append."""
    plan_pages(
        conn,
        alert_pk=alert_pk,
        pages=plan.pages,
        step=plan.level,
        purpose="alert" if plan.level == 0 else "escalation",
        now=now,
    )
    newly_paged = {p.room_id for p in plan.pages if p.target == "fallback_room"}
    grant_rooms(conn, alert_pk=alert_pk, room_ids=newly_paged, now=now, reason="paged")

    details: dict[str, Any] = {
        "level": plan.level,
        "targets": sorted({p.target for p in plan.pages}),
        "messages": len(plan.pages),
        "next_at": plan.next_at.isoformat() if plan.next_at else None,
    }
    if plan.gaps:
        details["gaps"] = plan.gaps
        log.warning(
            "escalation_step_gap", alert_ref=ref, level=plan.level, gaps=len(plan.gaps)
        )
    ESCALATIONS.labels("gap" if plan.gaps else "taken").inc()
    return entry(alert_pk, at=now, kind="escalation_step", **details)


_INSERT_DELIVERIES = insert(deliveries)


def plan_pages(
    conn: Connection,
    *,
    alert_pk: int,
    pages: list[Page],
    step: int,
    purpose: str,
    now: datetime,
) -> None:
    """Outbox rows for pages; the worker wakes at once."""
    if not pages:
        return
    rows = plan_rows(
        alert_pk=alert_pk,
        room_channels=[(p.room_id, p.channel) for p in pages],
        now=now,
    )
    for row, page in zip(rows, pages, strict=True):
        row.update(
            step=step, purpose=purpose, recipient=page.recipient, address=page.address
        )
    conn.execute(_INSERT_DELIVERIES, rows)
    notify_outbox(conn)


@functools.cache
def _grant_statement(dialect: str) -> Any:
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return dialect_insert(alert_rooms).on_conflict_do_nothing()


def grant_rooms(
    conn: Connection, *, alert_pk: int, room_ids: set[str], now: datetime, reason: str
) -> None:
    """Let rooms see and act on an alert (once; granting twice changes nothing)."""
    if not room_ids:
        return
    conn.execute(
        _grant_statement(conn.dialect.name),
        [
            {"alert_pk": alert_pk, "room_id": room_id, "since": now, "reason": reason}
            for room_id in sorted(room_ids)
        ],
    )


_ALERT_FIELDS = (
    alerts.c.id,
    alerts.c.ref,
    alerts.c.rooms,
    alerts.c.received_at,
    alerts.c.escalation_policy,
    alerts.c.escalation_level,
)


def escalate_due(
    conn: Connection, *, now: datetime, paging: Paging, limit: int = 100
) -> int:
    """Take the next step of every alert whose step is due; return how many."""
    query = (
        select(*_ALERT_FIELDS)
        .where(alerts.c.state == "notifying")
        .where(alerts.c.next_escalation_at <= now)
        .order_by(alerts.c.next_escalation_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    taken = 0
    for row in conn.execute(query).mappings().all():
        alert = dict(row)
        if take_step(
            conn,
            alert=alert,
            level=alert["escalation_level"] + 1,
            now=now,
            paging=paging,
        ):
            taken += 1
            log.info(
                "escalation_step_taken",
                alert_ref=alert["ref"],
                level=alert["escalation_level"] + 1,
            )
    return taken


def announce_handovers(conn: Connection, *, now: datetime, paging: Paging) -> int:
    """At a shift start, page the incoming officers of each room with the alerts
    it acknowledged but has not resolved. Each (room, shift) is announced once."""
    announced = 0
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for room in paging.rooms.rooms:
        slot = paging.roster.on_shift(room.id, now)
        if now - slot.starts_at >= HANDOVER_WINDOW:
            continue
        open_alerts = conn.execute(
            select(alerts.c.id, alerts.c.ref, alerts.c.escalation_level)
            .join(alert_rooms, alert_rooms.c.alert_pk == alerts.c.id)
            .where(alert_rooms.c.room_id == room.id)
            .where(alerts.c.state == "acknowledged")
        ).all()
        # Whoever inserts the (room, shift) row announces it; RETURNING says who,
        # since psycopg gives no rowcount for ON CONFLICT DO NOTHING.
        claimed = conn.execute(
            dialect_insert(handovers)
            .values(
                room_id=room.id,
                shift_start=slot.starts_at,
                announced_at=now,
                alerts=len(open_alerts),
            )
            .on_conflict_do_nothing()
            .returning(handovers.c.room_id)
        ).first()
        if claimed is None or not open_alerts:
            continue
        for alert in open_alerts:
            pages = (
                [
                    Page(
                        room.id, "sms", "on_shift", f"person:{person.id}", person.phone
                    )
                    for person in slot.people
                ]
                if paging.rooms.sms_enabled
                else []
            )
            plan_pages(
                conn,
                alert_pk=alert.id,
                pages=pages,
                step=alert.escalation_level,
                purpose="handover",
                now=now,
            )
            append(
                conn,
                [
                    entry(
                        alert.id,
                        at=now,
                        kind="handover",
                        room=room.id,
                        shift=slot.shift,
                        officers=len(pages),
                    )
                ],
            )
            announced += 1
        log.info(
            "shift_handover", room=room.id, shift=slot.shift, alerts=len(open_alerts)
        )
    return announced


class Escalator:
    """Takes due escalation steps and announces handovers, about once a second."""

    def __init__(self, *, store: Store, paging: Paging, clock: Clock, poll_s: float):
        self._store = store
        self._paging = paging
        self._clock = clock
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._last_shift_start: datetime | None = None
        self.on_pages = lambda: None

    def wake(self) -> None:
        self._wake.set()

    async def tick(self) -> int:
        """One pass: due steps, then a handover if a shift has started."""
        now = self._clock.now()
        taken = await self._store.write(
            partial(escalate_due, now=now, paging=self._paging)
        )
        first_room = self._paging.rooms.rooms[0].id
        shift_start = self._paging.roster.on_shift(first_room, now).starts_at
        if shift_start != self._last_shift_start:
            await self._store.write(
                partial(announce_handovers, now=now, paging=self._paging)
            )
            self._last_shift_start = shift_start
        if taken:
            self.on_pages()
        return taken

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except RelayError:
                log.warning("escalation_pass_failed")
            except Exception as exc:
                # A bug in one pass must not end escalation for every later alert.
                log.error("escalation_pass_crashed", **crash_fields(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
