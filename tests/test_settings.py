"""Settings from REDFLAG_ variables; placeholder and broken secrets refused."""

from __future__ import annotations

import pytest

from app.errors import ConfigError
from app.settings import Settings

REAL = {"meta_app_secrets": ["a7f3c9e1b2d4"], "meta_verify_token": "f00dfeed1234"}


def test_comma_separated_secrets_are_split_and_trimmed(monkeypatch) -> None:
    monkeypatch.setenv("REDFLAG_META_APP_SECRETS", "first-one,second-one\n")

    settings = Settings()

    assert settings.meta_app_keys == [b"first-one", b"second-one"]


def test_a_secret_file_with_a_trailing_newline_is_trimmed(monkeypatch) -> None:
    """F2: the secret is trimmed when loaded; bodies never are."""
    monkeypatch.setenv("REDFLAG_META_APP_SECRETS", "s3cr3t-from-a-file\n")

    assert Settings().meta_app_keys == [b"s3cr3t-from-a-file"]


@pytest.mark.parametrize("secret", ["whsec_", "whsec_!!!!", "whsec_c2hvcnQ="])
def test_f3_an_unusable_standard_secret_stops_the_service(secret: str) -> None:
    with pytest.raises(ConfigError):
        Settings(standard_webhook_secrets=[secret])


@pytest.mark.parametrize(
    "overrides",
    [
        {"meta_app_secrets": []},
        {"meta_app_secrets": ["changeme"]},
        {"meta_app_secrets": ["demo-meta-app-secret-2f7c"]},
        {"meta_verify_token": ""},
        {"meta_verify_token": "<your token>"},
    ],
    ids=["none", "changeme", "demo", "empty-token", "angle-brackets"],
)
def test_placeholder_secrets_are_refused_outside_demo_mode(overrides: dict) -> None:
    settings = Settings(**(REAL | overrides))

    with pytest.raises(ConfigError):
        settings.check_secrets(sms_enabled=False)


def test_sms_without_a_template_id_refuses_to_start() -> None:
    settings = Settings(
        **REAL, sms_authkey="4f6a9c0d2e7b", sms_gateway_url="https://sms.example"
    )

    with pytest.raises(ConfigError, match="TEMPLATE_ID"):
        settings.check_secrets(sms_enabled=True)


def test_demo_mode_accepts_the_demo_secrets() -> None:
    settings = Settings(demo_mode=True, meta_app_secrets=["demo-meta-app-secret-2f7c"])

    settings.check_secrets(sms_enabled=True)


def test_real_secrets_pass() -> None:
    settings = Settings(
        **REAL,
        sms_authkey="4f6a9c0d2e7b",
        sms_template_id="1207",
        public_base_url="https://relay.police.rajasthan.example",
    )

    settings.check_secrets(sms_enabled=True)


def test_sms_needs_an_https_base_for_its_links_outside_demo_mode() -> None:
    settings = Settings(
        **REAL,
        sms_authkey="4f6a9c0d2e7b",
        sms_template_id="1207",
        public_base_url="http://relay.police.rajasthan.example",
    )

    with pytest.raises(ConfigError, match="REDFLAG_PUBLIC_BASE_URL is not https"):
        settings.check_secrets(sms_enabled=True)


def test_secrets_never_print() -> None:
    settings = Settings(**REAL)

    assert "a7f3c9e1b2d4" not in repr(settings)
    assert "f00dfeed1234" not in str(settings.model_dump())


def test_a_short_admin_key_is_refused_outside_demo_mode() -> None:
    """It opens every room's alerts; 32 characters at least."""
    short = Settings(**REAL, admin_key="abc")
    long_enough = Settings(**REAL, admin_key="k" * 8 + "3f9a1c7e5b2d4086" + "x" * 8)

    with pytest.raises(ConfigError, match="REDFLAG_ADMIN_KEY is shorter than 32"):
        short.check_secrets(sms_enabled=False)
    long_enough.check_secrets(sms_enabled=False)
