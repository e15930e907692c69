"""Settings from the environment (prefix ``REDFLAG_``), read once at start-up.

Secrets are ``SecretStr`` so they never print. Lists are comma-separated in the
environment: ``REDFLAG_META_APP_SECRETS=current,previous`` accepts both during a
rotation. Secrets read from files keep their trailing newline there; it is trimmed
here, and a body is never trimmed.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.errors import ConfigError

DATA_DIR = Path(__file__).parent / "data"
EXAMPLE_ROOMS_FILE = DATA_DIR / "rooms.example.yaml"

_PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "placeholder", "example")
_PLACEHOLDER_VALUES = {"", "secret", "password", "xxx", "todo", "none", "null"}

SecretList = Annotated[list[SecretStr], NoDecode]


def is_placeholder(value: str) -> bool:
    """Whether a secret looks like something nobody meant to deploy."""
    lowered = value.strip().lower()
    if lowered in _PLACEHOLDER_VALUES or lowered.startswith("<"):
        return True
    if lowered.startswith("demo-") or lowered.startswith("whsec_demo"):
        return True
    return any(word in lowered for word in _PLACEHOLDER_WORDS)


def secret_is_placeholder(secret: str) -> bool:
    """``is_placeholder`` for plain secrets and for the key inside a ``whsec_`` one."""
    if not secret.strip().startswith("whsec_"):
        return is_placeholder(secret)
    try:
        key = decode_whsec(secret)
    except ConfigError:
        return True
    return is_placeholder(key.decode("utf-8", errors="ignore"))


def decode_whsec(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after ``whsec_``."""
    text = secret.strip()
    if text.startswith("whsec_"):
        text = text[len("whsec_") :]
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError("a Standard Webhooks secret is not valid base64") from exc
    if len(key) < 16:
        raise ConfigError("a Standard Webhooks secret decodes to fewer than 16 bytes")
    return key


