"""What every notifier takes and gives back.

A notifier sends one delivery over its channel and either returns a ``SendResult`` or
raises ``DeliveryError`` saying whether a later attempt may succeed. It translates
its transport's failures itself; nothing from httpx leaves a notifier.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None = None
    provider_message_id: str | None = None


class Notifier(Protocol):
    channel: str

    async def send(self, outbound: Outbound) -> SendResult: ...


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; None otherwise."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        # TODO: honour Retry-After as an HTTP date too; until then the normal
        # backoff applies, which is never longer than the configured cap.
        return None
    return seconds if 0 <= seconds < 86_400 else None
