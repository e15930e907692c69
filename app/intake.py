"""Taking in the partner's webhooks: verify the signature, read the envelope, and
commit the event as received.

``Intake.accept_meta`` and ``Intake.accept_standard`` return once the event is
committed, and the caller answers 2xx then. The event's alerts are written right
after the answer, by ``app.expansion``, from what was read here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Connection, insert

from app.clock import Clock
from app.expansion import StoredEvent
from app.metrics import WEBHOOKS
from app.models import Event
from app.payload import IncomingAlert, expand_meta, expand_standard
from app.receiving import check_json_type, read_document
from app.settings import Settings
from app.signatures import META_HEADER, verify_meta, verify_standard
from app.store import Store
from app.wakeup import notify_events

log = structlog.get_logger(__name__)

events = Event.__table__


@dataclass(frozen=True, slots=True)
class Accepted:
    event: StoredEvent

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "stored",
            "event_id": self.event.event_id,
            "alerts": len(self.event.incoming),
        }


class Intake:
    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        clock: Clock,
        webhook_clock: Clock | None = None,
    ):
        self._settings = settings
        self._store = store
        self._clock = clock
        self._webhook_clock = webhook_clock or clock
        self._meta_keys = settings.meta_app_keys
        self._standard_keys = settings.standard_webhook_keys

    async def accept_meta(self, *, body: bytes, headers: Mapping[str, str]) -> Accepted:
        verify_meta(body=body, header=headers.get(META_HEADER), keys=self._meta_keys)
        document = self._parse(body, headers)
        return await self._store_event(
            endpoint="meta",
            body=body,
            headers=headers,
            message_id=None,
            incoming=expand_meta(document),
        )

    async def accept_standard(
        self, *, body: bytes, headers: Mapping[str, str]
    ) -> Accepted:
        message_id = verify_standard(
            body=body,
            headers=headers,
            keys=self._standard_keys,
            clock=self._webhook_clock,
            tolerance_s=self._settings.timestamp_tolerance_s,
        )
        document = self._parse(body, headers)
        return await self._store_event(
            endpoint="standard",
            body=body,
            headers=headers,
            message_id=message_id[:200],
            incoming=expand_standard(document),
        )

    def _parse(self, body: bytes, headers: Mapping[str, str]) -> Any:
        check_json_type(headers.get("content-type"))
        return read_document(
            body,
            content_encoding=headers.get("content-encoding"),
            limit=self._settings.max_body_bytes,
        )

    async def _store_event(
        self,
        *,
        endpoint: str,
        body: bytes,
        headers: Mapping[str, str],
        message_id: str | None,
        incoming: Sequence[IncomingAlert],
    ) -> Accepted:
        received_at = self._clock.now()
        row = {
            "received_at": received_at,
            "endpoint": endpoint,
            "message_id": message_id,
            "content_type": (headers.get("content-type") or "")[:200] or None,
            "content_encoding": (headers.get("content-encoding") or "")[:50] or None,
            "body": body,
            "alert_count": len(incoming),
            "new_alert_count": 0,
            # An event with nothing to expand is done as it is stored.
            "expanded_at": None if incoming else received_at,
        }

        leave_to_workers = bool(incoming) and not self._settings.expand_after_answer

        def work(conn: Connection) -> int:
            if leave_to_workers:
                notify_events(conn)
            return conn.execute(_INSERT_EVENT, row).scalar_one()

        event_id = await self._store.write(work)
        WEBHOOKS.labels(endpoint, "stored").inc()
        log.info(
            "event_stored", event_id=event_id, endpoint=endpoint, alerts=len(incoming)
        )
        return Accepted(StoredEvent(event_id, endpoint, received_at, incoming))


_INSERT_EVENT = insert(events).returning(events.c.id)
