"""The store: one writer, group commits, and no 'database is locked' (F15)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from app.errors import StoreUnavailable
from app.fake_receivers import FakeControlRoom
from app.local_server import ServiceThread
from app.models import Alert
from app.store import Store
from tests.builders import alert, meta_body, meta_headers
from tests.databases import ON_POSTGRES
from tests.test_webhooks import count


def test_f15_fifty_concurrent_webhooks_during_deliveries_and_a_long_read(
    start_service: Callable[..., ServiceThread], room: FakeControlRoom
) -> None:
    service = start_service()
    url = service.server.config.app.state.settings.database_url
    for i in range(10):  # deliveries in flight while the burst arrives
        body = meta_body(alert(f"rf-warm-{i}"))
        httpx.post(
            service.url + "/webhooks/meta", content=body, headers=meta_headers(body)
        )

    reading = threading.Event()

    def long_read() -> None:
        reader = Store(url)
        try:
            with reader.reader_engine.connect() as conn:
                conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
                reading.set()
                time.sleep(2.0)
                conn.execute(text("SELECT count(*) FROM deliveries")).scalar_one()
        finally:
            reader.close()

    def post(i: int) -> int:
        body = meta_body(alert(f"rf-f15-{i}"))
        return httpx.post(
            service.url + "/webhooks/meta",
            content=body,
            headers=meta_headers(body),
            timeout=10,
        ).status_code

    with capture_logs() as logs:
        reader = threading.Thread(target=long_read)
        reader.start()
        reading.wait(5)
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(post, range(50)))
        reader.join()

    assert statuses == [200] * 50
    assert count(service, Alert) == 60
    assert not [e for e in logs if e["log_level"] == "error"]
    assert len(room.wait_for(60, timeout_s=20)) == 60


def test_writes_are_committed_in_groups(db_url: str) -> None:
    store = Store(db_url)
    store.write_sync(lambda conn: conn.execute(text("CREATE TABLE t (n INTEGER)")))
    store.start()

    async def burst() -> None:
        await asyncio.gather(
            *(
                store.write(
                    lambda conn, n=n: conn.execute(text(f"INSERT INTO t VALUES ({n})"))
                )
                for n in range(200)
            )
        )

    asyncio.run(burst())
    rows = store.read_sync(
        lambda conn: conn.execute(text("SELECT count(*) FROM t")).scalar_one()
    )
    store.close()

    assert rows == 200
    assert store.commits < 200


def test_a_failing_write_does_not_take_its_group_down(db_url: str) -> None:
    store = Store(db_url)
    store.write_sync(
        lambda conn: conn.execute(text("CREATE TABLE t (n INTEGER UNIQUE)"))
    )
    store.start()

    async def burst() -> list[object]:
        works = [
            lambda conn, n=n: conn.execute(text(f"INSERT INTO t VALUES ({n})"))
            for n in (1, 2, 2, 3)
        ]
        return await asyncio.gather(
            *(store.write(w) for w in works), return_exceptions=True
        )

    results = asyncio.run(burst())
    rows = store.read_sync(
        lambda conn: conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all()
    )
    store.close()

    assert rows == [1, 2, 3]
    assert sum(isinstance(r, StoreUnavailable) for r in results) == 1


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's journal")
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")

    mode, timeout = store.read_sync(
        lambda conn: (
            conn.execute(text("PRAGMA journal_mode")).scalar_one(),
            conn.execute(text("PRAGMA busy_timeout")).scalar_one(),
        )
    )
    store.close()

    assert (mode, timeout) == ("wal", 5000)


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's file")
@pytest.mark.parametrize("url", ["sqlite:///relative/dir/x.db"])
def test_migrate_creates_the_sqlite_file_under_the_working_directory(
    tmp_path, monkeypatch, url: str
) -> None:
    from app.store import migrate

    monkeypatch.chdir(tmp_path)

    migrate(url)

    assert (tmp_path / "relative" / "dir" / "x.db").exists()


def test_the_migrations_make_exactly_the_tables_the_models_describe(
    db_url: str,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from app.models import Base

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(
                MigrationContext.configure(conn), Base.metadata
            )
    finally:
        engine.dispose()

    assert differences == []
