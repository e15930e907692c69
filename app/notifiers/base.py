"""What every notifier takes and gives back.

A notifier sends one delivery over its channel and either returns a ``SendResult`` or
raises ``DeliveryError`` saying whether a later attempt may succeed. It translates
its transport's failures itself; nothing from the HTTP client leaves a notifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from app.room_config import ControlRoom


@dataclass(frozen=True, slots=True)
class Outbound:
    delivery_id: int
    idempotency_key: str
    room: ControlRoom
    channel: str
    attempt: int
    alert: dict[str, Any]
    # A person's (or an alternate) number; None sends to the room's own numbers.
    address: str | None = None
    # The acknowledgement link token an SMS carries (see app.ack_links).
    link_token: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None = None
    provider_message_id: str | None = None
    gateway: str | None = None
    # (recipient, the gateway's message id) for each SMS the gateway accepted
    messages: tuple[tuple[str, str], ...] = field(default=())


class Notifier(Protocol):
    channel: str

    async def send(self, outbound: Outbound) -> SendResult: ...


def parse_retry_after(
    value: str | None, *, now: datetime | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, in seconds or as an HTTP date.

    A date in the past means now; anything unreadable means None, and the normal
    backoff applies.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
