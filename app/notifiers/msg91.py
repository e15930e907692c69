"""MSG91's Flow API, the primary SMS gateway.

India requires every commercial SMS to match a DLT-registered template; the Flow API
sends a registered template with its variables filled in, per recipient.

Request: ``POST <gateway>`` (``https://control.msg91.com/api/v5/flow``) with an
``authkey`` header and ``{"template_id", "sender", "short_url", "unicode",
"recipients": [{"mobiles", <variables>}]}``. A success answers ``{"type":
"success", "message": <request id>}``; the delivery reports name that request id.
"""

from __future__ import annotations

from pydantic import SecretStr

from app.errors import DeliveryError
from app.notifiers.base import parse_retry_after
from app.outbound import OutboundClient, OutboundTimeout, OutboundUnreachable, Reply
from app.sms_text import is_gsm7


class Msg91Gateway:
    name = "msg91"

    def __init__(
        self,
        *,
        client: OutboundClient,
        url: str,
        authkey: SecretStr,
        template_id: str,
        sender: str,
        timeout_s: float,
    ):
        self._client = client
        self._url = url
        self._authkey = authkey
        self._template_id = template_id
        self._sender = sender
        self._timeout_s = timeout_s

    async def send(
        self, *, numbers: list[str], text: str, values: dict[str, str]
    ) -> list[tuple[str, str]]:
        body = {
            "template_id": self._template_id,
            "sender": self._sender,
            "short_url": "0",
            "unicode": 0 if is_gsm7(text) else 1,
            "recipients": [
                {"mobiles": number.lstrip("+"), **values} for number in numbers
            ],
        }
        headers = {
            "authkey": self._authkey.get_secret_value(),
            "accept": "application/json",
        }
        try:
            response = await self._client.post(
                self._url, json_body=body, headers=headers, timeout_s=self._timeout_s
            )
        except OutboundTimeout as exc:
            raise DeliveryError("timeout", retryable=True) from exc
        except OutboundUnreachable as exc:
            raise DeliveryError("connection_error", retryable=True) from exc

        request_id = _request_id(response)
        return [(number, request_id) for number in numbers]


def _request_id(response: Reply) -> str:
    status = response.status_code
    if status == 429 or status >= 500:
        raise DeliveryError(
            f"gateway_{status}",
            retryable=True,
            status_code=status,
            retry_after_s=parse_retry_after(response.headers.get("retry-after")),
        )
    if status in (401, 403):
        raise DeliveryError("gateway_auth_refused", retryable=False, status_code=status)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    ok = isinstance(answer, dict) and answer.get("type") == "success"
    if 200 <= status < 300 and ok and answer.get("message"):
        return str(answer["message"])[:128]
    # A template or sender the operators do not know is not worth retrying.
    raise DeliveryError("gateway_rejected", retryable=False, status_code=status)
