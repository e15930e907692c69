"""The database: engines, migrations, and one writer that commits in groups.

SQLite allows one writer at a time, so every write in the process goes through
``Store.write``: a single thread takes whatever work is waiting, runs it in one
transaction and commits once, and each caller waits for the commit that holds its
own work (a group commit). Work that fails is retried alone, so one bad item never
takes the others' commit with it. Reads run on their own connections in a thread
pool; WAL lets them proceed while the writer works.

PostgreSQL goes through the same writer, which keeps the hot path identical on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from app.errors import StoreUnavailable
from app.payload import dumps

log = structlog.get_logger(__name__)

T = TypeVar("T")
Work = Callable[[Connection], T]

_MAX_GROUP = 256
_STOP = object()


def as_utc(value: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite are naive; every stored time is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _json_dumps(value: Any) -> str:
    return dumps(value).decode()


def make_engine(url: str, *, for_writing: bool, synchronous: str = "FULL") -> Engine:
    """An engine with the pragmas and transaction behaviour the service relies on."""
    if not url.startswith("sqlite"):
        # The writer thread needs one connection; readers share a small pool.
        return create_engine(
            url,
            json_serializer=_json_dumps,
            pool_pre_ping=True,
            pool_size=1 if for_writing else 8,
            max_overflow=0 if for_writing else 8,
        )

    engine = create_engine(
        url,
        json_serializer=_json_dumps,
        # The driver's own transaction handling is switched off so that BEGIN is
        # ours: the writer takes the write lock at BEGIN, never halfway through.
        connect_args={"isolation_level": None, "check_same_thread": False},
        pool_size=1 if for_writing else 8,
        max_overflow=0 if for_writing else 8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if for_writing else "BEGIN")

    return engine


def sqlite_path(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        return Path(url[len(prefix) :])
    return None


def migrate(url: str) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["url"] = url
    command.upgrade(config, "head")


@dataclass(slots=True)
class _Job:
    work: Callable[[Connection], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class Store:
    """Owns the engines and the writer thread. Create one per process."""

    def __init__(self, url: str, *, synchronous: str = "FULL"):
        self.url = url
        self.writer_engine = make_engine(url, for_writing=True, synchronous=synchronous)
        self.reader_engine = make_engine(
            url, for_writing=False, synchronous=synchronous
        )
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="db-read")
        self.commits = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="db-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None
        self._readers.shutdown(wait=True)
        self.writer_engine.dispose()
        self.reader_engine.dispose()

    @property
    def writer_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in a write transaction; return once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(work, loop, future))
        return await future

    async def read(self, work: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, work)

    def read_sync(self, work: Callable[[Connection], T]) -> T:
        return self._read(work)

    def write_sync(self, work: Callable[[Connection], T]) -> T:
        """A write outside the writer thread, for tools that run without it."""
        with self.writer_engine.begin() as conn:
            return work(conn)

    def ping(self) -> bool:
        try:
            self._read(lambda conn: conn.execute(text("SELECT 1")).scalar_one())
        except SQLAlchemyError:
            return False
        return True

    def _read(self, work: Callable[[Connection], T]) -> T:
        try:
            with self.reader_engine.connect() as conn:
                return work(conn)
        except SQLAlchemyError as exc:
            raise StoreUnavailable() from exc

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs = [first]
            stop_after = False
            while len(jobs) < _MAX_GROUP:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stop_after = True
                    break
                jobs.append(job)
            self._commit_group(jobs)
            if stop_after:
                return

    def _commit_group(self, jobs: list[_Job]) -> None:
        try:
            with self.writer_engine.begin() as conn:
                results = [job.work(conn) for job in jobs]
        except Exception as exc:
            if len(jobs) == 1:
                self._settle(jobs[0], error=self._translate(exc))
                return
            for job in jobs:
                self._commit_group([job])
            return
        self.commits += 1
        for job, result in zip(jobs, results, strict=True):
            self._settle(job, result=result)

    @staticmethod
    def _translate(exc: Exception) -> Exception:
        if isinstance(exc, SQLAlchemyError):
            log.error("store_commit_failed", error=type(exc).__name__)
            unavailable = StoreUnavailable()
            unavailable.__cause__ = exc
            return unavailable
        return exc

    @staticmethod
    def _settle(
        job: _Job, *, result: Any = None, error: Exception | None = None
    ) -> None:
        def settle() -> None:
            if job.future.cancelled():
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)

        # A closed loop means the caller is gone and nobody waits for the answer.
        with contextlib.suppress(RuntimeError):
            job.loop.call_soon_threadsafe(settle)
