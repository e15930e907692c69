"""Drain benchmark: 10,000 queued deliveries sent to a fake control room on loopback
by one, then two, ``redflag-relay worker`` processes on PostgreSQL; then the time from
receipt to the room with two ``serve`` replicas taking a steady stream of alerts.

    .venv/bin/python -m bench.drain          (``make bench-drain``)

A baseline in the same run: the same number of signed POSTs to the same room from a
bare client (the service's own outbound client, nothing else to do).

Needs the PostgreSQL server named by ``BENCH_PG_URL`` (default the local one, user
postgres). Each run uses a database of its own, dropped afterwards. The fake room
(``bench/fast_room.py``) runs under uvicorn in its own process and does not check
signatures unless ``--verify`` is given. SMS is off: every alert is one HTTP delivery.
Prints a summary and writes it as JSON to ``bench/results/drain-<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from app.demo import DEMO_ROOM_SECRET
from app.expansion import count_waiting
from app.local_server import free_port
from app.store import migrate
from tests.builders import alert, meta_body, meta_headers
from tests.processes import RelayProcess, relay_env

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def database() -> Any:
    name = f"redflag_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def fast_room(*, verify: bool) -> Any:
    port = free_port()
    env = {
        **os.environ,
        "BENCH_ROOM_SECRET": DEMO_ROOM_SECRET,
        "BENCH_ROOM_VERIFY": "1" if verify else "0",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.fast_room:app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            _poll.get(url + "/count")
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


# One client for all polling: a new httpx client builds an SSL context (about 20 ms
# of CPU), which would otherwise take a core's worth from the processes measured.
_poll = httpx.Client(timeout=10)


def count(room_url: str) -> int:
    return _poll.get(room_url + "/count").json()["count"]


def queue(db_url: str, room_url: str, total: int) -> None:
    """Queue ``total`` alerts through a serve process whose worker is off."""
    # Escalation off: each alert is then exactly one delivery, to its room.
    env = relay_env(
        db_url=db_url,
        room_url=room_url,
        sms_url="",
        worker_enabled="false",
        escalation_enabled="false",
    )
    serve = RelayProcess("serve", env).start()
    try:
        batch = 1000
        with httpx.Client(base_url=serve.url, timeout=60) as client:
            for start in range(0, total, batch):
                ids = range(start, min(start + batch, total))
                body = meta_body(*(alert(f"rf-drain-{i}") for i in ids))
                response = client.post(
                    "/webhooks/meta", content=body, headers=meta_headers(body)
                )
                assert response.json()["alerts"] == len(ids), response.text
        # The alerts and their deliveries are written right after each answer.
        wait_expanded(db_url)
    finally:
        serve.stop()
    # Statistics, as autovacuum gathers them once a table has grown: a database made
    # a moment ago has none, and its planner would sort the whole queue per claim.
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE deliveries"))
    engine.dispose()


def wait_expanded(db_url: str, *, timeout_s: float = 120.0) -> None:
    engine = create_engine(db_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                if not count_waiting(conn):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("events are still waiting for their alerts")
            time.sleep(0.1)
    finally:
        engine.dispose()


def drain(*, processes: int, total: int, verify: bool) -> dict[str, Any]:
    with database() as db_url, fast_room(verify=verify) as room_url:
        queue(db_url, room_url, total)
        env = relay_env(
            db_url=db_url,
            room_url=room_url,
            sms_url="",
            worker_concurrency="64",
            worker_batch="64",
            escalation_enabled="false",
        )
        started = time.monotonic()
        workers = [RelayProcess("worker", env).start() for _ in range(processes)]
        try:
            while count(room_url) < total:
                if time.monotonic() - started > 300:
                    raise RuntimeError("the queue did not drain in 300 s")
                time.sleep(0.2)
            elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                worker.stop()
        keys = [record[0] for record in _poll.get(room_url + "/records").json()]
    return {
        "processes": processes,
        "deliveries": total,
        "seconds": round(elapsed, 2),
        "per_second": round(total / elapsed, 1),
        "received": len(keys),
        "duplicates": len(keys) - len(set(keys)),
        "note": "includes the workers' start-up (about 1 s of Python imports)",
    }


def end_to_end(*, rate: float, total: int, verify: bool) -> dict[str, Any]:
    """Two serve replicas, each with its worker; alerts alternate between them."""
    with database() as db_url, fast_room(verify=verify) as room_url:
        # Escalation off, as in the drain: one delivery an alert, to its room.
        env = relay_env(
            db_url=db_url, room_url=room_url, sms_url="", escalation_enabled="false"
        )
        replicas = [RelayProcess("serve", env).start() for _ in range(2)]
        try:
            clients = [httpx.Client(base_url=r.url, timeout=10) for r in replicas]
            started = time.monotonic()
            for i in range(total):
                due = started + i / rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                body = meta_body(alert(f"rf-e2e-{i}"))
                response = clients[i % 2].post(
                    "/webhooks/meta", content=body, headers=meta_headers(body)
                )
                assert response.status_code == 200
            deadline = time.monotonic() + 60
            while count(room_url) < total and time.monotonic() < deadline:
                time.sleep(0.05)
            records = _poll.get(room_url + "/records").json()
        finally:
            for replica in replicas:
                replica.stop()
    latencies = sorted(
        (at - datetime.fromisoformat(received_at).timestamp()) * 1000
        for _, at, received_at in records
    )

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "replicas": 2,
        "alerts": total,
        "rate_per_s": rate,
        "delivered": len(latencies),
        "ms": {
            "p50": pct(0.50),
            "p90": pct(0.90),
            "p99": pct(0.99),
            "max": round(latencies[-1], 1),
            "mean": round(statistics.fmean(latencies), 1),
        },
    }


def baseline(*, total: int, verify: bool, concurrency: int = 64) -> dict[str, Any]:
    """The ceiling: the same number of signed POSTs, from one process with the
    service's own outbound client and nothing else to do, to the same fake room."""
    import asyncio

    from app.demo import DEMO_ROOM_SECRET as secret
    from app.outbound import OutboundClient
    from app.settings import decode_whsec
    from app.signatures import sign_standard

    key = decode_whsec(secret)
    body = b'{"received_at": "2026-12-04T00:00:00+00:00"}'

    async def send_all(url: str) -> float:
        client = OutboundClient(max_connections=concurrency * 2)
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            stamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": f"msg_base_{i}",
                "webhook-timestamp": str(stamp),
                "webhook-signature": sign_standard(
                    key=key, message_id=f"msg_base_{i}", timestamp=stamp, body=body
                ),
            }
            async with gate:
                reply = await client.post(url, content=body, headers=headers)
                assert reply.status_code == 204, reply.status_code

        started = time.monotonic()
        try:
            await asyncio.gather(*(one(i) for i in range(total)))
        finally:
            await client.close()
        return time.monotonic() - started

    with fast_room(verify=verify) as room_url:
        elapsed = asyncio.run(send_all(room_url + "/rooms/baseline"))
    return {
        "posts": total,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "per_second": round(total / elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--e2e-alerts", type=int, default=1000)
    parser.add_argument("--e2e-rate", type=float, default=100.0)
    parser.add_argument(
        "--verify", action="store_true", help="the fake room checks every signature"
    )
    parser.add_argument("--out", type=Path, help="default bench/results/drain-DATE")
    args = parser.parse_args()

    results: dict[str, Any] = {
        "benchmark": "drain",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench.drain " + " ".join(sys.argv[1:]),
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version()},
        "room_verifies_signatures": args.verify,
        "drain": [],
    }
    base = baseline(total=args.deliveries, verify=args.verify)
    results["baseline"] = base
    print(
        f"base   a bare client, {base['posts']} signed POSTs to the same room: "
        f"{base['seconds']} s = {base['per_second']}/s"
    )
    for processes in (1, 2):
        run = drain(processes=processes, total=args.deliveries, verify=args.verify)
        results["drain"].append(run)
        print(
            f"drain  {processes} worker process(es): {run['deliveries']} deliveries "
            f"in {run['seconds']} s = {run['per_second']}/s, "
            f"{run['duplicates']} duplicates"
        )
    e2e = end_to_end(rate=args.e2e_rate, total=args.e2e_alerts, verify=args.verify)
    results["end_to_end"] = e2e
    print(
        f"e2e    2 serve replicas, {e2e['alerts']} alerts at {e2e['rate_per_s']}/s: "
        f"receipt to room p50 {e2e['ms']['p50']} ms, p99 {e2e['ms']['p99']} ms, "
        f"max {e2e['ms']['max']} ms ({e2e['delivered']} delivered)"
    )

    out = args.out or (
        ROOT / "bench" / "results" / f"drain-{datetime.now(UTC):%Y-%m-%d}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")
    ok = all(r["received"] >= r["deliveries"] for r in results["drain"])
    return 0 if ok and e2e["delivered"] == e2e["alerts"] else 1


if __name__ == "__main__":
    sys.exit(main())
