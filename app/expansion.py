"""From a stored event to its alerts: one per change, placed, routed, and with the
first escalation step queued as deliveries.

The partner's POST is answered as soon as its event is committed (``app.intake``);
the request's own background task then expands that event here, a few milliseconds
later. An event whose expansion never ran (the process died right after the 2xx) is
found by the expander's pass, at start and every few seconds, and expanded from its
stored body. Each event is claimed in the very transaction that writes its alerts
(``expanded_at`` set where it was empty), so two processes never expand one event
twice, and one that dies half-way leaves it to the next pass.

A copy of an alert that exists already changes nothing but a counter and its
history; a newer copy (by the partner's timestamp) may raise the risk level, an older
one never lowers it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.clock import Clock
from app.errors import RelayError
from app.escalation import Paging, StepPlan, grant_rooms, plan_step, record_step
from app.escalation_policy import TEST_POLICY
from app.gazetteer import Gazetteer, Placement
from app.logs import crash_fields
from app.metrics import ALERTS
from app.models import Alert, AlertRevision, Event
from app.payload import IncomingAlert, expand_meta, expand_standard, risk_rank
from app.receiving import read_document
from app.room_config import RoomsConfig
from app.routing import Route, route_alert, route_test_alert
from app.store import Store, as_utc
from app.timeline import append, entry
from app.wakeup import notify_outbox

log = structlog.get_logger(__name__)

events = Event.__table__
alerts = Alert.__table__
revisions = AlertRevision.__table__

_REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# An event still without its alerts this long after its answer is stuck: a pass
# failing on it, or no process left that expands (workers meant to, not running).
_STALLED_AFTER = timedelta(minutes=1)
_MAX_PLACE_TEXT = 200


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as committed, with the alerts read from its body."""

    event_id: int
    endpoint: str
    received_at: datetime
    incoming: Sequence[IncomingAlert]


@dataclass(frozen=True, slots=True)
class _Planned:
    incoming: IncomingAlert
    placement: Placement
    route: Route


