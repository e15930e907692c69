"""The one outbound HTTP client of a process, which every notifier sends through.

It holds an aiohttp session: a connection pool with a limit in all and per host,
keep-alive, and a timeout on every call, so an endpoint that hangs holds a
connection for one attempt at most and the pool always recovers.

Why aiohttp and not httpx, which the rest of the project (tests, benchmarks) uses:
measured on this service's machine against the same loopback room, httpx spent
1.8 to 2.7 ms of CPU a request (its pool polls every pooled socket on each request
and each response), aiohttp 0.15 ms. The worker sends several messages an alert,
so the client decides how fast a queue drains (see docs/benchmarks.md).

Failures come out as ``OutboundTimeout`` or ``OutboundUnreachable``; a notifier
turns them into its own ``DeliveryError``. Nothing from aiohttp leaves this module.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp


class OutboundError(Exception):
    """A call that got no answer."""


class OutboundTimeout(OutboundError):
    pass


class OutboundUnreachable(OutboundError):
    """No connection, or the connection broke before a whole answer came."""


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer, whole; header names in lower case."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return json.loads(self.body)


class OutboundClient:
    def __init__(
        self,
        *,
        max_connections: int = 64,
        max_per_host: int = 32,
        timeout_s: float = 10.0,
        user_agent: str = "redflag-relay",
    ):
        self._limits = (max_connections, max_per_host)
        self._timeout_s = timeout_s
        self._headers = {"user-agent": user_agent}
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running event loop, as aiohttp wants.
        if self._session is None or self._session.closed:
            total, per_host = self._limits
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=total, limit_per_host=per_host, keepalive_timeout=30
                ),
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
                trust_env=False,
            )
        return self._session

    async def post(
        self,
        url: str,
        *,
        content: bytes | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> Reply:
        """POST one of ``content`` (bytes), ``json_body`` or ``form``."""
        options: dict[str, Any] = {
            "headers": dict(headers or {}),
            "allow_redirects": False,
        }
        if json_body is not None:
            options["json"] = json_body
        elif form is not None:
            options["data"] = dict(form)
        else:
            options["data"] = content or b""
        if auth is not None:
            user, password = auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            options["headers"]["authorization"] = f"Basic {token}"
        if timeout_s is not None:
            options["timeout"] = aiohttp.ClientTimeout(total=timeout_s)

        try:
            async with self._open().post(url, **options) as response:
                body = await response.read()
                headers = {k.lower(): v for k, v in response.headers.items()}
                return Reply(response.status, headers, body)
        except TimeoutError as exc:
            raise OutboundTimeout() from exc
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            # ValueError: a URL aiohttp cannot read; nothing was sent.
            raise OutboundUnreachable() from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            # Give the connector's transports a turn to close before the loop ends.
            await asyncio.sleep(0)
