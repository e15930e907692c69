"""The redflag-relay command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.demo import DEMO_ROOM_SECRET

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