class Expander:
    def __init__(
        self,
        *,
        store: Store,
        gazetteer: Gazetteer,
        rooms: RoomsConfig,
        paging: Paging,
        clock: Clock,
        max_body_bytes: int,
        poll_s: float = 2.0,
        grace_s: float = 2.0,
        batch: int = 64,
        on_new_deliveries: Callable[[], None] = lambda: None,
    ):
        self._store = store
        self._gazetteer = gazetteer
        self._rooms = rooms
        self._paging = paging
        self._clock = clock
        self._max_body_bytes = max_body_bytes
        self._poll_s = poll_s
        self._grace_s = grace_s
        self._batch = batch
        self._wake = asyncio.Event()
        self.on_new_deliveries = on_new_deliveries
        # Copied onto each alert, so a later change of the file leaves it alone.
        self._policies = {"actual": rooms.escalation, "test": TEST_POLICY}
        self._stored_policies = {
            status: policy.to_stored() for status, policy in self._policies.items()
        }

    async def expand(self, event: StoredEvent) -> int:
        """Write the alerts of one committed event; the number that were new, or 0
        when another process expanded it first."""
        planned = [self._plan(item) for item in event.incoming]

        def work(conn: Connection) -> list[tuple[str, str]] | None:
            return self._write(conn, event=event, planned=planned)

        created = await self._store.write(work)
        self._announce(event, created)
        return len(created or ())

    async def expand_after_answer(self, event: StoredEvent) -> None:
        """``expand`` for the request that stored the event, once it is answered;
        whatever goes wrong is left to the next pass, never to the partner."""
        try:
            await self.expand(event)
        except Exception as exc:
            log.error(
                "event_expansion_failed", event_id=event.event_id, **crash_fields(exc)
            )

    async def expand_waiting(self, *, older_than_s: float = 0.0) -> int:
        """Expand every event still waiting (received at least ``older_than_s``
        ago), oldest first; the number of new alerts."""
        # TODO: an event another process is still placing (a POST of thousands of
        # changes takes seconds) is placed here again, and one of the two is thrown
        # away at the claim; a lease taken before placing would spare that work.
        created = after_id = 0
        cutoff = self._clock.now() - timedelta(seconds=older_than_s)
        while True:
            rows = await self._store.read(
                functools.partial(
                    _waiting, cutoff=cutoff, after_id=after_id, limit=self._batch
                )
            )
            if not rows:
                return created
            after_id = rows[-1].id
            # Together, so that the writer commits the batch as one group; an event
            # that fails is logged and left for the next pass, the rest go on.
            batch = [event for row in rows if (event := self._from_row(row))]
            results = await asyncio.gather(
                *map(self.expand, batch), return_exceptions=True
            )
            for event, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    if not isinstance(result, Exception):
                        raise result
                    log.error(
                        "event_expansion_failed",
                        event_id=event.event_id,
                        **crash_fields(result),
                    )
                else:
                    created += result
            if len(rows) < self._batch:
                return created

    def wake(self) -> None:
        """Pass at once: an event was stored by a process that does not expand."""
        self._wake.set()

    async def run(self) -> None:
        """Pass over waiting events now, every ``poll_s`` seconds and when woken.
        A pass takes the events at least ``grace_s`` old, leaving the newest to
        the requests that stored them."""
        while True:
            self._wake.clear()
            try:
                created = await self.expand_waiting(older_than_s=self._grace_s)
                if created and self._grace_s:
                    log.warning("events_recovered", new_alerts=created)
                stalled = await self._store.read(
                    functools.partial(
                        count_waiting,
                        received_before=self._clock.now() - _STALLED_AFTER,
                    )
                )
                if stalled:
                    log.error("events_stalled", events=stalled)
            except Exception as exc:
                log.error("expansion_pass_crashed", **crash_fields(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)

    # -- one event ------------------------------------------------------------------

    def _from_row(self, row: Any) -> StoredEvent | None:
        """The event as the intake read it; the body was read once before, so a
        failure here is a bug, logged, and the event is left waiting."""
        try:
            document = read_document(
                row.body,
                content_encoding=row.content_encoding,
                limit=self._max_body_bytes,
            )
            read = expand_standard if row.endpoint == "standard" else expand_meta
            incoming = read(document)
        except RelayError as exc:
            log.error("event_unreadable", event_id=row.id, code=exc.code)
            return None
        except Exception as exc:
            log.error("event_unreadable", event_id=row.id, **crash_fields(exc))
            return None
        return StoredEvent(
            event_id=row.id,
            endpoint=row.endpoint,
            received_at=as_utc(row.received_at),
            incoming=incoming,
        )

    def _plan(self, incoming: IncomingAlert) -> _Planned:
        location = {
            key: value[:_MAX_PLACE_TEXT] if isinstance(value, str) else value
            for key, value in incoming.location.items()
        }
        placement = self._gazetteer.place(location)
        if incoming.status == "test":
            route = route_test_alert(rooms=self._rooms)
        else:
            route = route_alert(placement=placement, rooms=self._rooms)
        return _Planned(incoming, placement, route)

    def _announce(
        self, event: StoredEvent, created: list[tuple[str, str]] | None
    ) -> None:
        if created is None:
            return
        for ref, route_kind in created:
            ALERTS.labels(route_kind).inc()
            log.info(
                "alert_created",
                alert_ref=ref,
                route=route_kind,
                endpoint=event.endpoint,
                event_id=event.event_id,
            )
        if created:
            self.on_new_deliveries()

    def _write(
        self, conn: Connection, *, event: StoredEvent, planned: list[_Planned]
    ) -> list[tuple[str, str]] | None:
        now = self._clock.now()
        claimed = conn.execute(
            _CLAIM_EVENT, {"event_pk": event.event_id, "now": now}
        ).scalar_one_or_none()
        if claimed is None:
            return None

        created: list[tuple[str, str]] = []
        for item in planned:
            ref = _new_ref()
            first_step = plan_step(
                policy=self._policies[item.incoming.status],
                level=0,
                routed=list(item.route.rooms),
                received_at=event.received_at,
                now=now,
                paging=self._paging,
            )
            alert_pk = conn.execute(
                _insert_alert(conn.dialect.name),
                self._alert_row(item, event=event, ref=ref)
                | {"next_escalation_at": first_step.next_at},
            ).scalar_one_or_none()
            if alert_pk is None:
                _record_copy(conn, item=item, event=event, now=now)
                continue
            self._start_alert(
                conn,
                item=item,
                alert_pk=alert_pk,
                ref=ref,
                step=first_step,
                received_at=event.received_at,
                now=now,
            )
            created.append((ref, item.route.kind))

        if created:
            notify_outbox(conn)
            conn.execute(
                _COUNT_NEW_ALERTS,
                {"event_pk": event.event_id, "new_alerts": len(created)},
            )
        return created

    def _start_alert(
        self,
        conn: Connection,
        *,
        item: _Planned,
        alert_pk: int,
        ref: str,
        step: StepPlan,
        received_at: datetime,
        now: datetime,
    ) -> None:
        """Record how the alert was placed and routed, and take the first step."""
        placement, route = item.placement, item.route
        grant_rooms(
            conn, alert_pk=alert_pk, room_ids=set(route.rooms), now=now, reason="routed"
        )
        append(
            conn,
            [
                entry(
                    alert_pk,
                    at=received_at,
                    kind="received",
                    status=item.incoming.status,
                ),
                entry(
                    alert_pk,
                    at=now,
                    kind="placed",
                    district=placement.district,
                    police_district=placement.police_district,
                    confidence=placement.confidence,
                    flags=list(placement.flags),
                ),
                entry(
                    alert_pk,
                    at=now,
                    kind="routed",
                    rooms=list(route.rooms),
                    reason=route.reason,
                    flags=list(route.flags),
                ),
                record_step(conn, alert_pk=alert_pk, ref=ref, plan=step, now=now),
            ],
        )

    def _alert_row(
        self, item: _Planned, *, event: StoredEvent, ref: str
    ) -> dict[str, Any]:
        incoming, placement, route = item.incoming, item.placement, item.route
        return {
            "alert_id": incoming.alert_id,
            "ref": ref,
            "event_id": event.event_id,
            "received_at": event.received_at,
            "flagged_at": _short(incoming.value.get("flagged_at")),
            "partner_time": incoming.partner_time,
            "risk_category": incoming.risk_category,
            "risk_level": incoming.risk_level,
            "status": incoming.status,
            "payload": incoming.value,
            "problems": list(incoming.problems),
            "placement": placement.to_dict(),
            "district": placement.district,
            "police_district": placement.police_district,
            "route_kind": route.kind,
            "route_reason": route.reason,
            "route_flags": list(route.flags),
            "rooms": list(route.rooms),
            "state": "notifying",
            "copies_received": 1,
            "escalation_policy": self._stored_policies[incoming.status],
            "escalation_level": 0,
        }


def _record_copy(
    conn: Connection, *, item: _Planned, event: StoredEvent, now: datetime
) -> None:
    incoming = item.incoming
    current = conn.execute(
        select(alerts.c.id, alerts.c.partner_time, alerts.c.risk_level).where(
            alerts.c.alert_id == incoming.alert_id
        )
    ).one()
    current_time = as_utc(current.partner_time)
    newer = incoming.partner_time is not None and (
        current_time is None or incoming.partner_time > current_time
    )
    raises_risk = incoming.risk_level is not None and (
        current.risk_level is None
        or risk_rank(incoming.risk_level) > risk_rank(current.risk_level)
    )

    changes: dict[str, Any] = {"copies_received": alerts.c.copies_received + 1}
    if newer:
        changes["partner_time"] = incoming.partner_time
        outcome = "applied" if raises_risk else "newer_same_or_lower_risk"
        if raises_risk:
            changes["risk_level"] = incoming.risk_level
    else:
        outcome = "stale" if incoming.partner_time is not None else "duplicate"
    conn.execute(update(alerts).where(alerts.c.id == current.id).values(changes))
    conn.execute(
        insert(revisions).values(
            alert_pk=current.id,
            event_id=event.event_id,
            received_at=now,
            partner_time=incoming.partner_time,
            risk_level=incoming.risk_level,
            outcome=outcome,
            payload=incoming.value,
        )
    )


def count_waiting(conn: Connection, *, received_before: datetime | None = None) -> int:
    """Events answered whose alerts are not written yet (received before a time)."""
    query = (
        select(func.count()).select_from(events).where(events.c.expanded_at.is_(None))
    )
    if received_before is not None:
        query = query.where(events.c.received_at < received_before)
    return conn.execute(query).scalar_one()


def new_alerts_of(conn: Connection, event_id: int) -> int | None:
    """How many alerts the event brought that were not known before; nothing while
    it waits for expansion."""
    row = conn.execute(
        select(events.c.new_alert_count, events.c.expanded_at).where(
            events.c.id == event_id
        )
    ).one_or_none()
    if row is None or row.expanded_at is None:
        return None
    return row.new_alert_count


def _waiting(
    conn: Connection, *, cutoff: datetime, after_id: int, limit: int
) -> list[Any]:
    return list(
        conn.execute(
            select(
                events.c.id,
                events.c.endpoint,
                events.c.received_at,
                events.c.body,
                events.c.content_encoding,
            )
            .where(
                events.c.expanded_at.is_(None),
                events.c.id > after_id,
                events.c.received_at <= cutoff,
            )
            .order_by(events.c.id)
            .limit(limit)
        )
    )


# On PostgreSQL an event another process is expanding right now is locked by its
# claim: skip it rather than wait, so that this writer (and every answer queued
# behind it) never stands still. If that process dies, its lock goes with it.
_CLAIM_EVENT = (
    update(events)
    .where(
        events.c.id
        == select(events.c.id)
        .where(events.c.id == bindparam("event_pk"), events.c.expanded_at.is_(None))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    .values(expanded_at=bindparam("now"))
    .returning(events.c.id)
)
_COUNT_NEW_ALERTS = (
    update(events)
    .where(events.c.id == bindparam("event_pk"))
    .values(new_alert_count=bindparam("new_alerts"))
)


@functools.cache
def _insert_alert(dialect: str) -> Any:
    """Insert an alert unless its ``alert_id`` exists, returning its id or nothing:
    the unique constraint decides, so concurrent copies cannot both get in."""
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        dialect_insert(alerts)
        .on_conflict_do_nothing(index_elements=["alert_id"])
        .returning(alerts.c.id)
    )


def _new_ref() -> str:
    return "RF-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(7))


def _short(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) else None
