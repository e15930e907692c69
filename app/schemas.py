"""The partner payload, version 1, and the service's answers, as documentation.

The partner's endpoints read raw bytes (the signature is over them, and odd
content must be stored, not refused), so these models never validate a request;
they describe it in the OpenAPI schema at ``/openapi.json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PartnerRisk(_Open):
    category: Literal["suicide", "self_harm"] | None = None
    level: Literal["low", "medium", "high", "imminent"] | None = None


class PartnerSubject(_Open):
    account_id: str | None = None
    username: str | None = None
    display_name: str | None = None
    profile_url: str | None = None
    age_band: str | None = Field(default=None, examples=["16-18"])


class PartnerContent(_Open):
    content_id: str | None = None
    kind: str | None = Field(default=None, examples=["post", "comment", "story"])
    url: str | None = None
    excerpt: str | None = None
    language: str | None = Field(default=None, examples=["hi", "en"])


class PartnerLocation(_Open):
    district: str | None = Field(default=None, examples=["Kota", "झुंझुनूं"])
    city: str | None = None
    locality: str | None = Field(default=None, examples=["Talwandi"])
    state: str | None = Field(default=None, examples=["Rajasthan"])
    pincode: str | None = Field(default=None, examples=["324005"])
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    source: str | None = Field(default=None, examples=["device", "profile"])
    home_district: str | None = None


class PartnerContact(_Open):
    phone: str | None = None
    email: str | None = None


class PartnerAlert(_Open):
    """One flagged person. Only ``alert_id`` and ``flagged_at`` are required;
    unknown fields are kept as received."""

    alert_id: str = Field(description="The partner's id: one alert per id, forever.")
    flagged_at: datetime
    updated_at: datetime | None = Field(
        default=None,
        description="When this copy was made; a later copy may raise "
        "the risk level, an older one arriving late never lowers it.",
    )
    platform: str | None = None
    risk: PartnerRisk | None = None
    subject: PartnerSubject | None = None
    content: PartnerContent | None = None
    location: PartnerLocation | None = None
    contact: PartnerContact | None = None
    status: Literal["actual", "test"] = "actual"


class MetaChange(BaseModel):
    field: Literal["red_flag"]
    value: PartnerAlert


class MetaEntry(BaseModel):
    id: str
    time: int = Field(description="Unix seconds")
    changes: list[MetaChange]


class MetaEnvelope(BaseModel):
    """``POST /webhooks/meta``, signed with ``X-Hub-Signature-256``."""

    object: str = Field(examples=["safety_alert"])
    entry: list[MetaEntry]


class StandardEnvelope(BaseModel):
    """``POST /webhooks/standard``, signed by the Standard Webhooks scheme."""

    type: Literal["red_flag.created", "red_flag.updated"]
    timestamp: datetime
    data: PartnerAlert


class EventStored(BaseModel):
    """The event is committed; its alerts are written right after this answer."""

    status: Literal["stored"]
    event_id: int
    alerts: int = Field(description="Alerts in the request")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["signature_invalid"])
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
    request_id: str | None


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a raw JSON body as ``model``."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ref}},
        }
    }


def payload_components() -> dict[str, Any]:
    """The JSON schemas of the envelopes and everything they refer to."""
    components: dict[str, Any] = {}
    for model in (MetaEnvelope, StandardEnvelope):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    return components


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}
