"""Turning exceptions into the one error body, and the request id that ties a
response to its log lines."""

from __future__ import annotations

import re
import secrets

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import MethodNotAllowed, NotFound, RelayError, RequestRejected
from app.logs import crash_fields
from app.metrics import WEBHOOKS

log = structlog.get_logger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def error_response(error: RelayError, request_id: str | None) -> JSONResponse:
    return JSONResponse(
        {
            "error": {"code": error.code, "message": error.message},
            "request_id": request_id,
        },
        status_code=error.status_code,
    )


def install_error_handlers(app: FastAPI) -> None:
    async def relay_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RelayError)
        route = route_of(request)
        if route.startswith("/webhooks/"):
            WEBHOOKS.labels(route.removeprefix("/webhooks/"), exc.code).inc()
        if isinstance(exc, RequestRejected):
            log.info("request_rejected", code=exc.code, route=route)
        else:
            log.error("request_failed", code=exc.code, route=route)
        return error_response(exc, _request_id(request))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        mapped: RelayError
        if exc.status_code == 404:
            mapped = NotFound()
        elif exc.status_code == 405:
            mapped = MethodNotAllowed()
        else:
            mapped = RequestRejected()
            mapped.status_code = exc.status_code
        return error_response(mapped, _request_id(request))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        error = RequestRejected(
            "The request's parameters are invalid.", code="invalid_parameters"
        )
        return error_response(error, _request_id(request))

    app.add_exception_handler(RelayError, relay_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def route_of(request: Request) -> str:
    """The route's template (``/webhooks/sms/msg91/{token}``), never the path asked
    for: a path may hold a secret token, and any text at all from outside."""
    return _route_in(request.scope)


def _route_in(scope: Scope) -> str:
    return getattr(scope.get("route"), "path", None) or "unmatched"


def _request_id(request: Request) -> str | None:
    return request.scope.get("request_id")


class RequestIdMiddleware:
    """Gives every request an id, binds it to the logs and returns it as a header.

    It also catches what no handler did: a crash becomes the logged 500 in the one
    error shape, and is not raised on to the server (which would print its own
    traceback, in plain text, beside the JSON log lines). A client that hangs up
    mid-request is a note, not an error."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = given if given and _SANE_ID.match(given) else secrets.token_hex(8)
        scope["request_id"] = request_id
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            log.info("client_disconnected", route=_route_in(scope))
        except Exception as exc:
            log.error("request_crashed", route=_route_in(scope), **crash_fields(exc))
            if not started:
                response = error_response(RelayError(), request_id)
                await response(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
