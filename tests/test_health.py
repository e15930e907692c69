"""Health and readiness, and the 503 that makes the partner retry."""

from __future__ import annotations

import httpx

from app.local_server import ServiceThread
from app.models import Alert
from tests.builders import alert, meta_body, meta_headers
from tests.databases import ON_POSTGRES
from tests.test_notifiers import wait_until
from tests.test_webhooks import assert_error, count


def set_read_only(service: ServiceThread, on: bool) -> None:
    """Make the writer's one connection refuse writes, as a full disk would."""
    raw = service.server.config.app.state.store.writer_engine.raw_connection()
    try:
        cursor = raw.cursor()
        if ON_POSTGRES:
            cursor.execute(
                f"SET default_transaction_read_only = {'on' if on else 'off'}"
            )
            raw.commit()
        else:
            cursor.execute(f"PRAGMA query_only={'ON' if on else 'OFF'}")
        cursor.close()
    finally:
        raw.close()


def test_healthz_answers_while_the_process_runs(client: httpx.Client) -> None:
    response = client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_reports_database_and_worker(client: httpx.Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "worker": "ok"}


def test_readyz_is_503_when_the_writer_has_stopped(
    service: ServiceThread, client: httpx.Client
) -> None:
    service.server.config.app.state.store.close()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["database"] == "down"


def test_a_store_that_cannot_commit_answers_503_and_then_recovers(
    service: ServiceThread, client: httpx.Client
) -> None:
    body = meta_body(alert("rf-503"))
    set_read_only(service, True)

    refused = client.post("/webhooks/meta", content=body, headers=meta_headers(body))
    set_read_only(service, False)
    retried = client.post("/webhooks/meta", content=body, headers=meta_headers(body))

    assert_error(refused, 503, "store_unavailable")
    assert retried.status_code == 200
    assert retried.json()["alerts"] == 1
    assert count(service, Alert) == 1


def metric(client: httpx.Client, line_prefix: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


STORED = 'redflag_webhook_requests_total{endpoint="meta",outcome="stored"}'
REFUSED = 'redflag_webhook_requests_total{endpoint="meta",outcome="signature_invalid"}'
DELIVERED = 'redflag_deliveries{state="delivered"}'
HTTP_LATENCY = 'redflag_receipt_to_delivery_seconds_count{channel="http"}'


def test_metrics_count_stored_events_rejections_and_deliveries(
    service: ServiceThread, client: httpx.Client
) -> None:
    """Counters are process-wide, so the test compares before and after."""
    before = {name: metric(client, name) for name in (STORED, REFUSED, HTTP_LATENCY)}
    body = meta_body(alert("rf-metrics"))

    client.post("/webhooks/meta", content=body, headers=meta_headers(body))
    client.post("/webhooks/meta", content=body, headers={"x-hub-signature-256": "x"})
    wait_until(lambda: metric(client, DELIVERED) == 2)

    assert metric(client, STORED) == before[STORED] + 1
    assert metric(client, REFUSED) == before[REFUSED] + 1
    assert metric(client, HTTP_LATENCY) == before[HTTP_LATENCY] + 1
