"""API keys of control rooms and administrators.

A key reads ``rfk_<key id>_<secret>``. Only the SHA-256 of the secret is stored (the
secret is 256 random bits, so a plain hash is enough); the key id finds the row and
the hash is compared in constant time. A revoked key stops working at once.
``REDFLAG_ADMIN_KEY``, when set, is an administrator's key as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from app.models import ApiKey

api_keys = ApiKey.__table__
PREFIX = "rfk"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: one room's key, or an administrator who sees every room."""

    actor: str
    room_id: str | None
    is_admin: bool

    def may_see(self, room_ids: set[str]) -> bool:
        return self.is_admin or (self.room_id is not None and self.room_id in room_ids)


ADMIN = Principal(actor="admin", room_id=None, is_admin=True)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    conn: Connection,
    *,
    room_id: str | None,
    is_admin: bool,
    label: str,
    now: datetime,
) -> tuple[str, str]:
    """Store a new key; return (key id, the whole key). The key is shown once."""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    conn.execute(
        insert(api_keys).values(
            key_id=key_id,
            secret_hash=_hash(secret),
            room_id=room_id,
            is_admin=is_admin,
            label=label[:80],
            created_at=now,
        )
    )
    return key_id, f"{PREFIX}_{key_id}_{secret}"


def revoke_key(conn: Connection, *, key_id: str, now: datetime) -> bool:
    result = conn.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id)
        .where(api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


def list_keys(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            api_keys.c.key_id,
            api_keys.c.room_id,
            api_keys.c.is_admin,
            api_keys.c.label,
            api_keys.c.created_at,
            api_keys.c.revoked_at,
        ).order_by(api_keys.c.id)
    ).mappings()
    return [dict(row) for row in rows]


def key_labels(conn: Connection) -> dict[str, str]:
    """Each key's label by its id, for showing who acted in words."""
    rows = conn.execute(select(api_keys.c.key_id, api_keys.c.label))
    return {row.key_id: row.label for row in rows if row.label}


def authenticate(
    conn: Connection, *, presented: str | None, admin_key: str = ""
) -> Principal | None:
    """The principal a presented key stands for, or None."""
    if not presented or len(presented) > 200:
        return None
    if admin_key and hmac.compare_digest(presented.encode(), admin_key.encode()):
        return ADMIN
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    _, key_id, secret = parts
    row = conn.execute(
        select(api_keys).where(api_keys.c.key_id == key_id)
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    if row.is_admin:
        return Principal(actor=f"key:{key_id}", room_id=None, is_admin=True)
    return Principal(actor=f"key:{key_id}", room_id=row.room_id, is_admin=False)
