"""Taking in the partner's webhooks: verify, store, and plan the deliveries.

``Intake.accept_meta`` and ``Intake.accept_standard`` do everything a partner POST
needs in one transaction: the event as received, one alert per change (placed and
routed), and one outbox row per room and channel. The caller answers 2xx only once
that transaction is committed.

A copy of an alert that exists already changes nothing but a counter and its
history; a newer copy (by the partner's timestamp) may raise the risk level, an older
one never lowers it.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.clock import Clock
from app.escalation import Paging, StepPlan, grant_rooms, plan_step, record_step
from app.escalation_policy import TEST_POLICY
from app.gazetteer import Gazetteer, Placement
from app.metrics import ALERTS, WEBHOOKS
from app.models import Alert, AlertRevision, Event
from app.payload import IncomingAlert, expand_meta, expand_standard, risk_rank
from app.receiving import check_json_type, decode_body, parse_json
from app.room_config import RoomsConfig
from app.routing import Route, route_alert, route_test_alert
from app.settings import Settings
from app.signatures import META_HEADER, verify_meta, verify_standard
from app.store import Store, as_utc
from app.timeline import append, entry
from app.wakeup import notify_outbox

log = structlog.get_logger(__name__)

events = Event.__table__
alerts = Alert.__table__
revisions = AlertRevision.__table__

_REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_MAX_PLACE_TEXT = 200


@dataclass(frozen=True, slots=True)
class Accepted:
    event_id: int
    alerts: int
    new_alerts: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "stored",
            "event_id": self.event_id,
            "alerts": self.alerts,
            "new_alerts": self.new_alerts,
        }


@dataclass(frozen=True, slots=True)
class _Planned:
    incoming: IncomingAlert
    placement: Placement
    route: Route


class Intake:
    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        gazetteer: Gazetteer,
        rooms: RoomsConfig,
        paging: Paging,
        clock: Clock,
        webhook_clock: Clock | None = None,
        on_new_deliveries: Callable[[], None] = lambda: None,
    ):
        self._settings = settings
        self._store = store
        self._gazetteer = gazetteer
        self._rooms = rooms
        self._paging = paging
        # Copied onto each alert, so a later change of the file leaves it alone.
        self._policies = {"actual": rooms.escalation, "test": TEST_POLICY}
        self._stored_policies = {
            status: policy.to_stored() for status, policy in self._policies.items()
        }
        self._clock = clock
        self._webhook_clock = webhook_clock or clock
        self._on_new_deliveries = on_new_deliveries
        self._meta_keys = settings.meta_app_keys
        self._standard_keys = settings.standard_webhook_keys

    async def accept_meta(self, *, body: bytes, headers: Mapping[str, str]) -> Accepted:
        verify_meta(body=body, header=headers.get(META_HEADER), keys=self._meta_keys)
        document = self._parse(body, headers)
        return await self._store_event(
            endpoint="meta",
            body=body,
            headers=headers,
            message_id=None,
            incoming=expand_meta(document),
        )

    async def accept_standard(
        self, *, body: bytes, headers: Mapping[str, str]
    ) -> Accepted:
        message_id = verify_standard(
            body=body,
            headers=headers,
            keys=self._standard_keys,
            clock=self._webhook_clock,
            tolerance_s=self._settings.timestamp_tolerance_s,
        )
        document = self._parse(body, headers)
        return await self._store_event(
            endpoint="standard",
            body=body,
            headers=headers,
            message_id=message_id[:200],
            incoming=expand_standard(document),
        )

    def _parse(self, body: bytes, headers: Mapping[str, str]) -> Any:
        check_json_type(headers.get("content-type"))
        decoded = decode_body(
            body,
            content_encoding=headers.get("content-encoding"),
            limit=self._settings.max_body_bytes,
        )
        return parse_json(decoded)

    async def _store_event(
        self,
        *,
        endpoint: str,
        body: bytes,
        headers: Mapping[str, str],
        message_id: str | None,
        incoming: list[IncomingAlert],
    ) -> Accepted:
        planned = [self._plan(item) for item in incoming]
        received_at = self._clock.now()
        event_row = {
            "received_at": received_at,
            "endpoint": endpoint,
            "message_id": message_id,
            "content_type": (headers.get("content-type") or "")[:200] or None,
            "content_encoding": (headers.get("content-encoding") or "")[:50] or None,
            "body": body,
            "alert_count": len(planned),
            "new_alert_count": 0,
        }

        def work(conn: Connection) -> tuple[Accepted, list[tuple[str, str]]]:
            return self._write(conn, event_row=event_row, planned=planned)

        accepted, created = await self._store.write(work)
        WEBHOOKS.labels(endpoint, "stored").inc()
        for ref, route_kind in created:
            ALERTS.labels(route_kind).inc()
            log.info(
                "alert_created", alert_ref=ref, route=route_kind, endpoint=endpoint
            )
        if accepted.new_alerts:
            self._on_new_deliveries()
        log.info(
            "event_stored",
            event_id=accepted.event_id,
            endpoint=endpoint,
            alerts=accepted.alerts,
            new_alerts=accepted.new_alerts,
        )
        return accepted

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

    def _write(
        self, conn: Connection, *, event_row: dict[str, Any], planned: list[_Planned]
    ) -> tuple[Accepted, list[tuple[str, str]]]:
        now = event_row["received_at"]
        event_id = conn.execute(_INSERT_EVENT, event_row).scalar_one()

        created: list[tuple[str, str]] = []
        for item in planned:
            ref = _new_ref()
            first_step = plan_step(
                policy=self._policies[item.incoming.status],
                level=0,
                routed=list(item.route.rooms),
                received_at=now,
                now=now,
                paging=self._paging,
            )
            alert_pk = conn.execute(
                _insert_alert(conn.dialect.name),
                self._alert_row(item, event_id=event_id, ref=ref, now=now)
                | {"next_escalation_at": first_step.next_at},
            ).scalar_one_or_none()
            if alert_pk is None:
                self._record_copy(conn, item=item, event_id=event_id, now=now)
                continue
            self._start_alert(
                conn, item=item, alert_pk=alert_pk, ref=ref, step=first_step, now=now
            )
            created.append((ref, item.route.kind))

        if created:
            notify_outbox(conn)
            conn.execute(
                _COUNT_NEW_ALERTS, {"event_pk": event_id, "new_alerts": len(created)}
            )
        return Accepted(event_id, len(planned), len(created)), created

    def _start_alert(
        self,
        conn: Connection,
        *,
        item: _Planned,
        alert_pk: int,
        ref: str,
        step: StepPlan,
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
                entry(alert_pk, at=now, kind="received", status=item.incoming.status),
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
        self, item: _Planned, *, event_id: int, ref: str, now: datetime
    ) -> dict[str, Any]:
        incoming, placement, route = item.incoming, item.placement, item.route
        return {
            "alert_id": incoming.alert_id,
            "ref": ref,
            "event_id": event_id,
            "received_at": now,
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

    @staticmethod
    def _record_copy(
        conn: Connection, *, item: _Planned, event_id: int, now: datetime
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
                event_id=event_id,
                received_at=now,
                partner_time=incoming.partner_time,
                risk_level=incoming.risk_level,
                outcome=outcome,
                payload=incoming.value,
            )
        )


_INSERT_EVENT = insert(events).returning(events.c.id)
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
