"""Everything that runs beside the requests, each started and stopped as one: the
expander's pass over waiting events; the shared outbound HTTP client, the notifiers,
the worker, and on PostgreSQL the NOTIFY listener; the escalator.

``serve`` runs it inside the web application's lifespan; ``worker`` runs it alone, so
that more processes can deliver from one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Any

import structlog

from app.circuit import CircuitBreaker
from app.clock import Clock, SystemClock
from app.escalation import Escalator, Paging
from app.expansion import Expander
from app.gazetteer import Gazetteer
from app.notifiers.base import Notifier
from app.notifiers.http import USER_AGENT, HttpNotifier
from app.notifiers.msg91 import Msg91Gateway
from app.notifiers.sms import SmsGateway, SmsNotifier, default_template_text
from app.notifiers.twilio import TwilioGateway
from app.outbound import OutboundClient
from app.outbox import RetryPolicy, release_leases
from app.room_config import RoomsConfig
from app.roster import Roster
from app.settings import Settings
from app.sms_text import DltTemplate
from app.store import Store
from app.wakeup import listen
from app.worker import DeliveryWorker

log = structlog.get_logger(__name__)


def outbound_client(settings: Settings) -> OutboundClient:
    """One client per process. Every call has a timeout, so an endpoint that hangs
    holds a connection for one attempt at most and the pool always recovers."""
    return OutboundClient(
        max_connections=settings.worker_concurrency * 2,
        max_per_host=settings.worker_concurrency,
        timeout_s=settings.attempt_timeout_s,
        user_agent=USER_AGENT,
    )


@contextlib.asynccontextmanager
async def delivering(
    *, settings: Settings, rooms: RoomsConfig, store: Store, clock: Clock
) -> AsyncIterator[DeliveryWorker]:
    if settings.is_sqlite:
        # One process owns a SQLite file, so any lease left is a dead process's.
        released = await store.write(release_leases)
        if released:
            log.warning("delivery_leases_released", count=released)

    client = outbound_client(settings)
    worker = DeliveryWorker(
        store=store,
        notifiers=notifiers(settings, client),
        rooms=rooms,
        clock=clock,
        policy=RetryPolicy(
            base_s=settings.retry_base_s,
            cap_s=settings.retry_cap_s,
            max_attempts=settings.max_attempts,
        ),
        poll_s=settings.worker_poll_s,
        batch=settings.worker_batch,
        concurrency=settings.worker_concurrency,
        lease_s=settings.lease_s,
        link_ttl=timedelta(hours=settings.link_ttl_h),
    )
    tasks = [asyncio.create_task(worker.run(), name="delivery-worker")]
    if not settings.is_sqlite:
        tasks.append(
            asyncio.create_task(
                listen(settings.database_url, worker.wake), name="listen"
            )
        )
    try:
        yield worker
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await client.close()


@contextlib.asynccontextmanager
async def expanding(
    *,
    settings: Settings,
    store: Store,
    gazetteer: Gazetteer,
    rooms: RoomsConfig,
    paging: Paging,
    clock: Clock,
    on_new_deliveries: Callable[[], None],
    takes_new_events: bool,
) -> AsyncIterator[Expander]:
    """The expander, with its pass over waiting events running in the background.
    ``takes_new_events``: this process expands events as soon as they are stored
    elsewhere (a ``worker``), not only those a dead process left behind."""
    recovery_s = settings.expansion_poll_s
    expander = Expander(
        store=store,
        gazetteer=gazetteer,
        rooms=rooms,
        paging=paging,
        clock=clock,
        max_body_bytes=settings.max_body_bytes,
        poll_s=settings.worker_poll_s if takes_new_events else recovery_s,
        grace_s=0.0 if takes_new_events else recovery_s,
        on_new_deliveries=on_new_deliveries,
    )
    async with _running(expander.run(), name="expander"):
        yield expander


def paging_for(settings: Settings, rooms: RoomsConfig, roster: Roster) -> Paging:
    return Paging(
        rooms=rooms,
        roster=roster,
    )


@contextlib.asynccontextmanager
async def escalating(
    *,
    settings: Settings,
    paging: Paging,
    store: Store,
    clock: Clock,
    on_pages: Callable[[], None],
) -> AsyncIterator[Escalator]:
    """The escalator's loop, for as long as the context is open."""
    escalator = Escalator(
        store=store, paging=paging, clock=clock, poll_s=settings.escalation_poll_s
    )
    escalator.on_pages = on_pages
    async with _running(escalator.run(), name="escalator"):
        yield escalator


@contextlib.asynccontextmanager
async def _running(
    loop: Coroutine[Any, Any, None], *, name: str
) -> AsyncIterator[None]:
    """``loop`` as a task for as long as the context is open; cancelled at its end."""
    task = asyncio.create_task(loop, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def notifiers(settings: Settings, client: OutboundClient) -> dict[str, Notifier]:
    breaker = CircuitBreaker(
        failure_threshold=settings.breaker_failures,
        cooldown_s=settings.breaker_cooldown_s,
    )
    found: dict[str, Notifier] = {
        "http": HttpNotifier(
            client=client,
            # The signature's timestamp is checked against the room's wall clock,
            # so it is the system's time even when the service runs on another.
            clock=SystemClock(),
            timeout_s=settings.attempt_timeout_s,
            public_base_url=settings.public_base_url,
            breaker=breaker,
        )
    }
    gateways = sms_gateways(settings, client)
    if gateways:
        found["sms"] = SmsNotifier(
            gateways=gateways,
            template=DltTemplate(
                template_id=settings.sms_template_id or "unregistered",
                text=settings.sms_template_text
                or default_template_text(settings.public_base_url),
                max_variable_length=settings.sms_max_variable_length,
            ),
            breaker=breaker,
        )
    return found


def sms_gateways(settings: Settings, client: OutboundClient) -> list[SmsGateway]:
    """The configured SMS gateways, primary first."""
    gateways: list[SmsGateway] = []
    if settings.sms_gateway_url.strip():
        gateways.append(
            Msg91Gateway(
                client=client,
                url=settings.sms_gateway_url,
                authkey=settings.sms_authkey,
                template_id=settings.sms_template_id,
                sender=settings.sms_sender,
                timeout_s=settings.attempt_timeout_s,
            )
        )
    if settings.twilio_api_url.strip():
        base = settings.public_base_url.rstrip("/")
        gateways.append(
            TwilioGateway(
                client=client,
                api_url=settings.twilio_api_url,
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                sender=settings.twilio_from,
                status_callback=f"{base}/webhooks/sms/twilio",
                timeout_s=settings.attempt_timeout_s,
            )
        )
    return gateways
