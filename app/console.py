"""The console under ``/console``: a live board the 24x7 desk works from.

A room signs in with its key and sees its open alerts, updated every second without
a reload, and works each one from its page: acknowledge, unacknowledge, resolve. The
person's details are shown on the alert page and nowhere else. Everything the pages
need is served from here (no fonts or scripts from elsewhere), and every form
carries the session's token.

The route functions parse, call one function of ``app.alert_actions`` or
``app.console_sessions``, and render a template.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Connection

from app import alert_actions, console_sessions
from app.api_keys import Principal, key_labels
from app.console_sessions import COOKIE, Session
from app.console_text import LANGUAGES, coded, translator
from app.errors import BodyTooLarge, Conflict, InvalidRequest, NotFound
from app.metrics import ACKNOWLEDGEMENTS
from app.receiving import parse_form, read_body
from app.store import as_utc

HERE = Path(__file__).parent
router = APIRouter(prefix="/console", include_in_schema=False)
static = StaticFiles(directory=HERE / "console_static")

LANGUAGE_COOKIE = "rf_lang"
SIGN_IN_COOKIE = "rf_sign_in"
IST = ZoneInfo("Asia/Kolkata")
MAX_FORM_BYTES = 8 * 1024
ACTIONS = ("acknowledge", "unacknowledge", "resolve")
# Codes an action may come back with, each with a label of its own.
_ACTION_ERRORS = (
    "already_resolved",
    "not_acknowledged",
    "outcome_invalid",
    "note_invalid",
    "form_expired",
)

_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; media-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    # Not no-referrer: with it a browser sends "Origin: null" on the page's own
    # forms. Links out (profiles, posts) carry rel=noreferrer.
    "referrer-policy": "same-origin",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def _ist(value: Any, pattern: str = "%d-%m-%Y %H:%M:%S") -> str:
    """A stored UTC instant as a wall-clock time in Asia/Kolkata."""
    if value is None:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value).astimezone(IST).strftime(pattern)


templates = Environment(
    loader=FileSystemLoader(HERE / "console_templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _actor(value: str | None, labels: dict[str, str]) -> str:
    """``key:3f2a... (SI Meena)`` as ``Kota City desk (SI Meena)``."""
    if not value:
        return "-"
    key, _, rest = value.partition(" ")
    label = labels.get(key.removeprefix("key:")) if key.startswith("key:") else None
    return f"{label} {rest}".strip() if label else value


def _detail(value: Any) -> str:
    """A value of a timeline entry's detail, instants in Asia/Kolkata."""
    if isinstance(value, list | tuple):
        return ", ".join(_detail(item) for item in value)
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            return _ist(value, "%d-%m %H:%M:%S")
        except ValueError:
            return value
    return str(value)


templates.filters["ist"] = _ist
templates.filters["detail"] = _detail
templates.filters["actor"] = _actor
templates.filters["fromiso"] = lambda value: as_utc(datetime.fromisoformat(value))


# Pages


