"""Waking workers when a delivery is queued, instead of on the next poll.

In one process the intake calls the worker's ``wake`` directly. Across processes on
PostgreSQL, the transaction that queues deliveries also sends ``NOTIFY
redflag_outbox`` (delivered on commit), and every worker process listens on its own
connection. Polling stays as the safety net.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import structlog
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)

CHANNEL = "redflag_outbox"


def notify_outbox(conn: Connection) -> None:
    """Inside a write transaction: wake the listeners once it commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"NOTIFY {CHANNEL}"))


def _conninfo(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen(database_url: str, wake: Callable[[], None]) -> None:
    """Call ``wake`` on every notification; reconnect when the server goes away."""
    delay = 0.5
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                _conninfo(database_url), autocommit=True
            ) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                log.info("outbox_listener_connected")
                delay = 0.5
                # A reconnect may have missed notifications: look once anyway.
                wake()
                async for _ in conn.notifies():
                    wake()
        except (psycopg.Error, OSError):
            log.warning("outbox_listener_lost", retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
