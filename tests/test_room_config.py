"""The rooms file: validated at start and by check-config, gaps named."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.demo import DEMO_ROOM_SECRET
from app.errors import ConfigError
from app.room_config import RoomsConfig, load_rooms
from app.settings import EXAMPLE_ROOMS_FILE

ENV = {"REDFLAG_ROOM_SIGNING_SECRET": DEMO_ROOM_SECRET}
REAL_LOOKING_SECRET = "whsec_cHJvZHVjdGlvbi1yb29tLWtleS0yMDI2LTEyLTAz"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rooms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def example_without(tmp_path: Path, room_id: str) -> Path:
    lines = EXAMPLE_ROOMS_FILE.read_text(encoding="utf-8").splitlines()
    out, skipping = [], False
    for line in lines:
        if line.startswith("  - id: "):
            skipping = line == f"  - id: {room_id}"
        if not skipping:
            out.append(line)
    return write(tmp_path, "\n".join(out) + "\n")


def test_the_example_covers_every_district() -> None:
    rooms = load_rooms(EXAMPLE_ROOMS_FILE, demo_mode=True, environ=ENV)

    assert rooms.fallback_room == "abhay-jaipur"
    assert rooms.test_room == "test-desk"
    # A room per district but Kota, Kota City and Kota Rural, the command centre,
    # and the test desk.
    assert len(rooms.rooms) == 44


def test_a_district_without_a_room_is_refused_by_name(tmp_path: Path) -> None:
    path = example_without(tmp_path, "tonk")

    with pytest.raises(ConfigError, match=r"districts with no room.*Tonk"):
        load_rooms(path, demo_mode=True, environ=ENV)


def test_kota_without_its_police_rooms_is_refused(tmp_path: Path) -> None:
    path = example_without(tmp_path, "kota-rural")

    with pytest.raises(ConfigError, match="Kota needs a room"):
        load_rooms(path, demo_mode=True, environ=ENV)


def test_a_placeholder_signing_secret_is_refused_outside_demo_mode() -> None:
    placeholder = {
        "REDFLAG_ROOM_SIGNING_SECRET": "whsec_Y2hhbmdlbWUtY2hhbmdlbWUtY2hhbmdlbWU="
    }

    with pytest.raises(ConfigError, match="signing_secret is a placeholder"):
        load_rooms(EXAMPLE_ROOMS_FILE, environ=placeholder)


def test_a_real_looking_signing_secret_is_accepted() -> None:
    rooms = load_rooms(
        EXAMPLE_ROOMS_FILE, environ={"REDFLAG_ROOM_SIGNING_SECRET": REAL_LOOKING_SECRET}
    )

    assert rooms.room("kota-city").http is not None


def test_an_unset_environment_reference_is_named() -> None:
    with pytest.raises(ConfigError, match="REDFLAG_ROOM_SIGNING_SECRET"):
        load_rooms(EXAMPLE_ROOMS_FILE, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rooms: [", "not valid YAML"),
        ("fallback_room: x\nrooms: []", "rooms"),
        (
            "fallback_room: nowhere\nrooms:\n  - {id: a1, name: A, districts: [Tonk],"
            " sms: {numbers: ['+919000000001']}}",
            "fallback_room 'nowhere' is not a room",
        ),
        (
            "fallback_room: a1\nrooms:\n  - {id: a1, name: A, districts: [Atlantis],"
            " sms: {numbers: ['+919000000001']}}",
            "'Atlantis' is not a current district",
        ),
        (
            "fallback_room: a1\nrooms:\n  - {id: a1, name: A,"
            " sms: {numbers: ['0141 2345678']}}",
            "not a valid mobile number",
        ),
        ("fallback_room: a1\nrooms:\n  - {id: a1, name: A}", "neither http nor sms"),
        (
            "fallback_room: a1\nrooms:\n  - {id: a1, name: A, http: {url: 'ftp://x',"
            " signing_secret: 'whsec_'}}",
            "http:// or https://",
        ),
    ],
    ids=["yaml", "no-rooms", "fallback", "district", "landline", "no-channel", "url"],
)
def test_broken_files_are_refused_with_a_reason(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_rooms(write(tmp_path, text), demo_mode=True, environ=ENV)


def test_without_sms_keeps_http_rooms_and_drops_their_sms() -> None:
    rooms = load_rooms(EXAMPLE_ROOMS_FILE, demo_mode=True, environ=ENV)

    http_only = rooms.without_sms()

    assert not http_only.sms_enabled
    assert all(room.channels == ("http",) for room in http_only.rooms)


def test_without_sms_refuses_a_room_that_only_has_sms() -> None:
    rooms = RoomsConfig.model_validate(
        {
            "fallback_room": "a1",
            "rooms": [{"id": "a1", "name": "A", "sms": {"numbers": ["+919000000001"]}}],
        }
    )

    with pytest.raises(ConfigError, match="no http channel: a1"):
        rooms.without_sms()