MIN_ADMIN_KEY = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REDFLAG_", extra="ignore")

    database_url: str = "sqlite:///./redflag-relay.db"
    rooms_file: Path = EXAMPLE_ROOMS_FILE
    demo_mode: bool = False

    meta_app_secrets: SecretList = Field(default_factory=list)
    meta_verify_token: SecretStr = SecretStr("")
    standard_webhook_secrets: SecretList = Field(default_factory=list)
    timestamp_tolerance_s: int = Field(default=300, ge=1)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000

    # MSG91's Flow API is https://control.msg91.com/api/v5/flow; empty turns SMS off.
    sms_gateway_url: str = ""
    sms_authkey: SecretStr = SecretStr("")
    sms_template_id: str = ""
    sms_sender: str = "RJPOLC"
    # The DLT-registered text, {#var#} for each variable (reference, district, risk,
    # link token); empty means the default pager text around REDFLAG_PUBLIC_BASE_URL.
    sms_template_text: str = ""
    sms_max_variable_length: int = Field(default=30, ge=1)
    # Shared secret in the MSG91 delivery-report URL (MSG91 does not sign reports).
    sms_report_token: SecretStr = SecretStr("")

    # Twilio's Messages API (https://api.twilio.com) as the secondary SMS gateway.
    twilio_api_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = ""

    admin_key: SecretStr = SecretStr("")
    # How long the acknowledgement link in an SMS (/a/<token>) works.
    link_ttl_h: float = Field(default=24.0, gt=0)
    # How long a console sign-in lasts: a shift and its handover, with room to spare.
    console_session_h: float = Field(default=12.0, gt=0)
    escalation_enabled: bool = True
    escalation_poll_s: float = Field(default=1.0, gt=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_s: float = Field(default=30.0, gt=0)

    # How often a pass looks for stored events whose alerts were never written (the
    # process that answered them died first), and how old such an event must be.
    expansion_poll_s: float = Field(default=2.0, gt=0)
    # Whether ``serve`` writes an event's alerts right after answering it. Off, a
    # ``worker`` process does, so that receiving never shares a core with delivering.
    expand_after_answer: bool = True
    worker_enabled: bool = True
    worker_poll_s: float = Field(default=1.0, gt=0)
    worker_batch: int = Field(default=64, ge=1)
    worker_concurrency: int = Field(default=32, ge=1)
    attempt_timeout_s: float = Field(default=10.0, gt=0)
    lease_s: float = Field(default=30.0, gt=0)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_cap_s: float = Field(default=60.0, gt=0)
    # With the 60 s cap, 360 attempts keep a delivery trying for about six hours
    # before it is dead (and flagged, and waits for a replay).
    max_attempts: int = Field(default=360, ge=1)

    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"

    @field_validator("meta_app_secrets", "standard_webhook_secrets", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split(",") if part.strip()]
        return value

    @field_validator("meta_app_secrets", "standard_webhook_secrets")
    @classmethod
    def _trim_each(cls, value: list[SecretStr]) -> list[SecretStr]:
        return [SecretStr(item.get_secret_value().strip()) for item in value]

    @field_validator(
        "meta_verify_token",
        "sms_authkey",
        "sms_report_token",
        "twilio_auth_token",
        "admin_key",
    )
    @classmethod
    def _trim(cls, value: SecretStr) -> SecretStr:
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _check_standard_secrets_decode(self) -> Settings:
        for secret in self.standard_webhook_secrets:
            decode_whsec(secret.get_secret_value())
        return self

    @property
    def sms_enabled(self) -> bool:
        return bool(self.sms_gateway_url.strip() or self.twilio_api_url.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def standard_webhook_keys(self) -> list[bytes]:
        return [
            decode_whsec(s.get_secret_value()) for s in self.standard_webhook_secrets
        ]

    @property
    def meta_app_keys(self) -> list[bytes]:
        return [s.get_secret_value().encode() for s in self.meta_app_secrets]

    def check_secrets(self, *, sms_enabled: bool) -> None:
        """Refuse to run with empty or placeholder secrets, except in demo mode."""
        if self.demo_mode:
            return
        problems = []
        if not self.meta_app_secrets and not self.standard_webhook_secrets:
            problems.append(
                "no partner secret: set REDFLAG_META_APP_SECRETS or "
                "REDFLAG_STANDARD_WEBHOOK_SECRETS"
            )
        named = [("REDFLAG_META_APP_SECRETS", s) for s in self.meta_app_secrets]
        named += [
            ("REDFLAG_STANDARD_WEBHOOK_SECRETS", s)
            for s in self.standard_webhook_secrets
        ]
        if self.meta_app_secrets:
            named.append(("REDFLAG_META_VERIFY_TOKEN", self.meta_verify_token))
        if sms_enabled and self.sms_gateway_url.strip():
            named.append(("REDFLAG_SMS_AUTHKEY", self.sms_authkey))
            if not self.sms_template_id.strip():
                problems.append(
                    "SMS is configured but REDFLAG_SMS_TEMPLATE_ID is empty"
                )
        if sms_enabled and self.twilio_api_url.strip():
            named.append(("REDFLAG_TWILIO_AUTH_TOKEN", self.twilio_auth_token))
            if not (self.twilio_account_sid.strip() and self.twilio_from.strip()):
                problems.append(
                    "Twilio is configured but REDFLAG_TWILIO_ACCOUNT_SID or "
                    "REDFLAG_TWILIO_FROM is empty"
                )
        if sms_enabled and not self.public_base_url.startswith("https://"):
            # Every SMS carries an acknowledgement link under this base.
            problems.append(
                "SMS is configured but REDFLAG_PUBLIC_BASE_URL is not https://; "
                "the acknowledgement link in each SMS must be HTTPS"
            )
        admin_key = self.admin_key.get_secret_value()
        if admin_key:
            named.append(("REDFLAG_ADMIN_KEY", self.admin_key))
            if len(admin_key) < MIN_ADMIN_KEY:
                # It opens every room's alerts, the person's details with them.
                problems.append(
                    f"REDFLAG_ADMIN_KEY is shorter than {MIN_ADMIN_KEY} characters"
                )
        for name, secret in named:
            if secret_is_placeholder(secret.get_secret_value()):
                problems.append(f"{name} is empty or a placeholder")
        if problems:
            raise ConfigError("; ".join(problems))
