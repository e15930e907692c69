"""The delivery worker: claims due deliveries and hands them to the notifiers.

It runs as a task in the service's event loop. A new delivery wakes it at once
(``wake``); polling every ``poll_s`` is only the safety net for rows written by
another process, and for retries that fall due.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog
from sqlalchemy import Connection

from app.ack_links import issue_links
from app.clock import Clock
from app.errors import DeliveryError, RelayError
from app.logs import crash_fields
from app.metrics import ATTEMPTS, RECEIPT_TO_DELIVERY
from app.notifiers.base import Notifier, Outbound, SendResult
from app.outbox import Claimed, Outcome, RetryPolicy, claim_due, record_outcomes
from app.room_config import RoomsConfig
from app.store import Store

log = structlog.get_logger(__name__)


def claim_with_links(
    conn: Connection, *, now: datetime, lease_s: float, limit: int, link_ttl: timedelta
) -> list[Claimed]:
    """Claim due deliveries, each SMS with a new acknowledgement link."""
    claimed = claim_due(conn, now=now, lease_s=lease_s, limit=limit)
    return issue_links(conn, claimed, now=now, ttl=link_ttl)


class DeliveryWorker:
    def __init__(
        self,
        *,
        store: Store,
        notifiers: Mapping[str, Notifier],
        rooms: RoomsConfig,
        clock: Clock,
        policy: RetryPolicy,
        poll_s: float,
        batch: int,
        concurrency: int,
        lease_s: float,
        link_ttl: timedelta = timedelta(hours=24),
    ):
        self._store = store
        self._notifiers = notifiers
        self._rooms = rooms
        self._clock = clock
        self._policy = policy
        self._poll_s = poll_s
        self._batch = batch
        self._concurrency = concurrency
        self._lease_s = lease_s
        self._link_ttl = link_ttl
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._to_record: list[tuple[Claimed, Outcome, asyncio.Future[Any]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self.last_beat = time.monotonic()

    def wake(self) -> None:
        self._wake.set()

    def is_alive(self, *, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return now - self.last_beat < max(5.0, 3 * self._poll_s)

    async def run(self) -> None:
        try:
            while True:
                self.last_beat = time.monotonic()
                # Cleared before looking, so a wake-up that comes while the claim
                # runs is kept for the sleep below instead of lost.
                self._wake.clear()
                claimed = await self._claim()
                for item in claimed:
                    task = asyncio.create_task(self._deliver(item))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if claimed and self._has_room_for_a_batch():
                    continue
                await self._sleep()
        finally:
            for task in [*self._inflight, self._recorder]:
                if task is not None:
                    task.cancel()

    async def _claim(self) -> list[Claimed]:
        room_for_more = self._concurrency - len(self._inflight)
        if room_for_more <= 0:
            return []
        work = partial(
            claim_with_links,
            now=self._clock.now(),
            lease_s=self._lease_s,
            limit=min(self._batch, room_for_more),
            link_ttl=self._link_ttl,
        )
        try:
            return await self._store.write(work)
        except RelayError:
            log.warning("delivery_claim_failed")
            return []

    async def _sleep(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)

    def _has_room_for_a_batch(self) -> bool:
        """Refill in chunks, not one row per claim, while sends are in flight."""
        free = self._concurrency - len(self._inflight)
        return not self._inflight or free >= max(1, self._concurrency // 2)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if self._has_room_for_a_batch():
            self._wake.set()

    async def _deliver(self, claimed: Claimed) -> None:
        started = self._clock.now()
        try:
            result = await self._send(claimed)
        except DeliveryError as exc:
            outcome = Outcome(
                started_at=started,
                finished_at=self._clock.now(),
                delivered=False,
                status_code=exc.status_code,
                error=exc.reason,
                retryable=exc.retryable,
                retry_after_s=exc.retry_after_s,
            )
        else:
            outcome = Outcome(
                started_at=started,
                finished_at=self._clock.now(),
                delivered=True,
                status_code=result.status_code,
                provider_message_id=result.provider_message_id,
                gateway=result.gateway,
                messages=result.messages,
            )

        try:
            state, next_at = await self._record(claimed, outcome)
        except RelayError:
            # The lease runs out and another claim sends it again, with the same key.
            log.error("delivery_record_failed", delivery_id=claimed.delivery_id)
            return
        self._log(claimed, outcome, state)
        if next_at is not None:
            delay = (next_at - self._clock.now()).total_seconds()
            asyncio.get_running_loop().call_later(max(0.0, delay), self._wake.set)

    async def _record(
        self, claimed: Claimed, outcome: Outcome
    ) -> tuple[str, datetime | None]:
        """Queue an outcome for the next batch write and wait for it."""
        future: asyncio.Future[tuple[str, datetime | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self._to_record.append((claimed, outcome, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._write_records())
        return await future

    async def _write_records(self) -> None:
        """Write every queued outcome, in batches: whatever arrives while one batch
        is being written goes in the next."""
        while self._to_record:
            batch, self._to_record = self._to_record, []
            work = partial(
                record_outcomes,
                settled=[(claimed, outcome) for claimed, outcome, _ in batch],
                policy=self._policy,
            )
            try:
                results = await self._store.write(work)
            except RelayError as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _send(self, claimed: Claimed) -> SendResult:
        notifier = self._notifiers.get(claimed.channel)
        if notifier is None:
            raise DeliveryError("channel_not_configured", retryable=False)
        try:
            room = self._rooms.room(claimed.room_id)
        except KeyError:
            # TODO: send to the fallback room instead, so a room removed from the
            # config while its alerts were in flight still leaves them with a human.
            raise DeliveryError("room_not_configured", retryable=False) from None
        outbound = Outbound(
            delivery_id=claimed.delivery_id,
            idempotency_key=claimed.idempotency_key,
            room=room,
            channel=claimed.channel,
            attempt=claimed.attempt,
            alert=claimed.alert,
            address=claimed.address,
            link_token=claimed.link_token,
        )
        try:
            return await notifier.send(outbound)
        except DeliveryError:
            raise
        except Exception as exc:
            log.error("notifier_crashed", channel=claimed.channel, **crash_fields(exc))
            raise DeliveryError("notifier_crashed", retryable=True) from exc

    @staticmethod
    def _log(claimed: Claimed, outcome: Outcome, state: str) -> None:
        fields = {
            "alert_ref": claimed.alert["ref"],
            "room": claimed.room_id,
            "channel": claimed.channel,
            "attempt": claimed.attempt,
            "delivery_id": claimed.delivery_id,
        }
        ATTEMPTS.labels(claimed.channel, state).inc()
        if state == "delivered":
            elapsed = outcome.finished_at - claimed.alert["received_at"]
            RECEIPT_TO_DELIVERY.labels(claimed.channel).observe(elapsed.total_seconds())
            log.info("delivery_sent", status=outcome.status_code, **fields)
        elif state == "dead":
            log.error("delivery_dead", error=outcome.error, **fields)
        elif state == "superseded":
            log.warning("delivery_lease_lost", **fields)
        else:
            log.warning("delivery_failed", error=outcome.error, **fields)
