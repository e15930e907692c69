"""The application: settings, rooms and gazetteer in; routes, worker and store wired.

``create_app`` builds nothing at import time. The lifespan starts the store's writer,
the shared outbound HTTP client and the delivery worker, and stops them in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from app import health, metrics, webhooks
from app.circuit import CircuitBreaker
from app.clock import Clock, SystemClock
from app.gazetteer import Gazetteer, load_gazetteer
from app.http_errors import RequestIdMiddleware, install_error_handlers
from app.intake import Intake
from app.notifiers.base import Notifier
from app.notifiers.http import USER_AGENT, HttpNotifier
from app.notifiers.msg91 import Msg91Gateway
from app.notifiers.sms import SmsGateway, SmsNotifier, default_template_text
from app.notifiers.twilio import TwilioGateway
from app.outbox import RetryPolicy, release_leases
from app.room_config import RoomsConfig, load_rooms
from app.schemas import payload_components
from app.settings import Settings
from app.sms_text import DltTemplate
from app.store import Store
from app.worker import DeliveryWorker

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings,
    *,
    rooms: RoomsConfig | None = None,
    gazetteer: Gazetteer | None = None,
    clock: Clock | None = None,
    webhook_clock: Clock | None = None,
) -> FastAPI:
    """The service. ``webhook_clock`` checks partner timestamps (default ``clock``)."""
    rooms = rooms or load_rooms(settings.rooms_file, demo_mode=settings.demo_mode)
    if not settings.sms_enabled and rooms.sms_enabled:
        rooms = rooms.without_sms()
        log.warning("sms_disabled", reason="REDFLAG_SMS_GATEWAY_URL is empty")
    settings.check_secrets(sms_enabled=rooms.sms_enabled)
    gazetteer = gazetteer or load_gazetteer()
    clock = clock or SystemClock()
    webhook_clock = webhook_clock or clock

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.database_url, synchronous=settings.sqlite_synchronous)
        store.start()
        client = httpx.AsyncClient(
            headers={"user-agent": USER_AGENT},
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            timeout=httpx.Timeout(settings.attempt_timeout_s),
            follow_redirects=False,
        )
        worker = None
        worker_task = None
        if settings.worker_enabled:
            if settings.is_sqlite:
                # One process owns a SQLite file, so any lease left is a dead one's.
                released = await store.write(release_leases)
                if released:
                    log.warning("delivery_leases_released", count=released)
            worker = DeliveryWorker(
                store=store,
                notifiers=_notifiers(settings, client, clock),
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
            )
            worker_task = asyncio.create_task(worker.run(), name="delivery-worker")

        app.state.store = store
        app.state.worker = worker
        app.state.intake = Intake(
            settings=settings,
            store=store,
            gazetteer=gazetteer,
            rooms=rooms,
            clock=clock,
            webhook_clock=webhook_clock,
            on_new_deliveries=worker.wake if worker is not None else (lambda: None),
        )
        log.info("service_started", rooms=len(rooms.rooms), worker=worker is not None)
        try:
            yield
        finally:
            if worker_task is not None:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
            await client.aclose()
            store.close()
            log.info("service_stopped")

    app = FastAPI(
        title="redflag-relay",
        version="0.1.0",
        summary="Relays red-flag alerts to Rajasthan police control rooms.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.rooms = rooms
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(webhooks.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    _document_payload(app)
    return app


def _document_payload(app: FastAPI) -> None:
    """Add the partner payload's schemas, which no route parameter declares."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(
                payload_components()
            )
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _notifiers(
    settings: Settings, client: httpx.AsyncClient, clock: Clock
) -> dict[str, Notifier]:
    breaker = CircuitBreaker(
        failure_threshold=settings.breaker_failures,
        cooldown_s=settings.breaker_cooldown_s,
    )
    notifiers: dict[str, Notifier] = {
        "http": HttpNotifier(
            client=client,
            clock=clock,
            timeout_s=settings.attempt_timeout_s,
            public_base_url=settings.public_base_url,
            breaker=breaker,
        )
    }
    gateways = sms_gateways(settings, client)
    if gateways:
        notifiers["sms"] = SmsNotifier(
            gateways=gateways,
            template=DltTemplate(
                template_id=settings.sms_template_id or "unregistered",
                text=settings.sms_template_text
                or default_template_text(settings.public_base_url),
                max_variable_length=settings.sms_max_variable_length,
            ),
            breaker=breaker,
        )
    return notifiers


def sms_gateways(settings: Settings, client: httpx.AsyncClient) -> list[SmsGateway]:
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
