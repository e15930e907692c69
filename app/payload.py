"""The partner payload, version 1: envelopes in, one ``IncomingAlert`` per change out.

Only the shape of an envelope can make a request a 400; whatever is odd inside an
alert (a missing field, an unknown risk level, a location that makes no sense) is
kept, recorded as a problem, and routed. Unknown fields are kept as received.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog

from app.errors import NotAWebhook

log = structlog.get_logger(__name__)

ALERT_FIELD = "red_flag"
RISK_LEVELS = ("low", "medium", "high", "imminent")
STATUSES = ("actual", "test")
_MAX_ID = 200


@dataclass(frozen=True, slots=True)
class IncomingAlert:
    alert_id: str
    value: dict[str, Any]
    partner_time: datetime | None
    problems: tuple[str, ...] = field(default=())

    @property
    def risk_level(self) -> str | None:
        risk = self.value.get("risk")
        level = risk.get("level") if isinstance(risk, dict) else None
        if isinstance(level, str) and level.strip().lower() in RISK_LEVELS:
            return level.strip().lower()
        return None

    @property
    def risk_category(self) -> str | None:
        risk = self.value.get("risk")
        category = risk.get("category") if isinstance(risk, dict) else None
        return category.strip().lower()[:32] if isinstance(category, str) else None

    @property
    def status(self) -> str:
        status = self.value.get("status")
        return "test" if status == "test" else "actual"

    @property
    def location(self) -> dict[str, Any]:
        location = self.value.get("location")
        return location if isinstance(location, dict) else {}


def risk_rank(level: str | None) -> int:
    """Order of urgency; an unknown level counts as high, never as low."""
    if level is None:
        return RISK_LEVELS.index("high")
    return RISK_LEVELS.index(level)


def expand_meta(document: Any) -> list[IncomingAlert]:
    """One alert per ``red_flag`` change of every entry."""
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        raise NotAWebhook("The body must be an object with an 'entry' list.")

    alerts = []
    for entry in document["entry"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes"), list):
            log.warning("entry_skipped", reason="entry_without_changes")
            continue
        entry_time = parse_time(entry.get("time"))
        for change in entry["changes"]:
            if not isinstance(change, dict) or change.get("field") != ALERT_FIELD:
                log.warning("change_skipped", reason="not_a_red_flag_change")
                continue
            value = change.get("value")
            if not isinstance(value, dict):
                log.warning("change_skipped", reason="value_not_an_object")
                continue
            alerts.append(make_alert(value, sent_at=entry_time))
    return alerts


def expand_standard(document: Any) -> list[IncomingAlert]:
    """The one alert of a ``red_flag.*`` Standard Webhooks message."""
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise NotAWebhook("The body must be an object with a 'type' string.")
    if not document["type"].startswith(ALERT_FIELD + "."):
        log.warning("message_skipped", reason="not_a_red_flag_type")
        return []
    if not isinstance(document.get("data"), dict):
        raise NotAWebhook("A red_flag message must carry a 'data' object.")
    return [make_alert(document["data"], sent_at=parse_time(document.get("timestamp")))]


def make_alert(value: dict[str, Any], *, sent_at: datetime | None) -> IncomingAlert:
    problems = []

    raw_id = value.get("alert_id")
    if isinstance(raw_id, int | str) and not isinstance(raw_id, bool) and str(raw_id):
        alert_id = str(raw_id).strip()
    else:
        alert_id = ""
    if not alert_id:
        # Without the partner's id there is nothing to deduplicate on but the content;
        # keys are sorted so that the same alert in another order is the same alert.
        problems.append("alert_id_missing")
        alert_id = "anon-" + _digest(value)
    elif len(alert_id) > _MAX_ID:
        problems.append("alert_id_too_long")
        alert_id = "long-" + hashlib.sha256(alert_id.encode()).hexdigest()

    if parse_time(value.get("flagged_at")) is None:
        problems.append("flagged_at_missing_or_invalid")
    risk = value.get("risk")
    level = risk.get("level") if isinstance(risk, dict) else None
    if not (isinstance(level, str) and level.strip().lower() in RISK_LEVELS):
        problems.append("risk_level_unknown")
    if value.get("status") not in (None, *STATUSES):
        problems.append("status_unknown")

    partner_time = parse_time(value.get("updated_at")) or sent_at
    partner_time = partner_time or parse_time(value.get("flagged_at"))
    return IncomingAlert(alert_id, value, partner_time, tuple(problems))


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string or Unix seconds as an aware UTC datetime; else None."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            if not 0 < value < 1e11:
                return None
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str) and 10 <= len(value) <= 40:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """JSON bytes for anything parsed from a body, including what orjson refuses
    (integers beyond 64 bits, nesting past 254), so that no valid input fails to
    store. The output is always strict JSON, as PostgreSQL's ``json`` demands: a
    number that is not finite is written as null."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        return orjson.dumps(value, option=option)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(
            _finite(value), sort_keys=sort_keys, ensure_ascii=False, default=str
        )
        return text.encode()


def loads(body: bytes) -> Any:
    """Parse JSON exactly: integers of any size stay integers, and the constants
    JSON does not have (NaN, Infinity) and numbers too large for a double become
    null, since nothing can store them.

    Text that no database can hold (a NUL, a lone surrogate, both valid JSON as
    escapes) is made storable, so one odd character cannot keep an alert out.
    """
    # orjson reads an integer beyond 64 bits as a float, so that two alert ids
    # which differ in the last digit would be one; such a body goes to the
    # standard library, as does anything orjson refuses.
    value: Any
    if _LONG_DIGITS.search(body):
        value = _strict_loads(body)
    else:
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            value = _strict_loads(body)
    if _UNSTORABLE_ESCAPE.search(body):
        value = storable(value)
    return value


# 19 digits or more may not fit in 64 bits. Digits inside a string match too; they
# only send the body down the slower, equally exact path.
_LONG_DIGITS = re.compile(rb"\d{19}")


def _strict_loads(body: bytes) -> Any:
    return json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)


def _no_constant(_name: str) -> None:
    return None


def _finite_float(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


# Only an escape can put these in parsed text: raw NUL or surrogate bytes are not
# valid JSON. Looking for the escape first keeps the walk off the common path.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """``value`` with every NUL and lone surrogate in its text, keys included,
    replaced by U+FFFD. (PostgreSQL refuses NUL in text; UTF-8 has no surrogates.)
    The event keeps the bytes as received."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value


def _digest(value: dict[str, Any]) -> str:
    return hashlib.sha256(dumps(value, sort_keys=True)).hexdigest()[:32]
