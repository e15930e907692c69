"""The routing rules as a table: placement in, rooms and reason out."""

from __future__ import annotations

import pytest

from app.demo import DEMO_ROOM_SECRET
from app.gazetteer import Evidence, Placement
from app.room_config import RoomsConfig
from app.routing import route_alert
from tests.conftest import example_rooms

ROOMS = example_rooms("http://127.0.0.1:9")
SOME_EVIDENCE = (Evidence(field="district", value="x", matched="x"),)


def placed(
    district: str | None,
    police: str | None = None,
    *,
    in_rajasthan: bool | None = True,
    flags: tuple[str, ...] = (),
    home: str | None = None,
    evidence: tuple[Evidence, ...] = SOME_EVIDENCE,
) -> Placement:
    return Placement(
        district=district,
        police_district=police if police is not None else district,
        in_rajasthan=in_rajasthan,
        confidence=0.9 if district else 0.0,
        flags=flags,
        candidates=(district,) if district else (),
        evidence=evidence,
        home_district=home,
    )


TABLE = [
    # placement, kind, rooms, reason, flags
    (placed("Kota", "Kota City"), "kota", ("kota-city",), "kota_police:Kota City", ()),
    (
        placed("Kota", "Kota Rural"),
        "kota",
        ("kota-rural",),
        "kota_police:Kota Rural",
        (),
    ),
    (placed("Kota", None), "kota", ("kota-city",), "kota_police:Kota City", ()),
    (placed("Jhunjhunu"), "district", ("jhunjhunu",), "district_room", ()),
    (placed("Jaipur", "Jaipur Rural"), "district", ("jaipur",), "district_room", ()),
    (placed("Sri Ganganagar"), "district", ("sri-ganganagar",), "district_room", ()),
    (
        placed(None, in_rajasthan=None, flags=("unplaced",), evidence=()),
        "fallback",
        ("abhay-jaipur",),
        "no_location",
        ("unrouted",),
    ),
    (
        placed(None, in_rajasthan=None, flags=("unplaced",)),
        "fallback",
        ("abhay-jaipur",),
        "unknown_location",
        ("unrouted",),
    ),
    (
        placed(None, flags=("ambiguous",)),
        "fallback",
        ("abhay-jaipur",),
        "ambiguous_location",
        ("unrouted",),
    ),
    (
        placed(None, in_rajasthan=False, flags=("outside_rajasthan",)),
        "fallback",
        ("abhay-jaipur",),
        "outside_rajasthan",
        ("cross_jurisdiction",),
    ),
    (
        placed(
            None, in_rajasthan=False, flags=("outside_rajasthan",), home="Jhunjhunu"
        ),
        "fallback",
        ("abhay-jaipur", "jhunjhunu"),
        "outside_rajasthan_home_district",
        ("cross_jurisdiction",),
    ),
    (
        placed(None, in_rajasthan=False, flags=("outside_rajasthan",), home="Kota"),
        "fallback",
        ("abhay-jaipur", "kota-city"),
        "outside_rajasthan_home_district",
        ("cross_jurisdiction",),
    ),
    (
        placed("Ajmer", flags=("conflict",)),
        "district",
        ("ajmer", "abhay-jaipur"),
        "district_room",
        ("conflict",),
    ),
]


@pytest.mark.parametrize(
    ("placement", "kind", "rooms", "reason", "flags"),
    TABLE,
    ids=[
        f"{row[0].district or '-'}/{','.join(row[0].flags) or 'plain'}/{row[3]}"
        for row in TABLE
    ],
)
def test_route(
    placement: Placement, kind: str, rooms: tuple, reason: str, flags: tuple
) -> None:
    route = route_alert(placement=placement, rooms=ROOMS)

    assert (route.kind, route.rooms, route.reason, route.flags) == (
        kind,
        rooms,
        reason,
        flags,
    )


def test_a_district_without_a_room_goes_to_the_fallback_room() -> None:
    config = ROOMS.model_dump()
    config["rooms"] = [r for r in config["rooms"] if r["id"] != "tonk"]
    config["districts_on_fallback"] = ["Tonk"]
    for room in config["rooms"]:
        if room.get("http"):
            room["http"]["signing_secret"] = DEMO_ROOM_SECRET
    rooms = RoomsConfig.model_validate(config)

    route = route_alert(placement=placed("Tonk"), rooms=rooms)

    assert (route.kind, route.rooms, route.reason) == (
        "fallback",
        ("abhay-jaipur",),
        "no_room_for_district",
    )


@pytest.mark.parametrize(
    "district", sorted({d for room in ROOMS.rooms for d in room.districts})
)
def test_every_current_district_reaches_a_room_of_its_own(district: str) -> None:
    route = route_alert(placement=placed(district), rooms=ROOMS)

    assert route.kind == "district"
    assert route.rooms[0] != ROOMS.fallback_room
    assert district in ROOMS.room(route.rooms[0]).districts
