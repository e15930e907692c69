"""The baseline for ``bench/ingest.py``: FastAPI with one POST that only answers 200.

It reads nothing and returns ``{}``, on the same path the service receives alerts
on, so wrk sends both targets the very same requests.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.post("/webhooks/meta")
async def receive() -> dict[str, object]:
    return {}
