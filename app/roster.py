"""Who is on shift in a control room at a given instant, and what is wrong with that.

Shifts are daily slots in the rooms file's timezone (Asia/Kolkata by default). Each
shift belongs to the date it starts on: the night shift that starts at 22:00 on 3
December runs until 06:00 on 4 December, and 00:30 on 4 December belongs to it. The
rotation and the overrides are keyed by that start date. Intervals are half-open: a
shift holds its first instant, and the next shift holds the instant it ends.

Nothing here reads the clock; every instant is passed in, timezone-aware.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

from app.room_config import (
    ControlRoom,
    Person,
    RoomsConfig,
    Rotation,
    Shift,
    find_shift_problems,
)

__all__ = ["OnShift", "Person", "Roster", "RosterProblem"]

UTC = dt.UTC


@dataclass(frozen=True)
class OnShift:
    """One shift of one room; no people means the slot is empty."""

    room: str
    shift: str
    date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    people: tuple[Person, ...]
    source: Literal["rotation", "override"]


@dataclass(frozen=True)
class RosterProblem:
    """A gap or an overlap, located by room, shift and local time where it has one."""

    kind: Literal["gap", "overlap"]
    message: str
    room: str | None = None
    shift: str | None = None
    starts_local: dt.datetime | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class _Slot:
    shift: Shift
    date: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime


class Roster:
    """The shifts and people of every room, resolved for any instant."""

    def __init__(
        self,
        *,
        rooms: list[ControlRoom],
        shifts: list[Shift],
        people: list[Person],
        timezone: str,
        rotations: dict[str, Rotation | None],
        test_room: str | None = None,
    ) -> None:
        self.zone = ZoneInfo(timezone)
        # The test room takes drills only and pages nobody, so it needs no roster.
        self._test_room = test_room
        self._rooms = {room.id: room for room in rooms}
        self._shifts = sorted(shifts, key=lambda shift: shift.start)
        self._people = {person.id: person for person in people}
        self._rotations = {room.id: rotations.get(room.id) for room in rooms}
        self._shift_problems = find_shift_problems(shifts)

    @classmethod
    def from_config(cls, config: RoomsConfig) -> Roster:
        """The roster of a rooms file that ``load_rooms`` has accepted."""
        return cls(
            rooms=config.rooms,
            shifts=config.shifts,
            people=config.people,
            timezone=config.timezone,
            rotations={room.id: config.rotation_of(room) for room in config.rooms},
            test_room=config.test_room,
        )

    def person(self, person_id: str) -> Person:
        """The person with this id; KeyError if the rooms file has none."""
        return self._people[person_id]

    def duty_officer(self, room_id: str) -> Person | None:
        """The district duty officer of a room, if the rooms file names one."""
        officer = self._room(room_id).duty_officer
        return None if officer is None else self._people[officer]

    def supervisor(self, room_id: str) -> Person | None:
        """The supervisor of a room, if the rooms file names one."""
        supervisor = self._room(room_id).supervisor
        return None if supervisor is None else self._people[supervisor]

    def alternate_sms(self, room_id: str) -> tuple[str, ...]:
        """The room's alternate numbers, in E.164 form."""
        return tuple(self._room(room_id).alternate_sms)

    def on_shift(self, room_id: str, at: dt.datetime) -> OnShift:
        """The shift of a room that holds the instant ``at``, and who is on it."""
        room = self._room(room_id)
        slot = self._slot_at(_aware(at))
        return self._fill(room, slot)

    def shift_starts(self, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
        """Every shift boundary in [start, end), in UTC: the handovers to announce."""
        start, end = _aware(start), _aware(end)
        return [
            slot.starts_at
            for slot in self._slots(start, end)
            if slot.starts_at >= start
        ]

    def check(self, start: dt.datetime, days: int = 14) -> list[RosterProblem]:
        """Gaps and overlaps in every shift from the one holding ``start`` onwards
        for ``days`` days: bad shift definitions, rooms without a roster, duty officer
        or supervisor, empty slots, and a person on two rooms at once."""
        start = _aware(start)
        problems = [RosterProblem("gap", text) for text in self._shift_problems]
        if problems:
            return problems
        problems.extend(self._missing_roles())

        without_roster = {
            r.id
            for r in self._rooms.values()
            if r.roster is None or r.id == self._test_room
        }
        for slot in self._slots(start, start + dt.timedelta(days=days)):
            filled = [
                self._fill(room, slot)
                for room in self._rooms.values()
                if room.id not in without_roster
            ]
            problems.extend(self._gaps(filled))
            problems.extend(self._overlaps(filled))
        return problems

    def _room(self, room_id: str) -> ControlRoom:
        try:
            return self._rooms[room_id]
        except KeyError:
            raise KeyError(f"no room {room_id!r} in the rooms file") from None

    def _missing_roles(self) -> list[RosterProblem]:
        problems = []
        for room in self._rooms.values():
            if room.id == self._test_room:
                continue
            if room.roster is None:
                problems.append(
                    RosterProblem("gap", f"{room.id}: no roster", room=room.id)
                )
            for role in ("duty_officer", "supervisor"):
                if getattr(room, role) is None:
                    text = f"{room.id}: no {role.replace('_', ' ')}"
                    problems.append(RosterProblem("gap", text, room=room.id))
        return problems

    def _gaps(self, filled: list[OnShift]) -> list[RosterProblem]:
        return [
            self._problem(
                "gap", on, f"{on.room}: nobody on the {self._label(on)} ({on.source})"
            )
            for on in filled
            if not on.people
        ]

    def _overlaps(self, filled: list[OnShift]) -> list[RosterProblem]:
        rooms_of: dict[str, list[OnShift]] = {}
        for on in filled:
            for person_id in dict.fromkeys(person.id for person in on.people):
                rooms_of.setdefault(person_id, []).append(on)
        return [
            self._problem(
                "overlap",
                shared[0],
                f"{person_id} is on {' and '.join(on.room for on in shared)} at once, "
                f"on the {self._label(shared[0])}",
            )
            for person_id, shared in rooms_of.items()
            if len(shared) > 1
        ]

    def _problem(
        self, kind: Literal["gap", "overlap"], on: OnShift, message: str
    ) -> RosterProblem:
        return RosterProblem(
            kind,
            message,
            room=on.room,
            shift=on.shift,
            starts_local=on.starts_at.astimezone(self.zone),
        )

    def _label(self, on: OnShift) -> str:
        start = on.starts_at.astimezone(self.zone)
        end = on.ends_at.astimezone(self.zone)
        return (
            f"{on.shift} shift of {on.date.isoformat()} "
            f"({start:%H:%M}-{end:%H:%M} {self.zone.key})"
        )

    def _fill(self, room: ControlRoom, slot: _Slot) -> OnShift:
        ids, source = self._assigned(room, slot)
        people = tuple(self._people[i] for i in dict.fromkeys(ids))
        return OnShift(
            room=room.id,
            shift=slot.shift.name,
            date=slot.date,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            people=people,
            source=source,
        )

    def _assigned(
        self, room: ControlRoom, slot: _Slot
    ) -> tuple[list[str], Literal["rotation", "override"]]:
        """The people of a slot: a dated override wins over the rotation."""
        roster, rotation = room.roster, self._rotations[room.id]
        if roster is None or rotation is None:
            return [], "rotation"
        for override in roster.overrides:
            if override.date == slot.date and override.shift == slot.shift.name:
                return override.people, "override"

        days = rotation.days
        day = days[(slot.date - rotation.start).days % len(days)]
        team = day.get(slot.shift.name)
        return list(roster.teams.get(team, [])) if team else [], "rotation"

    def _slot_at(self, at: dt.datetime) -> _Slot:
        local_date = at.astimezone(self.zone).date()
        slots = self._slots_of_dates(local_date - dt.timedelta(days=1), days=3)
        return next(slot for slot in reversed(slots) if slot.starts_at <= at)

    def _slots(self, start: dt.datetime, end: dt.datetime) -> list[_Slot]:
        """The slots that hold any instant of [start, end), in order."""
        first = start.astimezone(self.zone).date() - dt.timedelta(days=1)
        days = (end.astimezone(self.zone).date() - first).days + 2
        return [
            slot
            for slot in self._slots_of_dates(first, days=days)
            if slot.ends_at > start and slot.starts_at < end
        ]

    def _slots_of_dates(self, first: dt.date, *, days: int) -> list[_Slot]:
        """The slots starting on ``days`` dates from ``first``; each ends where the
        next begins, so every instant has exactly one slot."""
        starts = [
            (shift, date, _utc_at(date, shift.start, self.zone))
            for date in (first + dt.timedelta(days=n) for n in range(days + 1))
            for shift in self._shifts
        ]
        return [
            _Slot(shift=shift, date=date, starts_at=begins, ends_at=following[2])
            for (shift, date, begins), following in pairwise(starts)
        ]


def _utc_at(date: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(date, time, tzinfo=zone).astimezone(UTC)


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the roster needs a timezone-aware datetime")
    return at.astimezone(UTC)
