"""Twilio's Messages API, the secondary SMS gateway.

Request: ``POST <api>/2010-04-01/Accounts/<sid>/Messages.json`` with HTTP basic auth
(account sid, auth token) and a form of ``To``, ``From``, ``Body`` and
``StatusCallback``; one request per recipient. A success answers 201 with the
message's ``sid``; the status callbacks name that sid.
"""

from __future__ import annotations

from pydantic import SecretStr

from app.errors import DeliveryError
from app.notifiers.base import parse_retry_after
from app.outbound import OutboundClient, OutboundTimeout, OutboundUnreachable, Reply


class TwilioGateway:
    name = "twilio"

    def __init__(
        self,
        *,
        client: OutboundClient,
        api_url: str,
        account_sid: str,
        auth_token: SecretStr,
        sender: str,
        status_callback: str | None,
        timeout_s: float,
    ):
        self._client = client
        self._url = (
            f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        )
        self._auth = (account_sid, auth_token.get_secret_value())
        self._sender = sender
        self._status_callback = status_callback
        self._timeout_s = timeout_s

    async def send(
        self, *, numbers: list[str], text: str, values: dict[str, str]
    ) -> list[tuple[str, str]]:
        sent = []
        for number in numbers:
            form = {"To": number, "From": self._sender, "Body": text}
            if self._status_callback:
                form["StatusCallback"] = self._status_callback
            try:
                response = await self._client.post(
                    self._url, form=form, auth=self._auth, timeout_s=self._timeout_s
                )
            except OutboundTimeout as exc:
                raise DeliveryError("timeout", retryable=True) from exc
            except OutboundUnreachable as exc:
                raise DeliveryError("connection_error", retryable=True) from exc
            sent.append((number, _sid(response)))
        return sent


def _sid(response: Reply) -> str:
    status = response.status_code
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if 200 <= status < 300 and answer.get("sid"):
        return str(answer["sid"])[:128]
    if status == 429 or status >= 500:
        raise DeliveryError(
            f"gateway_{status}",
            retryable=True,
            status_code=status,
            retry_after_s=parse_retry_after(response.headers.get("retry-after")),
        )
    if status in (401, 403):
        raise DeliveryError("gateway_auth_refused", retryable=False, status_code=status)
    code = answer.get("code")
    reason = f"twilio_{code}" if isinstance(code, int) else f"gateway_{status}"
    # Other 4xx (a bad number, an unverified sender) will not pass on a retry.
    raise DeliveryError(reason, retryable=False, status_code=status)
