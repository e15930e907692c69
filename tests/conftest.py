"""Shared fixtures: a migrated SQLite file per test, fake receivers on loopback, and
the real service running in a thread against them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.clock import Clock
from app.demo import (
    DEMO_META_SECRETS,
    DEMO_ROOM_SECRET,
    DEMO_SMS_AUTHKEY,
    demo_settings,
)
from app.escalation_policy import EscalationPolicy, Notify, Step
from app.fake_receivers import FakeControlRoom, FakeMsg91
from app.local_server import ServiceThread
from app.main import create_app
from app.room_config import RoomsConfig, load_rooms
from app.settings import EXAMPLE_ROOMS_FILE, Settings
from tests.databases import Databases


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """Migrated once per run; each test gets a fresh copy (see tests/databases.py)."""
    made = Databases(tmp_path_factory.mktemp("template"))
    yield made
    made.close()


@pytest.fixture
def db_url(tmp_path: Path, databases: Databases) -> Iterator[str]:
    with databases.fresh(tmp_path) as url:
        yield url


@pytest.fixture
def room() -> Iterator[FakeControlRoom]:
    server = FakeControlRoom(signing_secret=DEMO_ROOM_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def sms() -> Iterator[FakeMsg91]:
    server = FakeMsg91(authkey=DEMO_SMS_AUTHKEY).start()
    yield server
    server.stop()


# The delivery tests look at a room's own channels, so their alerts page the rooms
# they were routed to and nobody else; the escalation tests use the full policy.
ROOMS_ONLY = EscalationPolicy(
    steps=[
        Step(
            after_minutes=0,
            notify=[Notify(target="routed_room", channels=["http", "sms"])],
        )
    ]
)


def example_rooms(
    room_url: str, *, escalation: EscalationPolicy | None = ROOMS_ONLY
) -> RoomsConfig:
    """The example rooms file against the fakes; ``escalation=None`` keeps the
    file's own policy."""
    rooms = load_rooms(
        EXAMPLE_ROOMS_FILE,
        demo_mode=True,
        environ={
            "REDFLAG_ROOM_BASE_URL": room_url,
            "REDFLAG_ROOM_SIGNING_SECRET": DEMO_ROOM_SECRET,
        },
    )
    if escalation is None:
        return rooms
    return rooms.model_copy(update={"escalation": escalation})


@pytest.fixture
def make_settings(
    tmp_path: Path, db_url: str, sms: FakeMsg91
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return demo_settings(
            tmp_path, sms_url=sms.flow_url, **({"database_url": db_url} | overrides)
        )

    return make


@pytest.fixture
def start_service(
    room: FakeControlRoom, make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., ServiceThread]]:
    """Start the real service; stopped at the end of the test."""
    started: list[ServiceThread] = []

    def start(
        *,
        clock: Clock | None = None,
        webhook_clock: Clock | None = None,
        rooms: RoomsConfig | None = None,
        **overrides: Any,
    ) -> ServiceThread:
        settings = make_settings(**overrides)
        app = create_app(
            settings,
            rooms=rooms or example_rooms(room.url),
            clock=clock,
            webhook_clock=webhook_clock,
        )
        service = ServiceThread(app).start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()


@pytest.fixture
def service(start_service: Callable[..., ServiceThread]) -> ServiceThread:
    return start_service()


@pytest.fixture
def client(service: ServiceThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=10) as http:
        yield http


META_SECRET = DEMO_META_SECRETS[0]
