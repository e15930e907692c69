"""``redflag-relay demo``: the whole path on the sample requests.

A fresh SQLite file, the example rooms file, a fake control room and a fake MSG91
gateway on loopback; every request of ``app/data/cases/cases.json`` is sent as its
exact bytes, each expectation is checked, and one line per delivery is printed.
The exit status is 1 if any expectation is not met or anything is not delivered.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.clock import ShiftedClock
from app.expansion import new_alerts_of
from app.fake_receivers import FakeControlRoom, FakeMsg91
from app.local_server import ServiceThread
from app.logs import configure_logging
from app.main import create_app
from app.models import Alert, Delivery
from app.room_config import load_rooms
from app.settings import EXAMPLE_ROOMS_FILE, Settings
from app.store import Store, as_utc, migrate

CASES_DIR = Path(__file__).parent / "data" / "cases"

# The invented secrets the sample requests were signed with (see cases/README.md).
DEMO_META_SECRETS = ["demo-meta-app-secret-2f7c", "demo-meta-app-secret-old-91ab"]
DEMO_VERIFY_TOKEN = "demo-verify-token-5d1e"
DEMO_STANDARD_SECRET = "whsec_cmFqYXN0aGFuLWFsZXJ0LXRlc3Qta2V5LTMyYnl0ZXM="
DEMO_ROOM_SECRET = "whsec_ZGVtby1yb29tLXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
DEMO_SMS_AUTHKEY = "demo-msg91-authkey"


@dataclass
class Demo:
    """The demo's moving parts, also used by the tests that replay the cases."""

    workdir: Path
    room: FakeControlRoom
    sms: FakeMsg91
    service: ServiceThread
    clock: ShiftedClock
    settings: Settings
    failures: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, workdir: Path, **overrides: Any) -> Demo:
        room = FakeControlRoom(signing_secret=DEMO_ROOM_SECRET).start()
        sms = FakeMsg91(authkey=DEMO_SMS_AUTHKEY).start()
        settings = demo_settings(workdir, sms_url=sms.flow_url, **overrides)
        migrate(settings.database_url)
        rooms = load_rooms(
            EXAMPLE_ROOMS_FILE,
            demo_mode=True,
            environ={
                "REDFLAG_ROOM_BASE_URL": room.url,
                "REDFLAG_ROOM_SIGNING_SECRET": DEMO_ROOM_SECRET,
            },
        )
        clock = ShiftedClock()
        app = create_app(settings, rooms=rooms, webhook_clock=clock)
        service = ServiceThread(app).start()
        return cls(workdir, room, sms, service, clock, settings)

    def stop(self) -> None:
        self.service.stop()
        self.room.stop()
        self.sms.stop()

    def send_case(self, client: httpx.Client, case: dict[str, Any]) -> httpx.Response:
        """Send one sample request as its exact bytes, with the clock it expects."""
        clock_at = case["expect"].get("clock")
        if clock_at is not None:
            self.clock.stand_at(clock_at)
        try:
            if case["method"] == "GET":
                return client.get(case["path"], params=case["query"] or {})
            body = (CASES_DIR / case["body_file"]).read_bytes()
            return client.post(case["path"], content=body, headers=case["headers"])
        finally:
            self.clock.reset()


def demo_settings(workdir: Path, *, sms_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{workdir / 'demo.db'}",
        "demo_mode": True,
        "meta_app_secrets": DEMO_META_SECRETS,
        "meta_verify_token": DEMO_VERIFY_TOKEN,
        "standard_webhook_secrets": [DEMO_STANDARD_SECRET],
        "sms_gateway_url": sms_url,
        "sms_authkey": DEMO_SMS_AUTHKEY,
        "sms_template_id": "1207170000000000001",
        "public_base_url": "https://relay.example.in",
        "worker_poll_s": 0.5,
        "retry_base_s": 0.2,
    }
    return Settings(**(values | overrides))


def load_cases() -> list[dict[str, Any]]:
    return json.loads((CASES_DIR / "cases.json").read_text(encoding="utf-8"))


