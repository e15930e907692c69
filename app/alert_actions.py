"""What a control room does with its alerts: list, read, acknowledge,
unacknowledge, resolve. Plain functions over a connection; the API and the
console call them.

States: ``notifying`` (with its escalation level) until a person acknowledges;
``acknowledged`` stops escalation; unacknowledging returns to ``notifying`` and the
next step falls due at once; ``resolved`` needs an outcome and is final. Nothing
resolves by itself. Each action is a conditional update on the state it expects,
so an acknowledgement that races an escalation step ends in exactly one outcome.

A room sees only the alerts it was routed or paged for; any other alert is
``alert_not_found``, exactly as one that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, case, func, select, update

from app.api_keys import Principal
from app.errors import Conflict, InvalidRequest, NotFound
from app.models import Alert, AlertRoom
from app.store import as_utc
from app.timeline import append, entry, read_timeline

alerts = Alert.__table__
alert_rooms = AlertRoom.__table__

OUTCOMES = (
    "reached_safe",
    "hospitalised",
    "not_found",
    "wrong_location",
    "out_of_jurisdiction",
    "false_positive",
    "duplicate",
    "other",
)
STATES = ("received", "routed", "notifying", "acknowledged", "resolved")
OPEN_STATES = ("received", "routed", "notifying", "acknowledged")
RISKS = ("imminent", "high", "medium", "low")  # most urgent first
MAX_PAGE = 200
MAX_NOTE = 2000
_PERSONAL_SECTIONS = ("subject", "content", "location", "contact")

Action = Literal["acknowledge", "unacknowledge", "resolve"]


class AlertNotFound(NotFound):
    code = "alert_not_found"
    message = "No alert with this reference is visible to this key."


def _visible(principal: Principal):  # type: ignore[no-untyped-def]
    query = select(alerts)
    if not principal.is_admin:
        query = query.where(
            alerts.c.id.in_(
                select(alert_rooms.c.alert_pk).where(
                    alert_rooms.c.room_id == principal.room_id
                )
            )
        )
    return query


def find_alert(conn: Connection, *, principal: Principal, ref: str) -> dict[str, Any]:
    # A reference is letters, digits and dashes; anything else names no alert (and
    # must not reach the database: PostgreSQL refuses a NUL in text).
    if len(ref) > 32 or not ref.isascii() or not ref.replace("-", "").isalnum():
        raise AlertNotFound()
    row = (
        conn.execute(_visible(principal).where(alerts.c.ref == ref))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise AlertNotFound()
    return dict(row)


def list_alerts(
    conn: Connection,
    *,
    principal: Principal,
    state: str | None = None,
    limit: int = 50,
    after: str | None = None,
) -> dict[str, Any]:
    """A page of alerts, newest first. ``next`` is the cursor of the next page: the
    reference of this page's last alert, which says nothing of how many there are."""
    query = _visible(principal)
    if state == "open":
        query = query.where(alerts.c.state.in_(OPEN_STATES))
    elif state is not None:
        if state not in STATES:
            raise InvalidRequest("Unknown state.", code="state_invalid")
        query = query.where(alerts.c.state == state)
    if after is not None:
        try:
            last = find_alert(conn, principal=principal, ref=after)
        except AlertNotFound:
            raise InvalidRequest(
                "The cursor is not valid.", code="cursor_invalid"
            ) from None
        query = query.where(alerts.c.id < last["id"])
    limit = max(1, min(limit, MAX_PAGE))
    rows = conn.execute(query.order_by(alerts.c.id.desc()).limit(limit + 1)).mappings()
    found = [dict(row) for row in rows]
    more = len(found) > limit
    found = found[:limit]
    return {
        "alerts": [summary(row) for row in found],
        "next": found[-1]["ref"] if more else None,
    }


def board(
    conn: Connection, *, principal: Principal, limit: int = MAX_PAGE
) -> dict[str, Any]:
    """The open alerts a console shows: not yet acknowledged first, then the most
    urgent risk, then the newest; ``total`` counts them all."""
    unacknowledged_first = case((alerts.c.state == "acknowledged", 1), else_=0)
    most_urgent_first = case(
        *((alerts.c.risk_level == level, rank) for rank, level in enumerate(RISKS)),
        else_=len(RISKS),
    )
    query = _visible(principal).where(alerts.c.state.in_(OPEN_STATES))
    rows = conn.execute(
        query.order_by(
            unacknowledged_first, most_urgent_first, alerts.c.id.desc()
        ).limit(limit)
    ).mappings()
    total = conn.execute(
        select(func.count()).select_from(query.subquery())
    ).scalar_one()
    return {"alerts": [summary(dict(row)) for row in rows], "total": total}


