"""Waking workers when a delivery is queued or an event stored, instead of on the
next poll.

In one process the expander calls the worker's ``wake`` directly. Across processes on
PostgreSQL, the transaction that queues deliveries also sends ``NOTIFY
redflag_outbox`` (delivered on commit), and every worker process listens on its own
connection; an event stored by a ``serve`` that leaves its alerts to the workers sends
``NOTIFY redflag_events``. Polling stays as the safety net.
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
EVENTS_CHANNEL = "redflag_events"


def notify_outbox(conn: Connection) -> None:
    """Inside a write transaction: wake the listeners once it commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"NOTIFY {CHANNEL}"))


def notify_events(conn: Connection) -> None:
    """Inside a write transaction: an event waits for its alerts once it commits."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"NOTIFY {EVENTS_CHANNEL}"))


def _conninfo(database_url: str) -> str:
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen(
    database_url: str, wake: Callable[[], None], *, channel: str = CHANNEL
) -> None:
    """Call ``wake`` on every notification; reconnect when the server goes away."""
    delay = 0.5
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                _conninfo(database_url), autocommit=True
            ) as conn:
                await conn.execute(f"LISTEN {channel}")
                log.info("outbox_listener_connected", channel=channel)
                delay = 0.5
                # A reconnect may have missed notifications: look once anyway.
                wake()
                async for _ in conn.notifies():
                    wake()
        except (psycopg.Error, OSError):
            log.warning("outbox_listener_lost", channel=channel, retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
