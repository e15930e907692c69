"""Delivers an alert to a control room's HTTPS endpoint as a signed JSON POST.

Signed by the Standard Webhooks scheme with the room's ``whsec_`` secret, so a
room can verify it with any Standard Webhooks library. ``webhook-id`` is the
delivery's idempotency key: the same on every attempt, so a room drops duplicates.
"""

from __future__ import annotations

from app.circuit import CircuitBreaker
from app.clock import Clock
from app.errors import DeliveryError
from app.messages import alert_document, alert_link
from app.notifiers.base import Outbound, SendResult, parse_retry_after
from app.outbound import OutboundClient, OutboundTimeout, OutboundUnreachable, Reply
from app.payload import dumps
from app.signatures import sign_standard

USER_AGENT = "redflag-relay/0.1"


class HttpNotifier:
    channel = "http"

    def __init__(
        self,
        *,
        client: OutboundClient,
        clock: Clock,
        timeout_s: float,
        public_base_url: str,
        breaker: CircuitBreaker | None = None,
    ):
        self._client = client
        self._clock = clock
        self._timeout_s = timeout_s
        self._public_base_url = public_base_url
        self._breaker = breaker or CircuitBreaker()

    async def send(self, outbound: Outbound) -> SendResult:
        http = outbound.room.http
        if http is None:
            raise DeliveryError("room_has_no_http_channel", retryable=False)
        key = f"http:{http.url}"
        if not self._breaker.allow(key):
            raise DeliveryError("circuit_open", retryable=True)

        link = alert_link(
            public_base_url=self._public_base_url, ref=outbound.alert["ref"]
        )
        body = dumps(
            alert_document(
                alert=outbound.alert,
                room_id=outbound.room.id,
                channel=self.channel,
                idempotency_key=outbound.idempotency_key,
                link=link,
            )
        )
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "idempotency-key": outbound.idempotency_key,
            "webhook-id": outbound.idempotency_key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign_standard(
                key=http.signing_key,
                message_id=outbound.idempotency_key,
                timestamp=timestamp,
                body=body,
            ),
        }

        try:
            result = await self._post(http.url, body, headers)
        except DeliveryError as exc:
            if exc.retryable:
                self._breaker.failed(key)
            raise
        self._breaker.succeeded(key)
        return result

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        try:
            response = await self._client.post(
                url, content=body, headers=headers, timeout_s=self._timeout_s
            )
        except OutboundTimeout as exc:
            raise DeliveryError("timeout", retryable=True) from exc
        except OutboundUnreachable as exc:
            raise DeliveryError("connection_error", retryable=True) from exc
        return classify(response)


def classify(response: Reply) -> SendResult:
    """2xx is delivered; 408, 429 and 5xx may pass later; other statuses never will."""
    status = response.status_code
    if 200 <= status < 300:
        return SendResult(status_code=status)
    retryable = status in (408, 425, 429) or status >= 500
    raise DeliveryError(
        f"http_{status}",
        retryable=retryable,
        status_code=status,
        retry_after_s=parse_retry_after(response.headers.get("retry-after")),
    )
