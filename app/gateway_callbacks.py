"""Delivery-report callbacks of the SMS gateways, and the admin replay endpoint.

MSG91 does not sign its reports, so its URL carries a secret token; Twilio signs
its callbacks with ``X-Twilio-Signature``, which is checked here.
"""

from __future__ import annotations

import hmac
import urllib.parse
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError, model_validator

from app.delivery_reports import (
    parse_msg91,
    parse_twilio,
    record_reports,
    twilio_signature,
)
from app.errors import (
    NotFound,
    RequestRejected,
    SignatureInvalid,
    UnsupportedMediaType,
)
from app.outbox import replay_dead
from app.receiving import parse_json, read_body
from app.schemas import errors

router = APIRouter(tags=["gateways"])

_REPORT_LIMIT = 1024 * 1024
_REPLAY_LIMIT = 16 * 1024


@router.post(
    "/webhooks/sms/msg91/{token}",
    summary="MSG91 delivery reports (the token is REDFLAG_SMS_REPORT_TOKEN)",
    responses=errors(400, 404, 413, 415),
)
async def msg91_reports(token: str, request: Request) -> JSONResponse:
    expected = request.app.state.settings.sms_report_token.get_secret_value()
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotFound()
    body = await read_body(request, limit=_REPORT_LIMIT)
    batch = parse_msg91(_msg91_document(body, request.headers.get("content-type")))
    return JSONResponse(await _record(request, batch))


@router.post(
    "/webhooks/sms/twilio",
    summary="Twilio status callbacks (signed with X-Twilio-Signature)",
    responses=errors(400, 401, 413),
)
async def twilio_reports(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    body = await read_body(request, limit=_REPORT_LIMIT)
    form = dict(urllib.parse.parse_qsl(body.decode("utf-8", errors="replace")))
    url = settings.public_base_url.rstrip("/") + "/webhooks/sms/twilio"
    token = settings.twilio_auth_token.get_secret_value()
    given = request.headers.get("x-twilio-signature", "")
    expected = twilio_signature(auth_token=token, url=url, form=form) if token else ""
    if not token or not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureInvalid()
    return JSONResponse(await _record(request, parse_twilio(form)))


async def _record(request: Request, batch: list[Any]) -> dict[str, Any]:
    state = request.app.state
    now = state.clock.now()
    outcomes = await state.store.write(
        lambda conn: record_reports(conn, batch=batch, now=now)
    )
    return {"status": "recorded", "reports": len(batch), **outcomes}


def _msg91_document(body: bytes, content_type: str | None) -> Any:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", errors="replace")))
        if "data" not in form:
            raise UnsupportedMediaType("A form report must carry 'data'.")
        return parse_json(form["data"].encode())
    return parse_json(body)


class ReplayRequest(BaseModel):
    """Which dead deliveries to put back: one alert's, one room's, or all."""

    alert_id: str | None = None
    room: str | None = None
    all_dead: bool = False

    @model_validator(mode="after")
    def _one_choice(self) -> ReplayRequest:
        if not (self.alert_id or self.room or self.all_dead):
            raise ValueError("give alert_id, room, or all_dead: true")
        return self


def _replay_choice(body: bytes) -> ReplayRequest:
    try:
        return ReplayRequest.model_validate(parse_json(body))
    except ValidationError:
        raise RequestRejected(
            "Give alert_id, room, or all_dead: true.", code="replay_invalid"
        ) from None


def require_admin(request: Request) -> None:
    """The admin key, checked before the body is read (404 when none is set)."""
    admin_key = request.app.state.settings.admin_key.get_secret_value()
    if not admin_key:
        raise NotFound()
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), admin_key.encode()):
        raise SignatureInvalid("The admin key is missing or wrong.", code="admin_key")


@router.post(
    "/admin/replay",
    summary="Put dead deliveries back in the queue (Authorization: Bearer <admin key>)",
    responses=errors(400, 401, 404, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": ReplayRequest.model_json_schema(ref_template="{model}")
                }
            },
        }
    },
)
async def replay(request: Request) -> dict[str, int]:
    require_admin(request)
    choice = _replay_choice(await read_body(request, limit=_REPLAY_LIMIT))
    state = request.app.state
    now = state.clock.now()
    count = await state.store.write(
        lambda conn: replay_dead(
            conn, now=now, alert_id=choice.alert_id, room_id=choice.room
        )
    )
    state.wake_worker()
    return {"replayed": count}
