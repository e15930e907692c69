"""A fake control room for benchmarks: an ASGI app under uvicorn, in its own process.

It answers every ``POST /rooms/<id>`` with 204 and keeps, per request, the
``webhook-id``, its own clock at receipt and the ``received_at`` the service put in
the document. ``GET /records`` returns them as JSON; ``GET /count`` the number.
With ``BENCH_ROOM_VERIFY=1`` it also checks each Standard Webhooks signature.

    uvicorn bench.fast_room:app --port 9001 --no-access-log
"""

from __future__ import annotations

import os
import time
from typing import Any

import orjson

_records: list[tuple[str, float, str]] = []
_verifier = None
if os.environ.get("BENCH_ROOM_VERIFY") == "1":
    from standardwebhooks.webhooks import Webhook

    _verifier = Webhook(os.environ["BENCH_ROOM_SECRET"])


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break

    if scope["method"] == "POST":
        at = time.time()
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status = 204
        if _verifier is not None:
            try:
                _verifier.verify(body, headers)
            except Exception:
                status = 401
        if status == 204:
            document = orjson.loads(body)
            _records.append(
                (headers.get("webhook-id", ""), at, document["received_at"])
            )
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return

    if scope["path"] == "/count":
        payload = orjson.dumps({"count": len(_records)})
    else:
        payload = orjson.dumps(_records)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})
