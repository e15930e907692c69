"""Fresh, migrated databases for tests, on SQLite or on PostgreSQL.

``REDFLAG_TEST_DATABASE=postgresql`` runs the suite on the PostgreSQL server named
by ``REDFLAG_TEST_PG_URL`` (default: the local server, user postgres, trust auth).
A template database is migrated once per run; each test gets a copy of it, as SQLite
tests get a copy of a migrated file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from app.store import migrate

BACKEND = os.environ.get("REDFLAG_TEST_DATABASE", "sqlite")
PG_URL = os.environ.get(
    "REDFLAG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ON_POSTGRES = BACKEND == "postgresql"


def _pg_admin():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def pg_url(database: str) -> str:
    return PG_URL.rsplit("/", 1)[0] + "/" + database


class Databases:
    """Makes the template once and hands out copies."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self._template: str | Path | None = None

    def _make_template(self) -> str | Path:
        if ON_POSTGRES:
            name = f"redflag_tmpl_{uuid.uuid4().hex[:8]}"
            with _pg_admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            migrate(pg_url(name))
            return name
        path = self.workdir / "template.db"
        migrate(f"sqlite:///{path}")
        return path

    @contextmanager
    def fresh(self, directory: Path) -> Iterator[str]:
        """The URL of a new, migrated, empty database, dropped afterwards."""
        if self._template is None:
            self._template = self._make_template()
        if not ON_POSTGRES:
            path = directory / f"relay-{uuid.uuid4().hex[:6]}.db"
            shutil.copy(self._template, path)
            yield f"sqlite:///{path}"
            return

        name = f"redflag_t_{uuid.uuid4().hex[:10]}"
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(
                text(
                    f'CREATE DATABASE "{name}" TEMPLATE "{self._template}" '
                    "STRATEGY FILE_COPY"
                )
            )
        try:
            yield pg_url(name)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    def close(self) -> None:
        if ON_POSTGRES and self._template is not None:
            admin = _pg_admin()
            with admin.connect() as conn:
                conn.execute(
                    text(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')
                )
            admin.dispose()
