"""PostgreSQL stopped during a burst of webhooks: receiving answers 503 while it is
down, nothing that got a 200 is lost, and everything is delivered once it is back.

The test runs its own PostgreSQL cluster (initdb as the postgres user), so that it
can stop and start it without touching the machine's server.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.fake_receivers import FakeControlRoom
from app.local_server import ServiceThread, free_port
from app.models import Alert
from app.store import Store, migrate
from tests.builders import alert, meta_body, meta_headers
from tests.databases import ON_POSTGRES

PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = pytest.mark.skipif(
    not ON_POSTGRES or not PG_BINS or os.geteuid() != 0 or not shutil.which("runuser"),
    reason="needs PostgreSQL's binaries and root to run a private cluster",
)


class PrivateCluster:
    def __init__(self) -> None:
        self.bin = Path(PG_BINS[-1])
        self.dir = Path(tempfile.mkdtemp(prefix="redflag-pg-"))
        self.port = free_port()
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres(
            self.bin / "initdb",
            "-D",
            self.dir / "data",
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            self.bin / "pg_ctl",
            "-D",
            self.dir / "data",
            "-o",
            options,
            "-l",
            self.dir / "log",
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(
            self.bin / "pg_ctl", "-D", self.dir / "data", "-m", "fast", "-w", "stop"
        )

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _as_postgres(*args: object) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, args)],
            check=True,
            capture_output=True,
        )


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    made = PrivateCluster()
    made.start()
    yield made
    made.remove()


def test_postgres_stopped_during_a_burst_loses_nothing(
    cluster: PrivateCluster,
    start_service: Callable[..., ServiceThread],
    room: FakeControlRoom,
) -> None:
    migrate(cluster.url)
    service = start_service(
        database_url=cluster.url, sms_gateway_url="", worker_poll_s=0.2
    )
    statuses: dict[str, list[int]] = {}

    def partner() -> None:
        """Sends 60 alerts, retrying each on 503 or a broken connection."""
        with httpx.Client(base_url=service.url, timeout=5) as http:
            for i in range(60):
                alert_id = f"rf-pgdown-{i}"
                body = meta_body(alert(alert_id))
                statuses[alert_id] = []
                while not statuses[alert_id] or statuses[alert_id][-1] != 200:
                    try:
                        response = http.post(
                            "/webhooks/meta", content=body, headers=meta_headers(body)
                        )
                        statuses[alert_id].append(response.status_code)
                    except httpx.TransportError:
                        statuses[alert_id].append(0)
                    if statuses[alert_id][-1] != 200:
                        time.sleep(0.2)
                time.sleep(0.05)

    sender = threading.Thread(target=partner)
    sender.start()
    time.sleep(1.0)
    cluster.stop()
    time.sleep(2.0)
    cluster.start()
    sender.join(timeout=60)

    refused = [s for codes in statuses.values() for s in codes if s != 200]
    assert refused and set(refused) == {503}
    assert all(codes[-1] == 200 for codes in statuses.values())
    received = room.wait_for(60, timeout_s=30)
    assert {r.json()["alert_id"] for r in received} == set(statuses)
    store = Store(cluster.url)
    try:
        stored = store.read_sync(
            lambda conn: conn.execute(select(func.count()).select_from(Alert)).scalar()
        )
    finally:
        store.close()
    assert stored == 60
