"""The partner's endpoints. Each route reads the request, calls one function of
``app.intake`` and maps the result; the work lives there. The event's alerts are
written by ``app.expansion`` right after the answer is sent."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.background import BackgroundTask

from app.errors import HandshakeRejected
from app.intake import Accepted
from app.receiving import read_body
from app.schemas import (
    EventStored,
    MetaEnvelope,
    StandardEnvelope,
    errors,
    request_body,
)

router = APIRouter(prefix="/webhooks", tags=["partner"])

_MAX_CHALLENGE = 512


@router.post(
    "/meta",
    summary="Receive red-flag alerts (X-Hub-Signature-256)",
    response_model=EventStored,
    responses=errors(400, 401, 413, 415, 503),
    openapi_extra=request_body(MetaEnvelope),
)
async def receive_meta(request: Request) -> JSONResponse:
    body = await read_body(request, limit=request.app.state.settings.max_body_bytes)
    accepted = await request.app.state.intake.accept_meta(
        body=body, headers=request.headers
    )
    return _stored(request, accepted)


@router.post(
    "/standard",
    summary="Receive red-flag alerts (Standard Webhooks)",
    response_model=EventStored,
    responses=errors(400, 401, 413, 415, 503),
    openapi_extra=request_body(StandardEnvelope),
)
async def receive_standard(request: Request) -> JSONResponse:
    body = await read_body(request, limit=request.app.state.settings.max_body_bytes)
    accepted = await request.app.state.intake.accept_standard(
        body=body, headers=request.headers
    )
    return _stored(request, accepted)


def _stored(request: Request, accepted: Accepted) -> JSONResponse:
    """The 2xx, and the event's alerts written as soon as it is sent (unless a
    ``worker`` process writes them)."""
    state = request.app.state
    background = None
    if state.settings.expand_after_answer:
        background = BackgroundTask(state.expander.expand_after_answer, accepted.event)
    return JSONResponse(accepted.to_dict(), background=background)


@router.get(
    "/meta",
    summary="Subscription handshake",
    response_class=PlainTextResponse,
    responses=errors(400, 403),
)
@router.head("/meta", include_in_schema=False)
async def verify_subscription(request: Request) -> PlainTextResponse:
    challenge = answer_handshake(
        params=request.query_params,
        verify_token=request.app.state.settings.meta_verify_token.get_secret_value(),
    )
    return PlainTextResponse(challenge, headers={"x-content-type-options": "nosniff"})


def answer_handshake(*, params: object, verify_token: str) -> str:
    """The challenge to echo, once the mode and the verify token check out."""
    get = params.get  # type: ignore[attr-defined]
    challenge = get("hub.challenge")
    if not challenge:
        raise HandshakeRejected("hub.challenge is missing.", code="challenge_missing")
    if len(challenge) > _MAX_CHALLENGE:
        raise HandshakeRejected("hub.challenge is too long.", code="challenge_invalid")
    if get("hub.mode") != "subscribe":
        raise HandshakeRejected("hub.mode must be 'subscribe'.", code="mode_invalid")
    given = (get("hub.verify_token") or "").encode()
    if not verify_token or not hmac.compare_digest(given, verify_token.encode()):
        raise HandshakeRejected()
    return challenge
