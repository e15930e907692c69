"""Console sessions: a room's key, presented once at sign-in, becomes a cookie.

The cookie holds 256 random bits; only their SHA-256 is stored. A session ends at
sign-out, when it expires, or at once when the key it was opened with is revoked
(or, for ``REDFLAG_ADMIN_KEY``, changed). Every form carries a token derived from
the session's secret, so a page on another site cannot post in the officer's name.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from app.api_keys import Principal, authenticate
from app.models import ApiKey, ConsoleSession
from app.store import as_utc

console_sessions = ConsoleSession.__table__
api_keys = ApiKey.__table__

COOKIE = "rf_console"
_ENV_ADMIN = "env-admin"


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    csrf: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The token every form of a session carries; derived, so nothing is stored."""
    return hmac.new(session_token.encode(), b"console-form", "sha256").hexdigest()[:32]


def forms_match(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(
        presented.encode(), expected.encode()
    )


def admin_fingerprint(admin_key: str) -> str:
    """Names the current ``REDFLAG_ADMIN_KEY`` without holding it."""
    return _ENV_ADMIN + ":" + _hash("admin-key:" + admin_key)[:16]


def sign_in(
    conn: Connection,
    *,
    presented: str,
    admin_key: str,
    now: datetime,
    lifetime: timedelta,
    officer: str = "",
) -> str | None:
    """Open a session for a valid key; return the cookie's value, or None.

    ``officer`` is who signs in (a name or badge number, optional); it goes beside
    the key's id into every acknowledgement and resolution the session makes.
    """
    principal = authenticate(conn, presented=presented, admin_key=admin_key)
    if principal is None:
        return None
    officer = " ".join("".join(c for c in officer if c.isprintable()).split())[:40]
    if officer:
        principal = dataclasses.replace(
            principal, actor=f"{principal.actor} ({officer})"
        )
    if principal.actor.startswith("key:"):
        key_id = principal.actor.removeprefix("key:")
    else:
        key_id = admin_fingerprint(admin_key)

    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(console_sessions).values(
            token_hash=_hash(token),
            actor=principal.actor,
            room_id=principal.room_id,
            is_admin=principal.is_admin,
            key_id=key_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    # Sessions that ran out are of no use to anyone; sweep them as new ones come.
    conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < now))
    return token


def find_session(
    conn: Connection, *, token: str | None, now: datetime, admin_key: str
) -> Session | None:
    """The live session a cookie stands for, or None."""
    if not token or len(token) > 100:
        return None
    row = conn.execute(
        select(console_sessions, api_keys.c.revoked_at)
        .outerjoin(api_keys, api_keys.c.key_id == console_sessions.c.key_id)
        .where(console_sessions.c.token_hash == _hash(token))
        .where(console_sessions.c.ended_at.is_(None))
    ).one_or_none()
    if row is None or as_utc(row.expires_at) <= now:
        return None
    if row.key_id is not None and row.key_id.startswith(_ENV_ADMIN):
        if not admin_key or row.key_id != admin_fingerprint(admin_key):
            return None
    elif row.key_id is None or row.revoked_at is not None:
        return None
    principal = Principal(actor=row.actor, room_id=row.room_id, is_admin=row.is_admin)
    return Session(principal, csrf_token(token), as_utc(row.expires_at))


class SignInThrottle:
    """Wrong keys per client address. Past ``limit`` in ``window``, the address is
    refused until its oldest failure leaves the window. Keys are 256 random bits,
    so this guards a weak ``REDFLAG_ADMIN_KEY`` and the logs, not the room keys.
    Kept per process: each replica counts its own."""

    def __init__(
        self,
        *,
        limit: int = 10,
        window: timedelta = timedelta(minutes=5),
        addresses: int = 10_000,
    ):
        self._limit = limit
        self._window = window
        self._addresses = addresses
        self._failures: dict[str, list[datetime]] = {}

    def blocked(self, address: str, *, now: datetime) -> bool:
        recent = [t for t in self._failures.get(address, []) if now - t < self._window]
        if recent:
            self._failures[address] = recent
        else:
            self._failures.pop(address, None)
        return len(recent) >= self._limit

    def failed(self, address: str, *, now: datetime) -> None:
        if address not in self._failures and len(self._failures) >= self._addresses:
            self._failures.pop(next(iter(self._failures)))  # the longest-known
        self._failures.setdefault(address, []).append(now)


def end_session(conn: Connection, *, token: str, now: datetime) -> None:
    conn.execute(
        update(console_sessions)
        .where(console_sessions.c.token_hash == _hash(token))
        .values(ended_at=now)
    )
