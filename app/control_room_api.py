"""The control-room API under ``/v1``: a room lists, reads, acknowledges,
unacknowledges and resolves its own alerts.

Every call needs a key (``Authorization: Bearer <key>`` or ``X-API-Key``). A room's
key sees only that room's alerts; another room's alert answers 404, as one that
does not exist. Write calls are idempotent under an ``Idempotency-Key`` header: the
same key with the same request gets the first answer again, with another request a
409. The route functions parse, call one function in ``app.alert_actions``, and map
its result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, insert, select

from app import alert_actions
from app.api_keys import Principal, authenticate
from app.errors import Conflict, InvalidRequest, Unauthenticated
from app.metrics import ACKNOWLEDGEMENTS
from app.models import IdempotentResponse
from app.payload import loads
from app.receiving import read_body

router = APIRouter(prefix="/v1", tags=["control rooms"])
idempotent_responses = IdempotentResponse.__table__

_MAX_BODY = 16 * 1024


async def principal_of(request: Request) -> Principal:
    """The caller, from its key; 401 without a valid one."""
    presented = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    if presented is None and authorization[:7].lower() == "bearer ":
        presented = authorization[7:].strip()
    if not presented:
        raise Unauthenticated("An API key is required.", code="key_missing")
    settings = request.app.state.settings
    found = await request.app.state.store.read(
        partial(
            authenticate,
            presented=presented,
            admin_key=settings.admin_key.get_secret_value(),
        )
    )
    if found is None:
        raise Unauthenticated()
    return found


@router.get("/alerts", summary="List the room's alerts, newest first")
async def list_alerts(
    request: Request,
    state: str | None = None,
    limit: str = "50",
    cursor: str | None = None,
) -> dict[str, Any]:
    principal = await principal_of(request)
    if not (limit.isascii() and limit.isdigit() and 1 <= int(limit[:3]) <= 200):
        raise InvalidRequest("limit must be 1 to 200.", code="limit_invalid")
    return await request.app.state.store.read(
        partial(
            alert_actions.list_alerts,
            principal=principal,
            state=state,
            limit=int(limit),
            after=cursor,
        )
    )


@router.get("/alerts/{ref}", summary="One alert with the person's details and timeline")
async def read_alert(ref: str, request: Request) -> dict[str, Any]:
    principal = await principal_of(request)

    def work(conn: Connection) -> dict[str, Any]:
        row = alert_actions.find_alert(conn, principal=principal, ref=ref)
        return alert_actions.detail(conn, row)

    return await request.app.state.store.read(work)


@router.post("/alerts/{ref}/acknowledge", summary="We have it: stop escalating")
async def acknowledge(ref: str, request: Request) -> JSONResponse:
    return await _act(request, ref, "acknowledge")


@router.post("/alerts/{ref}/unacknowledge", summary="We do not have it: escalate again")
async def unacknowledge(ref: str, request: Request) -> JSONResponse:
    return await _act(request, ref, "unacknowledge")


@router.post(
    "/alerts/{ref}/resolve",
    summary="Close the alert with an outcome and an optional note",
)
async def resolve(ref: str, request: Request) -> JSONResponse:
    return await _act(request, ref, "resolve")


async def _act(
    request: Request, ref: str, action: alert_actions.Action
) -> JSONResponse:
    principal = await principal_of(request)
    body = await _small_body(request)
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 200:
        raise InvalidRequest(
            "Idempotency-Key must be 1 to 200 characters.",
            code="idempotency_key_invalid",
        )
    perform = _action(action, principal=principal, ref=ref, body=body)
    now = request.app.state.clock.now()
    fingerprint = hashlib.sha256(
        f"{action}\n{ref}\n".encode() + json.dumps(body, sort_keys=True).encode()
    ).hexdigest()

    def work(conn: Connection) -> tuple[int, dict[str, Any]]:
        return _idempotent(
            conn,
            principal=principal,
            key=key,
            fingerprint=fingerprint,
            now=now,
            perform=lambda: perform(conn, now),
        )

    status, document = await request.app.state.store.write(work)
    if status == 200:
        ACKNOWLEDGEMENTS.labels(action).inc()
    if request.app.state.on_alert_changed is not None:
        request.app.state.on_alert_changed()
    return JSONResponse(document, status_code=status)


def _action(
    action: alert_actions.Action,
    *,
    principal: Principal,
    ref: str,
    body: dict[str, Any],
) -> Callable[[Connection, datetime], dict[str, Any]]:
    if action == "acknowledge":
        return lambda conn, now: alert_actions.acknowledge(
            conn, principal=principal, ref=ref, now=now
        )
    if action == "unacknowledge":
        return lambda conn, now: alert_actions.unacknowledge(
            conn, principal=principal, ref=ref, now=now
        )
    outcome = body.get("outcome")
    note = body.get("note")
    if not isinstance(outcome, str):
        raise InvalidRequest(
            "outcome is required: " + ", ".join(alert_actions.OUTCOMES),
            code="outcome_invalid",
        )
    if note is not None and not isinstance(note, str):
        raise InvalidRequest(
            f"note must be text of at most {alert_actions.MAX_NOTE} characters.",
            code="note_invalid",
        )
    return lambda conn, now: alert_actions.resolve(
        conn, principal=principal, ref=ref, outcome=outcome, note=note, now=now
    )


def _idempotent(
    conn: Connection,
    *,
    principal: Principal,
    key: str | None,
    fingerprint: str,
    now: datetime,
    perform: Callable[[], dict[str, Any]],
) -> tuple[int, dict[str, Any]]:
    """Run ``perform`` once per (caller, key); a repeat gets the stored answer."""
    if key is None:
        return 200, {"alert": perform()}
    stored = conn.execute(
        select(idempotent_responses)
        .where(idempotent_responses.c.principal == principal.actor)
        .where(idempotent_responses.c.key == key)
    ).one_or_none()
    if stored is not None:
        if stored.request_hash != fingerprint:
            raise Conflict(
                "This Idempotency-Key was used for another request.",
                code="idempotency_key_reused",
            )
        return stored.status_code, stored.body
    document = {"alert": perform()}
    conn.execute(
        insert(idempotent_responses).values(
            principal=principal.actor,
            key=key,
            request_hash=fingerprint,
            status_code=200,
            body=document,
            created_at=now,
        )
    )
    return 200, document


async def _small_body(request: Request) -> dict[str, Any]:
    raw = await read_body(request, limit=_MAX_BODY)
    if not raw.strip():
        return {}
    try:
        document = loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("The body is not JSON.", code="body_not_json") from None
    if not isinstance(document, dict):
        raise InvalidRequest("The body must be a JSON object.")
    return document
