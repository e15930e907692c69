"""Ingest benchmark: how many signed alerts a second the service takes in, next to a
bare FastAPI app, and how long an alert takes from receipt to the control room.

    .venv/bin/python bench/ingest.py        (``make bench``; needs ``wrk``)

1. Baseline: ``uvicorn bench.bare_app:app --workers 1``, a POST that answers ``{}``.
2. The service, three ways, each on fresh fakes (a control room and an MSG91
   gateway in a third process) and a fresh database. Every request is ``POST
   /webhooks/meta`` with one signed alert under a new ``alert_id``; the 200 comes
   once its event is committed.

   - ``service``: ``python -m app serve`` on SQLite as it runs by default: it
     writes each event's alerts right after the answer and delivers them while
     wrk is still running, on the same two cores.
   - ``receive``: ``serve`` on SQLite receiving only (``REDFLAG_EXPAND_AFTER_
     ANSWER=false``, its worker and escalator off); when wrk stops, ``python -m
     app worker`` starts and writes every alert and delivers it. This is the
     cost of the answer alone, and how long the backlog then takes.
   - ``split``: ``serve`` receiving only and a ``worker`` beside it from the
     start, both on PostgreSQL (a fresh database on ``--pg``), as the service
     scales out.

3. wrk, the same for all: a short warm-up, then ``-t1 -c32 -d10s``.
4. Receipt to room: a fresh service gets 1,000 alerts on a fixed schedule from a
   Python client, at 50 a second and then (another fresh service) at 200; for
   each alert, the fake room's clock at receipt minus the ``received_at`` the
   service put in the document it delivered, and the same for the SMS gateway.

Everything runs on 127.0.0.1. A summary is printed and written as JSON to
``bench/results/ingest-<date>.json``. The exit status is 1 if any request was
refused or failed, or any alert answered was not stored and delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import hashlib
import hmac
import importlib.metadata
import json
import math
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import create_engine, make_url
from sqlalchemy import text as sql
from sqlalchemy.pool import NullPool

from app.demo import (
    DEMO_META_SECRETS,
    DEMO_ROOM_SECRET,
    DEMO_SMS_AUTHKEY,
    DEMO_STANDARD_SECRET,
    DEMO_VERIFY_TOKEN,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "ingest.lua"
RESULTS = BENCH / "results"
META_PATH = "/webhooks/meta"
TARGET_RATIO = 0.35
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CONFIGURATIONS = {
    "service": "serve alone on SQLite: receives, expands and delivers while wrk runs",
    "receive": (
        "serve on SQLite, receiving only (REDFLAG_EXPAND_AFTER_ANSWER=false); "
        "a worker process is started when wrk stops and expands and delivers all"
    ),
    "split": (
        "serve receiving only, and a worker process beside it expanding and "
        "delivering while wrk runs, on PostgreSQL"
    ),
}
UNFINISHED = ("pending", "sending")
NOISE_CORES = 0.25  # CPU used by anything not ours, above which a run is noisy
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Where the alerts come from, in turn; each lands in one room (HTTP and SMS).
LOCATIONS: list[dict[str, Any]] = [
    {
        "city": "Kota",
        "locality": "Talwandi",
        "pincode": "324005",
        "state": "Rajasthan",
        "source": "profile",
    },
    {
        "district": "Jaipur",
        "city": "Jaipur",
        "locality": "Malviya Nagar",
        "state": "Rajasthan",
        "source": "post",
    },
    {"city": "Kota", "locality": "Kunhadi", "state": "Rajasthan", "source": "profile"},
    {"city": "Ajmer", "pincode": "305001", "state": "Rajasthan", "source": "profile"},
    {
        "district": "Kota",
        "lat": 25.1802,
        "lon": 75.8333,
        "accuracy_m": 50,
        "source": "device",
    },
    {
        "city": "Udaipur",
        "locality": "Hiran Magri",
        "state": "Rajasthan",
        "source": "profile",
    },
]


# --- request bodies -----------------------------------------------------------------


def alert_value(alert_id: str, index: int) -> dict[str, Any]:
    """One red-flag alert, shaped like the sample requests."""
    return {
        "alert_id": alert_id,
        "flagged_at": "2025-10-09T14:20:05+05:30",
        "platform": "instagram",
        "risk": {"category": "suicide", "level": "high"},
        "subject": {
            "account_id": str(17841400000000000 + index),
            "username": f"sample_user_{index:06d}",
            "display_name": "Sample Student",
            "age_band": "16-18",
        },
        "content": {
            "content_id": str(18000000000000000 + index),
            "kind": "post",
            "excerpt": "अब और नहीं सहा जाता, सब खत्म करना चाहता हूँ",
            "language": "hi",
        },
        "location": LOCATIONS[index % len(LOCATIONS)],
        "contact": {"phone": f"+9199999{index % 100000:05d}"},
        "status": "actual",
    }


def meta_body(value: dict[str, Any], *, entry_time: int) -> bytes:
    document = {
        "object": "safety_alert",
        "entry": [
            {
                "id": "ent-0",
                "time": entry_time,
                "changes": [{"field": "red_flag", "value": value}],
            }
        ],
    }
    return json.dumps(document, ensure_ascii=False).encode()


def meta_signature(body: bytes) -> str:
    key = DEMO_META_SECRETS[0].encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def signed_alert(alert_id: str, index: int) -> tuple[bytes, str]:
    body = meta_body(alert_value(alert_id, index), entry_time=int(time.time()))
    return body, meta_signature(body)


def write_bodies(path: Path, prefix: str, count: int) -> None:
    """``count`` signed one-alert bodies, one a line: signature, tab, body."""
    with path.open("wb") as out:
        for index in range(count):
            body, signature = signed_alert(f"{prefix}-{index:06d}", index)
            out.write(signature.encode() + b"\t" + body + b"\n")


# --- processes ----------------------------------------------------------------------


def _die_with_parent() -> None:
    """Children get SIGTERM if this process dies without cleaning up (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    stdin: int | None = None,
    stdout: int | IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """A child in the repository root. With ``log``, its stderr goes there, and its
    stdout too unless ``stdout`` is given; without, both go nowhere."""
    log_file = log.open("ab") if log is not None else None
    try:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=stdout or log_file or subprocess.DEVNULL,
            stderr=log_file or subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    finally:
        if log_file is not None:
            log_file.close()


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(
    url: str, process: subprocess.Popen[bytes], log: Path, *, method: str = "GET"
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.request(method, url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text(errors='replace')}")


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a running process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idling, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / CLK_TCK  # guest time is already in user


def tcp_troubles() -> dict[str, int]:
    """Machine-wide counts of SYNs dropped at a full accept queue and resent (each
    resend costs the client a second), from /proc/net/netstat."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            counts = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return {
                "listen_overflows": int(counts.get("ListenOverflows", 0)),
                "syn_retransmits": int(counts.get("TCPSynRetrans", 0)),
            }
    return {}


class CpuWatch:
    """CPU use, in cores, of named processes and of the whole machine over a span;
    ``other`` is what the machine spent on anything not named (another job).
    ``tcp`` holds the growth of ``tcp_troubles`` over the span."""

    def __init__(self, pids: dict[str, int]):
        self._pids = pids
        self._before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        self._machine = machine_busy_seconds()
        self._tcp = tcp_troubles()
        self._started = time.monotonic()
        self.tcp: dict[str, int] = {}

    def stop(self, **extra_seconds: float) -> dict[str, float | None]:
        elapsed = time.monotonic() - self._started
        cores: dict[str, float | None] = {}
        for name, pid in self._pids.items():
            now, then = cpu_seconds(pid), self._before[name]
            cores[name] = (
                None if now is None or then is None else (now - then) / elapsed
            )
        for name, seconds in extra_seconds.items():
            cores[name] = seconds / elapsed
        cores["machine"] = (machine_busy_seconds() - self._machine) / elapsed
        ours = sum(v for k, v in cores.items() if v is not None and k != "machine")
        cores["other"] = max(0.0, cores["machine"] - ours)
        self.tcp = {k: v - self._tcp.get(k, 0) for k, v in tcp_troubles().items()}
        return cores


class Receivers:
    """The fake control room and SMS gateway, in their own process (see
    ``receivers_main``), so their threads do not share a GIL with anything here."""

    def __init__(self, workdir: Path):
        self.log = workdir / "receivers.log"
        self.process = spawn(
            [sys.executable, str(Path(__file__).resolve()), "--receivers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            log=self.log,
        )
        hello = self._read()
        self.room_url: str = hello["room"]
        self.sms_url: str = hello["sms"]

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            output = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"the fake receivers' process stopped:\n{output}")
        return json.loads(line)

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop(self.process)


def receivers_main() -> int:
    """``bench/ingest.py --receivers``: serve the fakes, answer commands on stdin."""
    from http.server import ThreadingHTTPServer

    from app.fake_receivers import FakeControlRoom, FakeMsg91

    # The standard library listens with a backlog of 5; the worker opens up to 32
    # connections at once (the fakes speak HTTP/1.0, one request a connection), and
    # every SYN dropped at a full queue costs a one-second resend. A real endpoint
    # listens with a longer queue, so the fakes do here (this process only).
    ThreadingHTTPServer.request_queue_size = 1024
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    room = FakeControlRoom(signing_secret=DEMO_ROOM_SECRET).start()
    sms = FakeMsg91(authkey=DEMO_SMS_AUTHKEY).start()

    def emit(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    try:
        emit({"room": room.url, "sms": sms.flow_url})
        for line in sys.stdin:
            command = line.strip()
            room_ok, sms_ok = room.accepted(), sms.accepted()
            if command == "counts":
                emit(
                    {
                        "room_received": len(room.received),
                        "room_accepted": len(room_ok),
                        "room_distinct": len(
                            {r.headers["webhook-id"] for r in room_ok}
                        ),
                        "sms_received": len(sms.received),
                        "sms_accepted": len(sms_ok),
                    }
                )
            elif command == "records":
                rooms = []
                for r in room_ok:
                    doc = r.json()
                    rooms.append(
                        {
                            "at": r.at,
                            "alert_id": doc["alert_id"],
                            "ref": doc["reference"],
                            "received_at": doc["received_at"],
                            "room": doc["room"],
                            "key": r.headers["webhook-id"],
                        }
                    )
                texts = [
                    {"at": r.at, "ref": str(recipient.get("ref")).removeprefix("TEST ")}
                    for r in sms_ok
                    for recipient in r.json().get("recipients", [])
                ]
                emit({"room": rooms, "sms": texts})
            else:
                emit({"error": f"unknown command {command!r}"})
    finally:
        room.stop()
        sms.stop()
    return 0


def service_env(
    workdir: Path, receivers: Receivers, database_url: str = ""
) -> dict[str, str]:
    return {
        **os.environ,
        "REDFLAG_DEMO_MODE": "true",
        "REDFLAG_DATABASE_URL": database_url or f"sqlite:///{workdir / 'relay.db'}",
        "REDFLAG_META_APP_SECRETS": ",".join(DEMO_META_SECRETS),
        "REDFLAG_META_VERIFY_TOKEN": DEMO_VERIFY_TOKEN,
        "REDFLAG_STANDARD_WEBHOOK_SECRETS": DEMO_STANDARD_SECRET,
        "REDFLAG_ROOM_BASE_URL": receivers.room_url,
        "REDFLAG_ROOM_SIGNING_SECRET": DEMO_ROOM_SECRET,
        "REDFLAG_SMS_GATEWAY_URL": receivers.sms_url,
        "REDFLAG_SMS_AUTHKEY": DEMO_SMS_AUTHKEY,
        "REDFLAG_SMS_TEMPLATE_ID": "1207170000000000001",
        "REDFLAG_LOG_LEVEL": "WARNING",
    }


@dataclass
class Stack:
    url: str
    process: subprocess.Popen[bytes]
    receivers: Receivers | None = None
    db: str | None = None
    worker: subprocess.Popen[bytes] | None = None
    start_worker: Callable[[], subprocess.Popen[bytes]] | None = None


def db_counts(url: str) -> dict[str, Any]:
    """Alerts stored, deliveries by state and events waiting, read beside the
    running service."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            alerts = conn.execute(sql("SELECT count(*) FROM alerts")).scalar_one()
            states = dict(
                conn.execute(
                    sql("SELECT state, count(*) FROM deliveries GROUP BY state")
                ).all()
            )
            retried = conn.execute(
                sql("SELECT count(*) FROM deliveries WHERE attempts > 1")
            ).scalar_one()
            waiting = conn.execute(
                sql("SELECT count(*) FROM events WHERE expanded_at IS NULL")
            ).scalar_one()
    finally:
        engine.dispose()
    return {
        "alerts": alerts,
        "deliveries": states,
        "retried": retried,
        "events_waiting": waiting,
    }


@contextlib.contextmanager
def fresh_database(directory: Path, pg_url: str | None) -> Iterator[str]:
    """A new SQLite file in ``directory``, or a new database on the PostgreSQL
    server of ``pg_url``, dropped afterwards."""
    if pg_url is None:
        yield f"sqlite:///{directory / 'relay.db'}"
        return
    name = f"redflag_bench_{os.getpid()}_{directory.name}".replace("-", "_")
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(sql(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def wait_drained(stack: Stack, *, timeout_s: float) -> tuple[dict[str, Any], float]:
    """Wait until no event waits for its alerts and no delivery is pending or being
    sent; the counts and the wait."""
    assert stack.db is not None
    started = time.monotonic()
    while True:
        counts = db_counts(stack.db)
        waiting = counts["events_waiting"] + sum(
            n for state, n in counts["deliveries"].items() if state in UNFINISHED
        )
        waited = time.monotonic() - started
        if not waiting or waited > timeout_s:
            return counts, waited
        time.sleep(0.1)


@contextlib.contextmanager
def bare_app(workdir: Path) -> Iterator[Stack]:
    port = free_port()
    log = workdir / "bare.log"
    process = spawn(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        log=log,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url + META_PATH, process, log, method="POST")
        yield Stack(url, process)
    finally:
        stop(process)


# What ``serve`` is told when a ``worker`` process beside it does everything after
# the answer: expanding events into alerts, delivering and escalating.
RECEIVE_ONLY = {
    "REDFLAG_EXPAND_AFTER_ANSWER": "false",
    "REDFLAG_WORKER_ENABLED": "false",
    "REDFLAG_ESCALATION_ENABLED": "false",
}


@contextlib.contextmanager
def service(
    workdir: Path,
    name: str,
    *,
    worker: str | None = None,
    pg_url: str | None = None,
) -> Iterator[Stack]:
    """Fresh fakes, a fresh database (SQLite, or PostgreSQL with ``pg_url``) and
    ``python -m app serve``. With ``worker``, ``serve`` only receives and
    ``python -m app worker`` does the rest: started ``"beside"`` it at once, or
    ``"after"`` the load, by ``Stack.start_worker``."""
    directory = workdir / name
    directory.mkdir()
    with fresh_database(directory, pg_url) as database_url:
        receivers = None
        process = None
        workers: list[subprocess.Popen[bytes]] = []
        try:
            receivers = Receivers(directory)
            port = free_port()
            log = directory / "serve.log"
            env = service_env(directory, receivers, database_url)
            process = spawn(
                [sys.executable, "-m", "app", "serve", "--port", str(port)],
                env=env | RECEIVE_ONLY if worker else env,
                log=log,
            )
            url = f"http://127.0.0.1:{port}"
            wait_ready(url + "/readyz", process, log)

            def start_worker() -> subprocess.Popen[bytes]:
                started = spawn(
                    [sys.executable, "-m", "app", "worker"],
                    env=env,
                    log=directory / "worker.log",
                )
                workers.append(started)
                return started

            stack = Stack(url, process, receivers, database_url)
            if worker == "beside":
                stack.worker = start_worker()
            elif worker == "after":
                stack.start_worker = start_worker
            yield stack
            for child, child_log in [(process, log)] + [
                (w, directory / "worker.log") for w in workers
            ]:
                if child.poll() is not None:
                    output = child_log.read_text(errors="replace")[-4000:]
                    raise RuntimeError(f"a process stopped during the run:\n{output}")
        finally:
            for started in workers:
                stop(started)
            stop(process)
            if receivers is not None:
                receivers.stop()


# --- wrk ----------------------------------------------------------------------------


@dataclass
class WrkRun:
    requests: int
    seconds: float
    statuses: dict[str, int]
    errors: dict[str, int]
    latency_us: dict[str, float]
    wrapped: bool
    bodies: int
    cpu: dict[str, float | None] = field(default_factory=dict)
    tcp: dict[str, int] = field(default_factory=dict)
    output: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not code.startswith("2"))

    @property
    def socket_errors(self) -> int:
        return sum(n for kind, n in self.errors.items() if kind != "status")

    @property
    def ok(self) -> int:
        return sum(n for code, n in self.statuses.items() if code.startswith("2"))


def run_wrk(
    wrk: str,
    url: str,
    bodies: Path,
    *,
    seconds: float,
    connections: int,
    threads: int,
    watch: dict[str, int],
) -> WrkRun:
    """One wrk run; ``watch`` names processes whose CPU use over the run is noted."""
    args = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        url + META_PATH,
        "--",
        str(bodies),
        str(threads),
    ]
    cpu_watch = CpuWatch(watch)
    with tempfile.TemporaryFile() as out:
        process = spawn(args, stdout=out)
        try:
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            stop(process)
        out.seek(0)
        output = out.read().decode(errors="replace")
    cpu = cpu_watch.stop(wrk=usage.ru_utime + usage.ru_stime)
    line = next((x for x in output.splitlines() if x.startswith("BENCH-JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    data = json.loads(line.removeprefix("BENCH-JSON "))
    return WrkRun(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        statuses=data["statuses"],
        errors=data["errors"],
        latency_us=data["latency_us"],
        wrapped=data["wrapped"],
        bodies=data["bodies"],
        cpu=cpu,
        tcp=cpu_watch.tcp,
        output=output,
    )


# --- receipt to control room --------------------------------------------------------


@dataclass
class Sent:
    alert_id: str
    at: float
    status: int | None = None
    seconds: float | None = None
    error: str | None = None


async def send_steadily(url: str, count: int, rate: float) -> list[Sent]:
    """``count`` alerts, one every 1/rate s whatever the answers take (open loop)."""
    prepared = [signed_alert(f"room-{i:06d}", i) for i in range(count)]
    results = [Sent(f"room-{i:06d}", 0.0) for i in range(count)]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def send(index: int) -> None:
            body, signature = prepared[index]
            result = results[index]
            headers = {
                "content-type": "application/json",
                "x-hub-signature-256": signature,
            }
            result.at = time.time()
            started = time.perf_counter()
            try:
                response = await client.post(META_PATH, content=body, headers=headers)
            except httpx.HTTPError as exc:
                result.error = type(exc).__name__
            else:
                result.status = response.status_code
            result.seconds = time.perf_counter() - started

        tasks = []
        start = time.perf_counter() + 0.05
        for index in range(count):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(index)))
        await asyncio.gather(*tasks)
    return results


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread_ms(values: list[float]) -> dict[str, float | None]:
    ms = [v * 1000 for v in values]
    return {
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else None,
        "n": len(ms),
    }


def receipt_to_room(stack: Stack, *, count: int, rate: float) -> dict[str, Any]:
    assert stack.receivers is not None
    watch = CpuWatch(
        {"server": stack.process.pid, "receivers": stack.receivers.process.pid}
    )
    driver = time.process_time()
    sent = asyncio.run(send_steadily(stack.url, count, rate))
    ok = [s for s in sent if s.status == 200]
    stored, drain_s = wait_drained(stack, timeout_s=60)
    cpu = watch.stop(driver=time.process_time() - driver)
    counts = stack.receivers.ask("counts")
    records = stack.receivers.ask("records")
    send_times = sorted(s.at for s in sent)
    span = send_times[-1] - send_times[0]

    wanted = {s.alert_id for s in sent}
    first_at: dict[str, dict[str, Any]] = {}
    for record in records["room"]:
        if record["alert_id"] in wanted:
            seen = first_at.get(record["alert_id"])
            if seen is None or record["at"] < seen["at"]:
                first_at[record["alert_id"]] = record
    room_delays = [
        r["at"] - datetime.fromisoformat(r["received_at"]).timestamp()
        for r in first_at.values()
    ]
    by_ref = {r["ref"]: r for r in first_at.values()}
    sms_first: dict[str, float] = {}
    for text in records["sms"]:
        record = by_ref.get(text["ref"])
        if record is not None:
            at = sms_first.get(text["ref"])
            sms_first[text["ref"]] = text["at"] if at is None else min(at, text["at"])
    sms_delays = [
        at - datetime.fromisoformat(by_ref[ref]["received_at"]).timestamp()
        for ref, at in sms_first.items()
    ]
    sent_at = {s.alert_id: s.at for s in sent}
    end_to_end = [r["at"] - sent_at[a] for a, r in first_at.items()]
    statuses: dict[str, int] = {}
    for s in sent:
        key = str(s.status) if s.status is not None else (s.error or "error")
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "alerts": count,
        "rate_per_s": rate,
        "achieved_rate_per_s": (count - 1) / span if span > 0 else None,
        "statuses": statuses,
        "response_ms": spread_ms([s.seconds for s in ok if s.seconds is not None]),
        "receipt_to_room_ms": spread_ms(room_delays),
        "receipt_to_gateway_ms": spread_ms(sms_delays),
        "send_to_room_ms": spread_ms(end_to_end),
        "room_arrived": len(first_at),
        "room_posts": len([r for r in records["room"] if r["alert_id"] in wanted]),
        "sms_arrived": len(sms_first),
        "receiver_counts": counts,
        "stored": stored,
        "drain_s_after_last_answer": drain_s,
        "cpu": cpu,
        "tcp": watch.tcp,
    }


# --- the run ------------------------------------------------------------------------


def machine_info(wrk: str, workdir: Path) -> dict[str, Any]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                args, capture_output=True, text=True, check=False, cwd=ROOT
            ).stdout.strip()
        except OSError:
            return ""

    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in ("fastapi", "starlette", "uvicorn", "sqlalchemy", "httpx"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return {
        "nproc": run("nproc") or str(os.cpu_count()),
        "cpu": cpu_model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": run(wrk, "-v").splitlines()[0].split(" [")[0] if wrk else "",
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
        "tmp_filesystem": run("stat", "-f", "-c", "%T", str(workdir)),
        "git_commit": run("git", "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(run("git", "status", "--porcelain", "--", "app")),
        # Identifies uncommitted changes to what is measured, if any.
        "git_diff_sha1": hashlib.sha1(
            run("git", "diff", "HEAD", "--", "app", "pyproject.toml").encode()
        ).hexdigest()[:12],
    }


def command_line() -> str:
    args = " ".join(sys.argv[1:])
    return f".venv/bin/python bench/ingest.py{' ' + args if args else ''}"


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def report(results: dict[str, Any]) -> list[str]:
    """Print the summary; return the problems found."""
    m, cfg = results["machine"], results["config"]
    bare, runs = results["bare"], results["runs"]
    problems: list[str] = []

    print(f"\nredflag-relay ingest benchmark, {results['date']}")
    print(f"command: {results['command']}")
    print(
        f"machine: nproc {m['nproc']}, {m['cpu']}, Linux {m['kernel']}, "
        f"Python {m['python']}, {m['wrk']}, "
        f"SQLite {m['sqlite']} on {m['tmp_filesystem']}"
    )
    print(
        f"load:    wrk -t{cfg['threads']} -c{cfg['connections']} "
        f"-d{cfg['duration_s']:g}s after a {cfg['warmup_s']:g} s warm-up, "
        "one signed alert per POST /webhooks/meta, every alert_id new\n"
    )
    for name, run in runs.items():
        print(f"{name}: {run['label']}")
    header = (
        f"\n{'target':10} {'req/s':>7} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'non-2xx':>7} {'sockerr':>7}  CPU in cores"
    )
    print(header)
    print("-" * len(header))
    rows = [("bare", bare, 1.0)] + [
        (name, run["wrk"], run["ratio"]) for name, run in runs.items()
    ]
    for label, wrk_run, ratio in rows:
        lat, cpu = wrk_run["latency_us"], wrk_run["cpu"]
        shares = ", ".join(
            f"{key} {fmt(value, 2)}" for key, value in cpu.items() if value is not None
        )
        print(
            f"{label:10} {wrk_run['rps']:7.0f} {ratio:6.3f} {lat['p50'] / 1000:7.1f} "
            f"{lat['p99'] / 1000:7.1f} {lat['max'] / 1000:7.1f} "
            f"{wrk_run['non_2xx']:7d} {wrk_run['socket_errors']:7d}  {shares}"
        )
    print(f"\ntarget: ratio >= {TARGET_RATIO} of bare; met by: ", end="")
    met = [name for name, run in runs.items() if run["ratio"] >= TARGET_RATIO]
    print(", ".join(met) or "none")
    print(
        '(CPU "other": the kernel, this script, other jobs; in a PostgreSQL run,'
        " PostgreSQL too)"
    )
    for name, run in runs.items():
        drain = run["deliveries"]
        done = (drain["deliveries_when_wrk_stopped"] or {}).get("delivered", 0)
        total = sum(drain["deliveries"].values())
        print(
            f"{name}: {drain['alerts_stored']} alerts stored over warm-up and run "
            f"({drain['answered_200']} answers 200 before wrk stopped; "
            f"{drain['events_waiting_when_wrk_stopped']} events still to expand "
            f"then), {total} deliveries, {done} of them sent when wrk stopped, "
            f"the last {fmt(drain['drain_s'])} s later; the room verified "
            f"{drain['room_accepted']} POSTs ({drain['room_distinct']} distinct "
            f"webhook-ids), the gateway took {drain['sms_accepted']}; "
            f"{drain['retried']} retried"
        )
    tcp: dict[str, int] = {}
    for wrk_run in [bare] + [run["wrk"] for run in runs.values()]:
        for key, value in wrk_run["tcp"].items():
            tcp[key] = tcp.get(key, 0) + value
    if any(tcp.values()):
        print(
            f"TCP during the runs: {tcp.get('listen_overflows')} SYNs dropped at a "
            f"full accept queue, {tcp.get('syn_retransmits')} resent"
        )

    header = (
        f"{'receipt to room':24} {'rate/s':>6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'arrived':>9}"
    )
    print(f"\n{header}")
    print("-" * len(header))
    for room in results["receipt_to_room"]:
        rows = (
            ("receipt -> room (HTTP)", "receipt_to_room_ms", room["room_arrived"]),
            ("receipt -> gateway (SMS)", "receipt_to_gateway_ms", room["sms_arrived"]),
            ("webhook answer (client)", "response_ms", room["statuses"].get("200", 0)),
        )
        for label, key, arrived in rows:
            s = room[key]
            share = f"{arrived}/{room['alerts']}"
            print(
                f"{label:24} {room['rate_per_s']:6g} {fmt(s['p50']):>8} "
                f"{fmt(s['p99']):>8} {fmt(s['max']):>8} {share:>9}"
            )
    print(
        "(each rate: a fresh service and fresh fakes; the alerts are sent on a "
        "fixed schedule whatever the answers take)"
    )
    for room in results["receipt_to_room"]:
        cpu, tcp = room["cpu"], room["tcp"]
        names = ("server", "receivers", "driver")
        shares = ", ".join(f"{name} {fmt(cpu.get(name), 2)}" for name in names)
        print(
            f"  at {room['rate_per_s']:g}/s: CPU {shares}, the rest "
            f"{fmt(cpu.get('other'), 2)}; deliveries retried "
            f"{room['stored']['retried']}; SYNs dropped "
            f"{tcp.get('listen_overflows')}, resent {tcp.get('syn_retransmits')}"
        )

    for label, wrk_run in [("bare", bare)] + [
        (name, run["wrk"]) for name, run in runs.items()
    ]:
        if wrk_run["non_2xx"] or wrk_run["socket_errors"]:
            problems.append(
                f"{label}: {wrk_run['non_2xx']} non-2xx {wrk_run['statuses']}, "
                f"socket errors {wrk_run['errors']}"
            )
    for name, run in runs.items():
        drain = run["deliveries"]
        if run["wrk"]["wrapped"] or drain["warmup_wrapped"]:
            problems.append(f"{name}: wrk ran out of bodies, so alert_ids repeated")
        stored = drain["alerts_stored"]
        if (
            stored < drain["answered_200"]
            or drain["room_distinct"] < stored
            or drain["sms_accepted"] < stored
            or set(drain["deliveries"]) != {"delivered"}
        ):
            problems.append(f"{name} run: not every alert reached room and gateway")
    for room in results["receipt_to_room"]:
        rate = f"receipt run at {room['rate_per_s']:g}/s"
        if room["statuses"] != {"200": room["alerts"]}:
            problems.append(f"{rate}: webhook answers {room['statuses']}")
        if min(room["room_arrived"], room["sms_arrived"]) < room["alerts"]:
            problems.append(f"{rate}: not every alert reached the room and gateway")
    noisy = [
        f"{label} ({other:.2f} cores)"
        for label, other in [
            ("bare run", bare["cpu"].get("other") or 0.0),
        ]
        + [
            (f"{name} run", run["wrk"]["cpu"].get("other") or 0.0)
            for name, run in runs.items()
            if not run["postgresql"]
        ]
        + [
            (f"receipt run at {r['rate_per_s']:g}/s", r["cpu"].get("other") or 0.0)
            for r in results["receipt_to_room"]
        ]
        if other > NOISE_CORES
    ]
    results["noisy"] = noisy
    if noisy:
        print(
            "\nNOTE: something else used the CPU during " + ", ".join(noisy) + "; "
            "those figures are lower than a quiet machine gives. Run again."
        )
    if problems:
        print("\nPROBLEMS:\n  " + "\n  ".join(problems))
    return problems


def wrk_summary(run: WrkRun) -> dict[str, Any]:
    return {
        "rps": run.rps,
        "requests": run.requests,
        "seconds": run.seconds,
        "latency_us": run.latency_us,
        "statuses": run.statuses,
        "non_2xx": run.non_2xx,
        "errors": run.errors,
        "socket_errors": run.socket_errors,
        "wrapped": run.wrapped,
        "bodies": run.bodies,
        "cpu": run.cpu,
        "tcp": run.tcp,
        "wrk_output": run.output,
    }


def rates(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def measure(
    stack: Stack, warm_then_run: Any, files: dict[str, Path]
) -> tuple[WrkRun, dict[str, Any]]:
    """wrk against one service, then everything it took in delivered."""
    assert stack.receivers is not None and stack.db is not None
    watch = {"server": stack.process.pid, "receivers": stack.receivers.process.pid}
    if stack.worker is not None:
        watch["worker"] = stack.worker.pid
    warm, run = warm_then_run(stack, watch, files["warm"], files["run"])
    at_stop = db_counts(stack.db)
    if stack.start_worker is not None:
        print("  starting the worker ...", flush=True)
        stack.worker = stack.start_worker()
    print("  waiting for the deliveries to drain ...", flush=True)
    stored, drain_s = wait_drained(stack, timeout_s=900)
    return run, {
        "alerts_stored": stored["alerts"],
        "answered_200": warm.ok + run.ok,
        "warmup_wrapped": warm.wrapped,
        "deliveries": stored["deliveries"],
        "deliveries_when_wrk_stopped": at_stop["deliveries"],
        "events_waiting_when_wrk_stopped": at_stop["events_waiting"],
        "events_waiting_at_end": stored["events_waiting"],
        "retried": stored["retried"],
        "drain_s": drain_s,
        **stack.receivers.ask("counts"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--alerts", type=int, default=1000, help="per receipt run")
    parser.add_argument(
        "--rates", type=rates, default=[50.0, 200.0], help="receipt runs, alerts/s"
    )
    parser.add_argument(
        "--pg",
        default=os.environ.get("REDFLAG_TEST_PG_URL", DEFAULT_PG_URL),
        help="a PostgreSQL server for the serve + worker run (a database is made)",
    )
    parser.add_argument("--out", type=Path, help="default bench/results/ingest-DATE")
    parser.add_argument("--receivers", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.receivers:
        return receivers_main()

    wrk = shutil.which("wrk") or ""
    if not wrk:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="redflag-bench-"))
    load = {
        "connections": options.connections,
        "threads": options.threads,
    }
    try:
        # The bare app reads no body, so its requests may repeat; the service's
        # may not, so its files are sized from the bare rate, which it cannot beat.
        bare_bodies = workdir / "bare.bodies"
        write_bodies(bare_bodies, "bare", 2000)

        def warm_then_run(
            stack: Stack, watch: dict[str, int], warm: Path, run: Path
        ) -> tuple[WrkRun, WrkRun]:
            first = run_wrk(
                wrk, stack.url, warm, seconds=options.warmup, watch=watch, **load
            )
            second = run_wrk(
                wrk, stack.url, run, seconds=options.duration, watch=watch, **load
            )
            return first, second

        print("baseline: bare FastAPI app ...", flush=True)
        with bare_app(workdir) as stack:
            _, bare = warm_then_run(
                stack, {"server": stack.process.pid}, bare_bodies, bare_bodies
            )

        files = {}
        for name, seconds in (("warm", options.warmup), ("run", options.duration)):
            files[name] = workdir / f"{name}.bodies"
            write_bodies(files[name], name, math.ceil(bare.rps * seconds * 1.25) + 500)
        runs = {}
        for name, worker, pg_url in (
            ("service", None, None),
            ("receive", "after", None),
            ("split", "beside", options.pg),
        ):
            print(f"service: {CONFIGURATIONS[name]} ...", flush=True)
            with service(workdir, f"wrk-{name}", worker=worker, pg_url=pg_url) as stack:
                runs[name] = measure(stack, warm_then_run, files)
        receipts = []
        for rate in options.rates:
            print(f"receipt to room: {options.alerts} alerts at {rate:g}/s ...")
            with service(workdir, f"room-{rate:g}") as stack:
                receipts.append(receipt_to_room(stack, count=options.alerts, rate=rate))

        now = datetime.now(UTC)
        results = {
            "benchmark": "ingest",
            "date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "command": command_line(),
            "machine": machine_info(wrk, workdir),
            "config": {
                "duration_s": options.duration,
                "warmup_s": options.warmup,
                "connections": options.connections,
                "threads": options.threads,
                "receipt_alerts": options.alerts,
                "receipt_rates_per_s": options.rates,
                "sqlite_synchronous": "FULL (the default)",
            },
            "bare": wrk_summary(bare),
            "runs": {
                name: {
                    "label": CONFIGURATIONS[name],
                    "postgresql": name == "split",
                    "wrk": wrk_summary(run),
                    "ratio": run.rps / bare.rps,
                    "deliveries": deliveries,
                }
                for name, (run, deliveries) in runs.items()
            },
            "target_ratio": TARGET_RATIO,
            "receipt_to_room": receipts,
        }
        problems = report(results)
        results["problems"] = problems
        out = options.out or RESULTS / f"ingest-{now:%Y-%m-%d}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"\nresults written to {out}")
        return 1 if problems else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; the processes it started are stopped", file=sys.stderr)
        sys.exit(130)
