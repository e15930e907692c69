"""The application: settings, rooms and gazetteer in; routes, worker and store wired.

``create_app`` builds nothing at import time. The lifespan starts the store's writer,
the shared outbound HTTP client and the delivery worker, the escalator and the
expander, and stops them in reverse.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from fastapi import FastAPI

from app import (
    ack_links,
    console,
    control_room_api,
    gateway_callbacks,
    health,
    metrics,
    webhooks,
)
from app.clock import Clock, SystemClock
from app.console_sessions import SignInThrottle
from app.delivery_runtime import delivering, escalating, expanding, paging_for
from app.gazetteer import Gazetteer, load_gazetteer
from app.http_errors import RequestIdMiddleware, install_error_handlers
from app.intake import Intake
from app.room_config import RoomsConfig, load_rooms
from app.roster import Roster
from app.schemas import payload_components
from app.settings import Settings
from app.store import Store

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
    rooms = checked_rooms(settings, rooms)
    gazetteer = gazetteer or load_gazetteer()
    clock = clock or SystemClock()
    webhook_clock = webhook_clock or clock
    paging = paging_for(settings, rooms, Roster.from_config(rooms))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.database_url, synchronous=settings.sqlite_synchronous)
        store.start()
        app.state.store = store
        app.state.clock = clock
        async with contextlib.AsyncExitStack() as stack:
            worker = None
            if settings.worker_enabled:
                worker = await stack.enter_async_context(
                    delivering(settings=settings, rooms=rooms, store=store, clock=clock)
                )
            app.state.worker = worker
            app.state.wake_worker = worker.wake if worker else (lambda: None)
            escalator = None
            if settings.escalation_enabled:
                escalator = await stack.enter_async_context(
                    escalating(
                        settings=settings,
                        paging=paging,
                        store=store,
                        clock=clock,
                        on_pages=app.state.wake_worker,
                    )
                )
            app.state.escalator = escalator
            # An acknowledgement changes what the escalator has to do at once.
            app.state.on_alert_changed = escalator.wake if escalator else None
            app.state.intake = Intake(
                settings=settings, store=store, clock=clock, webhook_clock=webhook_clock
            )
            # With expansion left to workers, this process never writes alerts.
            app.state.expander = None
            if not settings.expand_after_answer:
                log.warning("expansion_left_to_workers", sqlite=settings.is_sqlite)
            else:
                app.state.expander = await stack.enter_async_context(
                    expanding(
                        settings=settings,
                        store=store,
                        gazetteer=gazetteer,
                        rooms=rooms,
                        paging=paging,
                        clock=clock,
                        on_new_deliveries=app.state.wake_worker,
                        takes_new_events=False,
                    )
                )
            log.info("service_started", rooms=len(rooms.rooms), worker=bool(worker))
            try:
                yield
            finally:
                await stack.aclose()
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
    app.state.paging = paging
    app.state.on_alert_changed = None
    app.state.sign_in_throttle = SignInThrottle()
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(webhooks.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(gateway_callbacks.router)
    app.include_router(control_room_api.router)
    app.include_router(ack_links.router)
    app.include_router(console.router)
    app.mount("/console/static", console.static, name="console-static")
    _document_payload(app)
    return app


def checked_rooms(settings: Settings, rooms: RoomsConfig | None = None) -> RoomsConfig:
    """The rooms to deliver to, with SMS dropped when no gateway is configured, after
    refusing placeholder secrets."""
    rooms = rooms or load_rooms(settings.rooms_file, demo_mode=settings.demo_mode)
    if not settings.sms_enabled and rooms.sms_enabled:
        rooms = rooms.without_sms()
        log.warning("sms_disabled", reason="no SMS gateway is configured")
    settings.check_secrets(sms_enabled=rooms.sms_enabled)
    return rooms


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