def check_case(demo: Demo, case: dict[str, Any], response: httpx.Response) -> list[str]:
    """What in one case's outcome differs from what it expects."""
    expect = case["expect"]
    problems = []
    if response.status_code != expect["status"]:
        problems.append(f"status {response.status_code}, expected {expect['status']}")
    if "body" in expect and response.text != expect["body"]:
        problems.append("handshake body differs")
    if "content_type" in expect:
        media_type = response.headers.get("content-type", "").split(";")[0]
        if media_type != expect["content_type"]:
            problems.append(f"content type {media_type}")
    rooms = demo.service.server.config.app.state.rooms
    store = Store(demo.settings.database_url)
    try:
        if response.status_code == 200 and "alerts" in expect:
            # The alerts are written right after the answer.
            demo.service.settled()
            event_id = response.json()["event_id"]
            created = store.read_sync(lambda conn: new_alerts_of(conn, event_id))
            if not expect["alerts"] and created != 0:
                problems.append("a repeated alert created a new one")
        for wanted in expect.get("alerts", []):
            row = store.read_sync(
                lambda conn, alert_id=wanted["alert_id"]: (
                    conn.execute(
                        select(Alert.__table__).where(Alert.alert_id == alert_id)
                    )
                    .mappings()
                    .first()
                )
            )
            if row is None:
                problems.append(f"{wanted['alert_id']}: not stored")
                continue
            alert = row
            label = wanted["alert_id"]
            for key in ("district", "police_district"):
                if key in wanted and alert[key] != wanted[key]:
                    problems.append(f"{label}: {key} {alert[key]!r}")
            if alert["route_kind"] != wanted["route"]:
                problems.append(f"{label}: route {alert['route_kind']}")
            for flag in wanted.get("flags", []):
                if flag not in alert["route_flags"]:
                    problems.append(f"{label}: flag {flag} missing")
            for district in wanted.get("also", []):
                room_id = rooms.room_for(district=district, police_district=None)
                if room_id not in alert["rooms"]:
                    problems.append(f"{label}: no copy to {district}")
    finally:
        store.close()
    return problems


def delivery_table(settings: Settings) -> list[dict[str, Any]]:
    store = Store(settings.database_url)
    try:
        rows = store.read_sync(
            lambda conn: conn.execute(
                select(
                    Alert.alert_id,
                    Alert.district,
                    Alert.police_district,
                    Alert.received_at,
                    Delivery.room_id,
                    Delivery.channel,
                    Delivery.recipient,
                    Delivery.state,
                    Delivery.delivered_at,
                    Delivery.idempotency_key,
                )
                .join(Delivery, Delivery.alert_pk == Alert.id)
                .order_by(Alert.id, Delivery.id)
            ).all()
        )
    finally:
        store.close()
    table = []
    for row in rows:
        ms = None
        if row.delivered_at is not None:
            elapsed = as_utc(row.delivered_at) - as_utc(row.received_at)
            ms = elapsed.total_seconds() * 1000
        table.append({**row._asdict(), "ms": ms})
    return table


def run_demo(*, keep: bool = False) -> int:
    configure_logging(level="WARNING", fmt="console")
    workdir = Path(tempfile.mkdtemp(prefix="redflag-demo-"))
    demo = Demo.start(workdir)
    try:
        print(
            f"service {demo.service.url}, control room {demo.room.url}, "
            f"SMS gateway {demo.sms.url}, database {workdir / 'demo.db'}\n"
        )
        with httpx.Client(base_url=demo.service.url, timeout=10) as client:
            for case in load_cases():
                response = demo.send_case(client, case)
                problems = check_case(demo, case, response)
                mark = "ok  " if not problems else "FAIL"
                status = response.status_code
                print(f"{mark} {case['id']:34} {status}  {'; '.join(problems)}")
                demo.failures += [f"{case['id']}: {p}" for p in problems]

        table = _wait_for_deliveries(demo)
        print()
        header = (
            f"{'alert id':10} {'district':12} {'police district':16} "
            f"{'control room':16} {'channel':7} {'to':9} {'delivered':9} {'ms':>7}"
        )
        print(header)
        print("-" * len(header))
        for row in table:
            delivered = "yes" if row["state"] == "delivered" else row["state"]
            ms = f"{row['ms']:7.1f}" if row["ms"] is not None else "      -"
            # The room's own channel, or a person the escalation step pages (the
            # officers on shift); never their number.
            to = (row["recipient"] or "room").split(":", 1)[0]
            print(
                f"{row['alert_id']:10} {row['district'] or '-':12} "
                f"{row['police_district'] or '-':16} {row['room_id']:16} "
                f"{row['channel']:7} {to:9} {delivered:9} {ms}"
            )
        undelivered = [r for r in table if r["state"] != "delivered"]
        demo.failures += [
            f"{r['alert_id']} to {r['room_id']} by {r['channel']} not delivered"
            for r in undelivered
        ]
        room_keys = {r.headers.get("webhook-id") for r in demo.room.accepted()}
        for row in table:
            if row["channel"] == "http" and row["idempotency_key"] not in room_keys:
                demo.failures.append(f"{row['alert_id']}: the room did not verify it")
        print(
            f"\n{len(table)} deliveries, {len(table) - len(undelivered)} delivered; "
            f"the fake room verified {len(demo.room.accepted())} signed POSTs, the "
            f"fake gateway took {len(demo.sms.accepted())} SMS requests"
        )
    finally:
        demo.stop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)

    if demo.failures:
        print("\nFAILED:\n  " + "\n  ".join(demo.failures))
        return 1
    print("\nall expectations met")
    return 0


def _wait_for_deliveries(
    demo: Demo, *, timeout_s: float = 20.0
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        table = delivery_table(demo.settings)
        if all(r["state"] in ("delivered", "dead") for r in table):
            return table
        if time.monotonic() > deadline:
            return table
        time.sleep(0.1)
