"""Routing: which control rooms receive an alert, and why. A plain function.

The rules, in order:

1. Placed outside Rajasthan: the state fallback room, flagged ``cross_jurisdiction``;
   when the person's home district is in Rajasthan, that district's room as well.
2. Not placed, or placed ambiguously: the state fallback room, flagged ``unrouted``.
3. Kota: the Kota police room for the police district as placed (Kota City or Kota
   Rural); Kota City when the placement did not say which.
4. Another district: the room configured for its police district or district; the
   state fallback room when none is configured.
5. A placement whose signals conflict goes to the chosen room and, flagged
   ``conflict``, to the state fallback room too, so the command centre can judge.

An alert with status ``test`` goes to the test room only (``route_test_alert``).

Every rule ends in at least one room: an alert always reaches a human.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.districts import KOTA, KOTA_CITY, KOTA_RURAL
from app.gazetteer import Placement
from app.room_config import RoomsConfig

RouteKind = Literal["kota", "district", "fallback", "test"]


@dataclass(frozen=True, slots=True)
class Route:
    kind: RouteKind
    rooms: tuple[str, ...]
    reason: str
    flags: tuple[str, ...] = field(default=())
    also_districts: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "rooms": list(self.rooms),
            "reason": self.reason,
            "flags": list(self.flags),
            "also_districts": list(self.also_districts),
        }


def route_alert(*, placement: Placement, rooms: RoomsConfig) -> Route:
    fallback = rooms.fallback_room

    if placement.in_rajasthan is False:
        return _route_outside(placement=placement, rooms=rooms)

    if placement.district is None:
        reason = (
            "ambiguous_location"
            if "ambiguous" in placement.flags
            else ("no_location" if not placement.evidence else "unknown_location")
        )
        return Route("fallback", (fallback,), reason, ("unrouted",))

    if placement.district == KOTA:
        police = placement.police_district
        if police not in (KOTA_CITY, KOTA_RURAL):
            police = KOTA_CITY
        room = rooms.room_for(district=KOTA, police_district=police)
        route = (
            Route("kota", (room,), f"kota_police:{police}")
            if room is not None
            else Route("fallback", (fallback,), "no_room_for_district")
        )
    else:
        room = rooms.room_for(
            district=placement.district, police_district=placement.police_district
        )
        route = (
            Route("district", (room,), "district_room")
            if room is not None and room != fallback
            else Route("fallback", (fallback,), "no_room_for_district")
        )

    if "conflict" in placement.flags and fallback not in route.rooms:
        return Route(
            route.kind,
            (*route.rooms, fallback),
            route.reason,
            (*route.flags, "conflict"),
        )
    return route


def route_test_alert(*, rooms: RoomsConfig) -> Route:
    """A test alert reaches the test room only (the fallback room when none is set),
    wherever it says the person is."""
    room = rooms.test_room or rooms.fallback_room
    return Route("test", (room,), "test_alert", ("test",))


def _route_outside(*, placement: Placement, rooms: RoomsConfig) -> Route:
    fallback = rooms.fallback_room
    home = placement.home_district
    if home is None:
        return Route(
            "fallback", (fallback,), "outside_rajasthan", ("cross_jurisdiction",)
        )

    home_room = rooms.room_for(district=home, police_district=None)
    if home == KOTA:
        home_room = rooms.room_for(district=KOTA, police_district=KOTA_CITY)
    extra = (home_room,) if home_room is not None and home_room != fallback else ()
    return Route(
        "fallback",
        (fallback, *extra),
        "outside_rajasthan_home_district",
        ("cross_jurisdiction",),
        (home,),
    )
