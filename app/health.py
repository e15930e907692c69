"""Liveness and readiness, for operations and the container's health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and the worker is alive")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    database = await run_in_threadpool(state.store.ping) and state.store.writer_alive
    worker = state.worker is None or state.worker.is_alive()
    ready = database and worker
    body = {
        "status": "ready" if ready else "not_ready",
        "database": "ok" if database else "down",
        "worker": "disabled"
        if state.worker is None
        else ("ok" if worker else "stalled"),
    }
    return JSONResponse(body, status_code=200 if ready else 503)