@router.get("", response_class=HTMLResponse)
async def board_page(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_sign_in(request)
    found = await _store(request).read(partial(_board, principal=session.principal))
    return _render(request, "board.html", session=session, **found)


@router.get("/board", response_class=HTMLResponse)
async def board_rows(request: Request) -> Response:
    """The board's rows alone, which the page fetches every second."""
    session = await _session(request)
    if session is None:
        return Response(status_code=401, headers=_HEADERS)
    found = await _store(request).read(partial(_board, principal=session.principal))
    html = templates.get_template("board_rows.html").render(
        **_common(request, session), **found
    )
    # The clock goes in a header, so that the rows' tag changes only with them.
    tag = '"' + hashlib.sha256(html.encode()).hexdigest()[:24] + '"'
    now = request.app.state.clock.now().isoformat()
    headers = _HEADERS | {"etag": tag, "x-server-now": now}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(html, headers=headers)


@router.get("/alerts/{ref}", response_class=HTMLResponse)
async def alert_page(ref: str, request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_sign_in(request)

    def work(conn: Connection) -> tuple[dict[str, Any], dict[str, str]]:
        row = alert_actions.find_alert(conn, principal=session.principal, ref=ref)
        return alert_actions.detail(conn, row), key_labels(conn)

    try:
        alert, labels = await _store(request).read(work)
    except NotFound:
        return _render(request, "missing.html", session=session, status_code=404)
    done = request.query_params.get("done")
    error = request.query_params.get("error")
    return _render(
        request,
        "alert.html",
        session=session,
        alert=alert,
        labels=labels,
        outcomes=alert_actions.OUTCOMES,
        done=done if done in ACTIONS else None,
        error=error if error in _ACTION_ERRORS else None,
    )


@router.post("/alerts/{ref}/{action}")
async def act(ref: str, action: str, request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_sign_in(request)
    form = await _form(request)
    if action not in ACTIONS or not _same_origin(request):
        return _forbidden()
    if not console_sessions.forms_match(form.get("csrf"), session.csrf):
        return _back_to(ref, error="form_expired")

    now = request.app.state.clock.now()
    perform = _action(action, principal=session.principal, ref=ref, form=form)
    try:
        await _store(request).write(partial(perform, now=now))
    except NotFound:
        return _render(request, "missing.html", session=session, status_code=404)
    except (Conflict, InvalidRequest) as exc:
        return _back_to(ref, error=exc.code)
    ACKNOWLEDGEMENTS.labels(action).inc()
    if request.app.state.on_alert_changed is not None:
        request.app.state.on_alert_changed()
    return _back_to(ref, done=action)


# Signing in and out


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request) -> Response:
    if await _session(request) is not None:
        return RedirectResponse("/console", status_code=303)
    expired = request.query_params.get("expired") == "1"
    return _sign_in_form(request, error="form_expired" if expired else None)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await _form(request)
    if not _same_origin(request):
        return _forbidden()
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not console_sessions.forms_match(form.get("csrf"), expected):
        return _sign_in_form(request, error="form_expired", status_code=400)
    throttle = request.app.state.sign_in_throttle
    address = request.client.host if request.client else "unknown"
    now = request.app.state.clock.now()
    if throttle.blocked(address, now=now):
        return _sign_in_form(request, error="too_many_tries", status_code=429)

    settings = request.app.state.settings
    lifetime = timedelta(hours=settings.console_session_h)
    token = await _store(request).write(
        partial(
            console_sessions.sign_in,
            presented=form.get("key", "").strip(),
            officer=form.get("officer", ""),
            admin_key=settings.admin_key.get_secret_value(),
            now=now,
            lifetime=lifetime,
        )
    )
    if token is None:
        throttle.failed(address, now=now)
        return _sign_in_form(request, error="key_wrong", status_code=401)

    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/console",
        httponly=True,
        secure=_is_https(request),
        samesite="lax",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    session = await _session(request)
    form = await _form(request)
    token = request.cookies.get(COOKIE)
    if session is not None and token:
        if not _same_origin(request) or not console_sessions.forms_match(
            form.get("csrf"), session.csrf
        ):
            return _forbidden()
        await _store(request).write(
            partial(
                console_sessions.end_session,
                token=token,
                now=request.app.state.clock.now(),
            )
        )
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


# The pieces


def _action(
    action: str, *, principal: Principal, ref: str, form: dict[str, str]
) -> Callable[..., dict[str, Any]]:
    if action == "acknowledge":
        return partial(alert_actions.acknowledge, principal=principal, ref=ref)
    if action == "unacknowledge":
        return partial(alert_actions.unacknowledge, principal=principal, ref=ref)
    return partial(
        alert_actions.resolve,
        principal=principal,
        ref=ref,
        outcome=form.get("outcome", ""),
        note=form.get("note", "").strip() or None,
    )


def _board(conn: Connection, *, principal: Principal) -> dict[str, Any]:
    found = alert_actions.board(conn, principal=principal)
    return {
        "alerts": found["alerts"],
        "total": found["total"],
        "labels": key_labels(conn),
    }


async def _session(request: Request) -> Session | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return await _store(request).read(
        partial(
            console_sessions.find_session,
            token=token,
            now=request.app.state.clock.now(),
            admin_key=request.app.state.settings.admin_key.get_secret_value(),
        )
    )


def _store(request: Request) -> Any:
    return request.app.state.store


def _language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANGUAGE_COOKIE)
    return kept if kept in LANGUAGES else "en"


def _common(request: Request, session: Session | None) -> dict[str, Any]:
    language = _language(request)
    t = translator(language)
    room_name = None
    if session is not None and session.principal.room_id is not None:
        rooms = request.app.state.rooms
        known = {room.id: room for room in rooms.rooms}
        room = known.get(session.principal.room_id)
        if room is not None:
            room_name = (room.name_hi if language == "hi" else None) or room.name
    return {
        "room_name": room_name,
        "lang": language,
        "other_lang": "hi" if language == "en" else "en",
        "t": t,
        "coded": partial(coded, t),
        "session": session,
        "csrf": session.csrf if session else "",
        "now": request.app.state.clock.now(),
        "path": request.url.path,
        "session_hours": request.app.state.settings.console_session_h,
    }


def _render(
    request: Request,
    name: str,
    *,
    session: Session | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    values = _common(request, session) | values
    html = templates.get_template(name).render(**values)
    response = HTMLResponse(html, status_code=status_code, headers=_HEADERS)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            values["lang"],
            max_age=365 * 24 * 3600,
            path="/console",
            samesite="lax",
            secure=_is_https(request),
        )
    return response


def _sign_in_form(
    request: Request, *, error: str | None, status_code: int = 200
) -> HTMLResponse:
    """The form, with a fresh token in it and in a cookie (they must match)."""
    token = secrets.token_urlsafe(24)
    response = _render(
        request,
        "sign_in.html",
        session=None,
        status_code=status_code,
        error=error,
        sign_in_token=token,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path="/console",
        httponly=True,
        secure=_is_https(request),
        samesite="strict",
    )
    return response


def _to_sign_in(request: Request) -> Response:
    return RedirectResponse("/console/sign-in", status_code=303, headers=_HEADERS)


def _back_to(
    ref: str,
    *,
    done: str | None = None,
    error: str | None = None,
) -> Response:
    kind, code = ("done", done) if done else ("error", error)
    if code not in (*ACTIONS, *_ACTION_ERRORS):
        code = "form_expired"
    # The reference goes back into a path: keep only what a reference is made of.
    safe = "".join(c for c in ref if c.isalnum() or c == "-")[:32]
    return RedirectResponse(
        f"/console/alerts/{safe}?{kind}={code}", status_code=303, headers=_HEADERS
    )


def _forbidden() -> Response:
    return Response("Forbidden", status_code=403, headers=_HEADERS)


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def _same_origin(request: Request) -> bool:
    """A browser names the site a form came from; it must be this one."""
    if request.headers.get("sec-fetch-site", "same-origin") not in (
        "same-origin",
        "none",
    ):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser, or one too old to say; the token still holds
    host = request.headers.get("host", "")
    return origin in (f"http://{host}", f"https://{host}")


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form of at most ``MAX_FORM_BYTES``; anything else is empty."""
    if not request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        return {}
    try:
        raw = await read_body(request, limit=MAX_FORM_BYTES)
    except BodyTooLarge:
        return {}
    return parse_form(raw, max_fields=20)
