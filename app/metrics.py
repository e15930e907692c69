"""Prometheus metrics at ``/metrics``. Labels are fixed codes, never input values."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool

from app.outbox import delivery_counts

WEBHOOKS = Counter(
    "redflag_webhook_requests_total",
    "Partner requests by endpoint and outcome (stored, or the error code).",
    ["endpoint", "outcome"],
)
ALERTS = Counter("redflag_alerts_created_total", "New alerts by route kind.", ["route"])
ATTEMPTS = Counter(
    "redflag_delivery_attempts_total",
    "Delivery attempts by channel and what came of them.",
    ["channel", "outcome"],
)
RECEIPT_TO_DELIVERY = Histogram(
    "redflag_receipt_to_delivery_seconds",
    "From the partner's request to a control room's 2xx, per channel.",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
ESCALATIONS = Counter(
    "redflag_escalation_steps_total",
    "Escalation steps taken, and those that found a gap (an empty slot, no one).",
    ["outcome"],
)
ACKNOWLEDGEMENTS = Counter(
    "redflag_alert_actions_total",
    "Control-room actions on alerts (acknowledge, unacknowledge, resolve).",
    ["action"],
)

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    from app.expansion import count_waiting  # it counts alerts created, from here

    store = request.app.state.store
    counts = await run_in_threadpool(store.read_sync, delivery_counts)
    waiting = await run_in_threadpool(store.read_sync, count_waiting)
    lines = [
        "# HELP redflag_deliveries Deliveries in the outbox by state.",
        "# TYPE redflag_deliveries gauge",
        *(f'redflag_deliveries{{state="{state}"}} {n}' for state, n in counts.items()),
        "# HELP redflag_events_waiting Events answered whose alerts are not written.",
        "# TYPE redflag_events_waiting gauge",
        f"redflag_events_waiting {waiting}",
    ]
    body = generate_latest() + ("\n".join(lines) + "\n").encode()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