def summary(row: dict[str, Any]) -> dict[str, Any]:
    """An alert as a room's list shows it: no personal data."""
    return {
        "reference": row["ref"],
        "alert_id": row["alert_id"],
        "status": row["status"],
        "state": row["state"],
        "escalation_level": row["escalation_level"],
        "risk": {"category": row["risk_category"], "level": row["risk_level"]},
        "district": row["district"],
        "police_district": row["police_district"],
        "route": {
            "kind": row["route_kind"],
            "reason": row["route_reason"],
            "flags": row["route_flags"],
        },
        "rooms": row["rooms"],
        "received_at": _iso(row["received_at"]),
        "acknowledged_at": _iso(row["acknowledged_at"]),
        "acknowledged_by": row["acknowledged_by"],
        "resolved_at": _iso(row["resolved_at"]),
        "resolution": row["resolution"],
        "undelivered": row["undelivered"],
    }


def detail(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    """One alert with the person's details, its placement and its timeline."""
    payload = row["payload"] or {}
    document = summary(row)
    document["resolution_note"] = row["resolution_note"]
    document["placement"] = row["placement"]
    for section in _PERSONAL_SECTIONS:
        if isinstance(payload.get(section), dict):
            document[section] = payload[section]
    document["timeline"] = [
        item | {"at": _iso(item["at"])} for item in read_timeline(conn, row["id"])
    ]
    return document


def acknowledge(
    conn: Connection, *, principal: Principal, ref: str, now: datetime
) -> dict[str, Any]:
    """Stop escalation. Acknowledging an acknowledged alert changes nothing."""
    row = find_alert(conn, principal=principal, ref=ref)
    moved = conn.execute(
        update(alerts)
        .where(alerts.c.id == row["id"])
        .where(alerts.c.state.in_(("received", "routed", "notifying")))
        .values(
            state="acknowledged",
            acknowledged_at=now,
            acknowledged_by=principal.actor,
            next_escalation_at=None,
        )
    ).rowcount
    if moved == 1:
        append(
            conn,
            [
                entry(
                    row["id"],
                    at=now,
                    kind="acknowledged",
                    actor=principal.actor,
                    level=row["escalation_level"],
                )
            ],
        )
    return _current(conn, row["id"], refuse_resolved=moved != 1)


def unacknowledge(
    conn: Connection, *, principal: Principal, ref: str, now: datetime
) -> dict[str, Any]:
    """Back to notifying; the next escalation step falls due at once."""
    row = find_alert(conn, principal=principal, ref=ref)
    moved = conn.execute(
        update(alerts)
        .where(alerts.c.id == row["id"])
        .where(alerts.c.state == "acknowledged")
        .values(
            state="notifying",
            acknowledged_at=None,
            acknowledged_by=None,
            next_escalation_at=now,
        )
    ).rowcount
    if moved != 1:
        _current(conn, row["id"], refuse_resolved=True)
        raise Conflict("The alert is not acknowledged.", code="not_acknowledged")
    append(
        conn,
        [entry(row["id"], at=now, kind="unacknowledged", actor=principal.actor)],
    )
    return _current(conn, row["id"], refuse_resolved=False)


def resolve(
    conn: Connection,
    *,
    principal: Principal,
    ref: str,
    outcome: str,
    note: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Close the alert with an outcome; a resolved alert cannot be resolved again."""
    if outcome not in OUTCOMES:
        raise InvalidRequest(
            "outcome must be one of: " + ", ".join(OUTCOMES), code="outcome_invalid"
        )
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidRequest(
            f"note must be text of at most {MAX_NOTE} characters.", code="note_invalid"
        )
    row = find_alert(conn, principal=principal, ref=ref)
    moved = conn.execute(
        update(alerts)
        .where(alerts.c.id == row["id"])
        .where(alerts.c.state != "resolved")
        .values(
            state="resolved",
            resolved_at=now,
            resolution=outcome,
            resolution_note=note,
            next_escalation_at=None,
        )
    ).rowcount
    if moved != 1:
        raise Conflict("The alert is already resolved.", code="already_resolved")
    append(
        conn,
        [
            entry(
                row["id"],
                at=now,
                kind="resolved",
                actor=principal.actor,
                outcome=outcome,
                with_note=note is not None,
            )
        ],
    )
    return _current(conn, row["id"], refuse_resolved=False)


def _current(
    conn: Connection, alert_pk: int, *, refuse_resolved: bool
) -> dict[str, Any]:
    row = dict(
        conn.execute(select(alerts).where(alerts.c.id == alert_pk)).mappings().one()
    )
    if refuse_resolved and row["state"] == "resolved":
        raise Conflict("The alert is already resolved.", code="already_resolved")
    return summary(row)


def _iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value is not None else None
