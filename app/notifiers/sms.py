"""The SMS channel: one pager message per delivery, through the first gateway that
takes it.

The text is rendered from the DLT-registered template and checked before it leaves
(a mismatch is refused here, permanently, rather than dropped silently by an
operator). Numbers are normalised to E.164; one that is not an Indian mobile is left
out with a reason. Gateways are tried in order within the same attempt: when the
primary throttles, fails or has its circuit open, the secondary is used at once
rather than after a backoff.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from app.circuit import CircuitBreaker
from app.errors import DeliveryError
from app.notifiers.base import Outbound, SendResult
from app.sms_text import DltTemplate, InvalidNumber, TemplateMismatch, normalise_mobile

log = structlog.get_logger(__name__)

# The order in which the template's {#var#} slots are filled.
TEMPLATE_SLOTS = ("ref", "district", "risk", "link")


def default_template_text(public_base_url: str) -> str:
    base = public_base_url.rstrip("/")
    return (
        "RED FLAG {#var#}: {#var#}, risk {#var#}. Open "
        + base
        + "/a/{#var#} - Rajasthan Police"
    )


def pager_values(alert: dict[str, Any], *, link: str) -> dict[str, str]:
    """What an SMS may say about an alert: nothing that identifies the person.
    ``link`` is the acknowledgement link's token."""
    reference = alert["ref"]
    return {
        "ref": ("TEST " + reference) if alert["status"] == "test" else reference,
        "district": (alert["district"] or "UNPLACED")[:30],
        "risk": (alert["risk_level"] or "unknown").upper(),
        "link": link,
    }


class SmsGateway(Protocol):
    name: str

    async def send(
        self, *, numbers: list[str], text: str, values: dict[str, str]
    ) -> list[tuple[str, str]]:
        """Send ``text`` to each number; return (number, message id) per SMS."""
        ...


class SmsNotifier:
    channel = "sms"

    def __init__(
        self,
        *,
        gateways: list[SmsGateway],
        template: DltTemplate,
        breaker: CircuitBreaker,
    ):
        self._gateways = gateways
        self._template = template
        self._breaker = breaker

    async def send(self, outbound: Outbound) -> SendResult:
        if outbound.address is not None:
            raw_numbers = [outbound.address]
        elif outbound.room.sms is not None:
            raw_numbers = outbound.room.sms.numbers
        else:
            raise DeliveryError("room_has_no_sms_channel", retryable=False)
        numbers = self._numbers(raw_numbers, room_id=outbound.room.id)

        if outbound.link_token is None:
            # The worker issues one with every claim; without it the page is dead.
            raise DeliveryError("sms_without_link", retryable=False)
        values = pager_values(outbound.alert, link=outbound.link_token)
        try:
            text = self._template.render([values[slot] for slot in TEMPLATE_SLOTS])
        except TemplateMismatch as exc:
            raise DeliveryError(f"template_{exc.reason}", retryable=False) from exc

        failures: list[DeliveryError] = []
        for gateway in self._gateways:
            key = f"sms:{gateway.name}"
            if not self._breaker.allow(key):
                failures.append(DeliveryError("circuit_open", retryable=True))
                continue
            try:
                messages = await gateway.send(numbers=numbers, text=text, values=values)
            except DeliveryError as exc:
                self._breaker.failed(key)
                failures.append(exc)
                log.warning(
                    "sms_gateway_failed",
                    gateway=gateway.name,
                    error=exc.reason,
                    alert_ref=outbound.alert["ref"],
                )
                continue
            self._breaker.succeeded(key)
            return SendResult(
                gateway=gateway.name,
                messages=tuple(messages),
                provider_message_id=messages[0][1] if messages else None,
            )

        raise _combined(failures)

    @staticmethod
    def _numbers(raw_numbers: list[str], *, room_id: str) -> list[str]:
        numbers = []
        for raw in raw_numbers:
            try:
                numbers.append(normalise_mobile(raw))
            except InvalidNumber as exc:
                log.warning("sms_number_refused", room=room_id, reason=exc.reason)
        if not numbers:
            raise DeliveryError("no_valid_number", retryable=False)
        return numbers


def _combined(failures: list[DeliveryError]) -> DeliveryError:
    """One error for an attempt on which every gateway failed."""
    if not failures:
        return DeliveryError("no_sms_gateway", retryable=False)
    retryable = [f for f in failures if f.retryable]
    first = retryable[0] if retryable else failures[0]
    waits = [f.retry_after_s for f in retryable if f.retry_after_s is not None]
    return DeliveryError(
        first.reason,
        retryable=bool(retryable),
        status_code=first.status_code,
        retry_after_s=min(waits) if waits else None,
    )
