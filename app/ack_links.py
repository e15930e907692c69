"""Acknowledgement links: an SMS carries ``/a/<token>``; the officer opens it and
confirms with their room's key.

The token is 128 random bits, drawn when the worker claims an SMS delivery. Its
hash is stored in the claim's transaction, so the link works before the message
leaves, and the token itself is kept nowhere but in the message. It is bound to one
alert and one recipient (the delivery's), and it expires. Each attempt of a delivery
carries a new token; all of them work until they expire. A token is not a
credential by itself: the page asks for the room's key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta
from functools import partial
from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection, insert, select, update

from app import alert_actions
from app.api_keys import Principal, authenticate
from app.errors import Conflict
from app.models import AckToken, Alert, AlertRoom
from app.outbox import Claimed
from app.receiving import parse_form, read_body
from app.store import as_utc

ack_tokens = AckToken.__table__
alerts = Alert.__table__
alert_rooms = AlertRoom.__table__
TOKEN_LENGTH = 22  # 16 bytes in URL-safe base64, without padding


def new_token() -> str:
    return secrets.token_urlsafe(16)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_links(
    conn: Connection, claimed: list[Claimed], *, now: datetime, ttl: timedelta
) -> list[Claimed]:
    """Give each claimed SMS a new link token and store its hash; other channels
    come back as they were."""
    issued = [
        dataclasses.replace(item, link_token=new_token())
        if item.channel == "sms"
        else item
        for item in claimed
    ]
    rows = [
        {
            "token_hash": token_hash(item.link_token),
            "alert_pk": item.alert_pk,
            "recipient": item.recipient or f"room:{item.room_id}",
            "room_id": item.room_id,
            "expires_at": now + ttl,
        }
        for item in issued
        if item.link_token is not None
    ]
    if rows:
        conn.execute(insert(ack_tokens), rows)
    return issued


def find_token(conn: Connection, *, token: str, now: datetime) -> dict[str, Any] | None:
    """The live token's row (not expired), or None for anything else."""
    if len(token) != TOKEN_LENGTH:
        return None
    row = (
        conn.execute(
            select(ack_tokens).where(ack_tokens.c.token_hash == token_hash(token))
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        return None
    if as_utc(row["expires_at"]) <= now:
        return None
    return dict(row)


def mark_used(conn: Connection, *, token_id: int, now: datetime) -> None:
    conn.execute(
        update(ack_tokens)
        .where(ack_tokens.c.id == token_id)
        .where(ack_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )


router = APIRouter(tags=["acknowledgement links"])
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>redflag-relay {ref}</title>
<style>
body{{font:18px/1.4 system-ui,sans-serif;margin:0;padding:16px;background:#111;
color:#f5f5f5;max-width:32em}}
h1{{font-size:1.3em}} .risk{{color:#ffb4a8;font-weight:bold}}
input,button{{font:inherit;width:100%;padding:12px;margin:6px 0;box-sizing:border-box}}
button{{background:#ffd54f;color:#111;border:0;font-weight:bold}}
</style></head><body>
<h1>Red flag {ref}</h1>
<p>{district} &middot; risk <span class="risk">{risk}</span> &middot; {state}</p>
{body}
</body></html>"""
_FORM = """<form method="post">
<label for="key">Room key / कक्ष कुंजी</label>
<input id="key" name="key" type="password" autocomplete="current-password" required>
<button type="submit">We have it: acknowledge / स्वीकार करें</button>
</form>"""
_GONE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>redflag-relay</title></head><body style="font:18px system-ui">
<p>This link is not valid or has expired. Open the console, or call the control
room. / यह लिंक मान्य नहीं है।</p></body></html>"""


@router.get("/a/{token}", response_class=HTMLResponse, include_in_schema=False)
async def link_page(token: str, request: Request) -> HTMLResponse:
    found = await request.app.state.store.read(
        partial(_alert_of_token, token=token, now=request.app.state.clock.now())
    )
    if found is None:
        return HTMLResponse(_GONE, status_code=404)
    return _page(found, _FORM)


@router.post("/a/{token}", response_class=HTMLResponse, include_in_schema=False)
async def confirm(token: str, request: Request) -> HTMLResponse:
    form = parse_form(await read_body(request, limit=4096), max_fields=10)
    presented = form.get("key", "").strip()
    now = request.app.state.clock.now()
    admin_key = request.app.state.settings.admin_key.get_secret_value()

    def work(conn: Connection) -> tuple[dict[str, Any], str] | None:
        found = _alert_of_token(conn, token=token, now=now)
        if found is None:
            return None
        principal = authenticate(conn, presented=presented, admin_key=admin_key)
        if principal is None or not principal.may_see(found["rooms_allowed"]):
            return found, "wrong_key"
        via = Principal(
            actor=f"{principal.actor} by link to {found['recipient']}"[:80],
            room_id=principal.room_id,
            is_admin=principal.is_admin,
        )
        try:
            alert_actions.acknowledge(conn, principal=via, ref=found["ref"], now=now)
        except Conflict:
            return found, "resolved"
        mark_used(conn, token_id=found["token_id"], now=now)
        return found, "acknowledged"

    result = await request.app.state.store.write(work)
    if result is None:
        return HTMLResponse(_GONE, status_code=404)
    found, outcome = result
    if outcome == "wrong_key":
        message = "<p>That key is not this room's. / कुंजी सही नहीं है।</p>" + _FORM
        return _page(found, message, status_code=401)
    if outcome == "resolved":
        return _page(found | {"state": "resolved"}, "<p>Already resolved.</p>")
    on_change = request.app.state.on_alert_changed
    if on_change is not None:
        on_change()
    return _page(
        found | {"state": "acknowledged"},
        "<p><strong>Acknowledged. Escalation stopped. / स्वीकार किया गया।</strong></p>",
    )


def _alert_of_token(
    conn: Connection, *, token: str, now: datetime
) -> dict[str, Any] | None:
    row = find_token(conn, token=token, now=now)
    if row is None:
        return None
    alert = conn.execute(
        select(
            alerts.c.ref, alerts.c.district, alerts.c.risk_level, alerts.c.state
        ).where(alerts.c.id == row["alert_pk"])
    ).one()
    rooms = conn.execute(
        select(alert_rooms.c.room_id).where(alert_rooms.c.alert_pk == row["alert_pk"])
    ).scalars()
    return {
        "token_id": row["id"],
        "recipient": row["recipient"],
        "ref": alert.ref,
        "district": alert.district or "Unplaced",
        "risk": (alert.risk_level or "unknown").upper(),
        "state": alert.state,
        "rooms_allowed": set(rooms),
    }


def _page(found: dict[str, Any], body: str, *, status_code: int = 200) -> HTMLResponse:
    html = _PAGE.format(
        ref=escape(found["ref"]),
        district=escape(found["district"]),
        risk=escape(found["risk"]),
        state=escape(found["state"]),
        body=body,
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "cache-control": "no-store",
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY",
        },
    )
