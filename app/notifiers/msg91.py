"""Pages a control room's officers by SMS through MSG91's Flow API.

India requires every commercial SMS to match a DLT-registered template; MSG91's Flow
API sends a registered template with its variables filled in, per recipient. The
variables hold only the reference, the district, the risk level and a link
(see ``app.messages.sms_variables``).

Request: ``POST <gateway>/api/v5/flow`` with an ``authkey`` header and
``{"template_id", "sender", "short_url", "unicode", "recipients": [{"mobiles",
<variables>}]}``; a success answers ``{"type": "success", "message": <request id>}``.
"""

from __future__ import annotations

import httpx
from pydantic import SecretStr

from app.errors import DeliveryError
from app.messages import alert_link, sms_variables
from app.notifiers.base import Outbound, SendResult, parse_retry_after

_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


class Msg91Notifier:
    channel = "sms"

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        url: str,
        authkey: SecretStr,
        template_id: str,
        sender: str,
        timeout_s: float,
        public_base_url: str,
    ):
        self._client = client
        self._url = url
        self._authkey = authkey
        self._template_id = template_id
        self._sender = sender
        self._timeout = httpx.Timeout(timeout_s)
        self._public_base_url = public_base_url

    async def send(self, outbound: Outbound) -> SendResult:
        sms = outbound.room.sms
        if sms is None:
            raise DeliveryError("room_has_no_sms_channel", retryable=False)

        link = alert_link(
            public_base_url=self._public_base_url, ref=outbound.alert["ref"]
        )
        variables = sms_variables(alert=outbound.alert, link=link)
        unicode = any(
            ch not in _GSM_BASIC for value in variables.values() for ch in value
        )
        body = {
            "template_id": self._template_id,
            "sender": self._sender,
            "short_url": "0",
            "unicode": 1 if unicode else 0,
            "recipients": [
                {"mobiles": number.lstrip("+"), **variables} for number in sms.numbers
            ],
        }
        headers = {
            "authkey": self._authkey.get_secret_value(),
            "accept": "application/json",
            "content-type": "application/json",
        }

        try:
            response = await self._client.post(
                self._url, json=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise DeliveryError("timeout", retryable=True) from exc
        except httpx.TransportError as exc:
            raise DeliveryError("connection_error", retryable=True) from exc
        return _classify(response)


def _classify(response: httpx.Response) -> SendResult:
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
    if (
        200 <= status < 300
        and isinstance(answer, dict)
        and answer.get("type") == "success"
    ):
        message_id = answer.get("message")
        return SendResult(
            status_code=status,
            provider_message_id=str(message_id)[:128] if message_id else None,
        )
    raise DeliveryError("gateway_rejected", retryable=False, status_code=status)
