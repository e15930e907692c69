"""The redflag-relay command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.api_keys import authenticate
from app.cli import cli
from app.demo import DEMO_ROOM_SECRET
from app.store import Store

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "district", "police"),
    [
        (["--pincode", "324005"], "Kota", "Kota City"),
        (["--pincode", "325601"], "Kota", "Kota Rural"),
        (["--district", "झुंझुनूं"], "Jhunjhunu", "Jhunjhunu"),
        (["--city", "Kota"], "Kota", "Kota City"),
        (["--lat", "28.0229", "--lon", "73.3119"], "Bikaner", "Bikaner"),
        (["Talwandi, Kota"], "Kota", "Kota City"),
    ],
)
def test_lookup_json_prints_one_placement(
    args: list[str], district: str, police: str
) -> None:
    result = runner.invoke(cli, ["lookup", *args, "--json"])

    placement = json.loads(result.stdout)
    assert result.exit_code == 0
    assert (placement["district"], placement["police_district"]) == (district, police)
    assert set(placement) >= {
        "district",
        "police_district",
        "in_rajasthan",
        "confidence",
        "flags",
        "candidates",
        "evidence",
    }


def test_lookup_outside_rajasthan_is_never_placed_inside() -> None:
    result = runner.invoke(
        cli, ["lookup", "--city", "Rajkot", "--state", "Gujarat", "--json"]
    )

    placement = json.loads(result.stdout)
    assert placement["in_rajasthan"] is False
    assert placement["district"] is None


def test_lookup_prints_a_readable_table_without_json() -> None:
    result = runner.invoke(cli, ["lookup", "--pincode", "333001"])

    assert result.exit_code == 0
    assert "Jhunjhunu" in result.stdout
    assert "evidence" in result.stdout


def test_check_config_passes_the_example_in_demo_mode(monkeypatch) -> None:
    monkeypatch.setenv("REDFLAG_DEMO_MODE", "true")
    monkeypatch.setenv("REDFLAG_ROOM_SIGNING_SECRET", DEMO_ROOM_SECRET)

    result = runner.invoke(cli, ["check-config"])

    assert result.exit_code == 0, result.output
    assert "44 rooms" in result.stdout


def test_check_config_refuses_placeholder_secrets(monkeypatch) -> None:
    monkeypatch.delenv("REDFLAG_DEMO_MODE", raising=False)
    monkeypatch.setenv("REDFLAG_ROOM_SIGNING_SECRET", DEMO_ROOM_SECRET)
    monkeypatch.setenv("REDFLAG_META_APP_SECRETS", "changeme")

    result = runner.invoke(cli, ["check-config"])

    assert result.exit_code == 2
    assert "placeholder" in result.output


def test_check_config_names_an_unset_variable(monkeypatch) -> None:
    monkeypatch.delenv("REDFLAG_ROOM_SIGNING_SECRET", raising=False)

    result = runner.invoke(cli, ["check-config"])

    assert result.exit_code == 2
    assert "REDFLAG_ROOM_SIGNING_SECRET" in result.output


def test_check_config_names_the_problems_of_the_file_and_the_settings_at_once(
    monkeypatch,
) -> None:
    for name in ("REDFLAG_DEMO_MODE", "REDFLAG_ROOM_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDFLAG_META_APP_SECRETS", "")

    result = runner.invoke(cli, ["check-config"])

    assert result.exit_code == 2
    assert "REDFLAG_ROOM_SIGNING_SECRET" in result.output
    assert "REDFLAG_META_APP_SECRETS" in result.output


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The installed command in a process of its own, as an operator runs it."""
    command = Path(sys.executable).parent / "redflag-relay"
    return subprocess.run(
        [str(command), *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_keys_create_prints_only_the_key_which_then_opens_the_rooms_api(
    tmp_path: Path,
) -> None:
    env = {
        "REDFLAG_DEMO_MODE": "true",
        "REDFLAG_ROOM_SIGNING_SECRET": DEMO_ROOM_SECRET,
        "REDFLAG_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}",
        "REDFLAG_SMS_GATEWAY_URL": "",  # SMS off: the warning must not reach stdout
    }

    def principal(key: str):  # type: ignore[no-untyped-def]
        store = Store(env["REDFLAG_DATABASE_URL"])
        try:
            return store.read_sync(lambda conn: authenticate(conn, presented=key))
        finally:
            store.close()

    created = run_cli(
        "keys", "create", "--room", "kota-city", "--label", "desk", env=env
    )
    key = created.stdout.strip()
    before = principal(key)
    listed = run_cli("keys", "list", env=env)
    revoked = run_cli("keys", "revoke", key.split("_")[1], env=env)
    unknown_room = run_cli("keys", "create", "--room", "atlantis", env=env)

    assert created.returncode == 0, created.stderr
    assert created.stdout.count("\n") == 1 and key.startswith("rfk_")
    assert before is not None and before.room_id == "kota-city"
    assert key.split("_")[1] in listed.stdout and "kota-city" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout
    assert revoked.returncode == 0
    assert principal(key) is None
    assert unknown_room.returncode == 2 and "atlantis" in unknown_room.stderr
