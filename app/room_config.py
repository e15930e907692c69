"""Control rooms and how districts map onto them, from one YAML file.

The file is validated when the service starts and by ``redflag-relay check-config``.
A file that leaves a current district without a room (or without an explicit
``districts_on_fallback`` entry) is refused with a message naming the gap.

Values may refer to the environment as ``${NAME}`` or ``${NAME:-default}``, so one
file serves every deployment and secrets stay out of it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from app.districts import (
    KOTA,
    KOTA_CITY,
    KOTA_RURAL,
    current_districts,
    police_districts,
)
from app.errors import ConfigError
from app.escalation_policy import DEFAULT_POLICY, EscalationPolicy
from app.settings import decode_whsec, secret_is_placeholder

_ENV_REF = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")
_ROOM_ID = r"^[a-z0-9][a-z0-9-]{1,62}$"
_PERSON_ID = r"^[a-z0-9][a-z0-9._-]{1,62}$"
_SHIFT_NAME = r"^[a-z][a-z0-9_-]{0,31}$"
_CLOCK_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
DEFAULT_TIMEZONE = "Asia/Kolkata"


class HttpChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    signing_secret: SecretStr

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @property
    def signing_key(self) -> bytes:
        return decode_whsec(self.signing_secret.get_secret_value())


class SmsChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    numbers: list[str] = Field(min_length=1)

    @field_validator("numbers")
    @classmethod
    def _indian_mobiles(cls, value: list[str]) -> list[str]:
        return [indian_mobile(raw) for raw in value]


def indian_mobile(raw: str) -> str:
    """An Indian mobile number in E.164 form; ValueError for anything else."""
    try:
        number = phonenumbers.parse(raw, "IN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("an SMS number is not a phone number") from exc
    kind = phonenumbers.number_type(number)
    mobile = kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if not phonenumbers.is_valid_number(number) or not mobile:
        raise ValueError("an SMS number is not a valid mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Person(BaseModel):
    """An officer who can be paged. The name and phone stay out of reprs and logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_PERSON_ID)
    name: str = Field(min_length=1, repr=False)
    phone: str = Field(repr=False)

    @field_validator("phone")
    @classmethod
    def _indian_mobile(cls, value: str) -> str:
        return indian_mobile(value)


class Shift(BaseModel):
    """A daily slot in the roster's timezone; a shift may run past midnight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_SHIFT_NAME)
    start: dt.time
    end: dt.time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock_time(cls, value: object) -> dt.time:
        if isinstance(value, dt.time):
            return value
        if isinstance(value, int):
            # YAML 1.1 reads an unquoted 22:00 as the number 1320.
            raise ValueError('write the time in quotes, as "22:00"')
        match = _CLOCK_TIME.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError('must be a time of day as "HH:MM", from 00:00 to 23:59')
        return dt.time(int(match.group(1)), int(match.group(2)))

    @property
    def minutes(self) -> range:
        """The minutes of the day the shift covers; past 1440 means the next day."""
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        return range(start, end if end > start else end + 1440)


DEFAULT_SHIFTS = (
    Shift(name="morning", start="06:00", end="14:00"),
    Shift(name="evening", start="14:00", end="22:00"),
    Shift(name="night", start="22:00", end="06:00"),
)


class Rotation(BaseModel):
    """The duty sheet: day ``n`` after ``start`` uses ``days[n % len(days)]``, which
    names the team on each shift. A shift belongs to the date it starts on."""

    model_config = ConfigDict(extra="forbid")

    start: dt.date
    days: list[dict[str, str]] = Field(min_length=1)


class RosterOverride(BaseModel):
    """Who holds one shift on one date instead of the rotation's team."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date
    shift: str
    people: list[str]
    reason: str | None = None


class RoomRoster(BaseModel):
    """A room's teams; its own rotation, or else the file's top-level one."""

    model_config = ConfigDict(extra="forbid")

    teams: dict[str, list[str]] = Field(min_length=1)
    rotation: Rotation | None = None
    overrides: list[RosterOverride] = Field(default_factory=list)


class ControlRoom(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ROOM_ID)
    name: str
    name_hi: str | None = None
    districts: list[str] = Field(default_factory=list)
    police_districts: list[str] = Field(default_factory=list)
    http: HttpChannel | None = None
    sms: SmsChannel | None = None
    alternate_sms: list[str] = Field(default_factory=list)
    duty_officer: str | None = None
    supervisor: str | None = None
    roster: RoomRoster | None = None

    @field_validator("alternate_sms")
    @classmethod
    def _alternate_mobiles(cls, value: list[str]) -> list[str]:
        return [indian_mobile(raw) for raw in value]

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, on in (("http", self.http), ("sms", self.sms))
            if on is not None
        )


class RoomsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    fallback_room: str
    districts_on_fallback: list[str] = Field(default_factory=list)
    # Alerts with status "test" go here only; to the fallback room when unset.
    test_room: str | None = None
    escalation: EscalationPolicy = DEFAULT_POLICY
    rooms: list[ControlRoom] = Field(min_length=1)
    timezone: str = DEFAULT_TIMEZONE
    shifts: list[Shift] = Field(
        default_factory=lambda: list(DEFAULT_SHIFTS), min_length=1
    )
    people: list[Person] = Field(default_factory=list)
    rotation: Rotation | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a known timezone") from exc
        return value

    def room(self, room_id: str) -> ControlRoom:
        return self._by_id()[room_id]

    def room_for(
        self, *, district: str | None, police_district: str | None
    ) -> str | None:
        """The room configured for a police district, else for a revenue district."""
        if police_district is not None:
            for room in self.rooms:
                if police_district in room.police_districts:
                    return room.id
        if district is not None:
            for room in self.rooms:
                if district in room.districts:
                    return room.id
        return None

    @property
    def sms_enabled(self) -> bool:
        return any(room.sms is not None for room in self.rooms)

    def without_sms(self) -> RoomsConfig:
        """The same rooms without SMS; refused if a room would have no channel left."""
        unreachable = [room.id for room in self.rooms if room.http is None]
        if unreachable:
            raise ConfigError(
                "SMS is off (REDFLAG_SMS_GATEWAY_URL is empty) but these rooms have "
                "no http channel: " + ", ".join(unreachable)
            )
        rooms = [room.model_copy(update={"sms": None}) for room in self.rooms]
        return self.model_copy(update={"rooms": rooms})

    def rotation_of(self, room: ControlRoom) -> Rotation | None:
        """The duty sheet a room follows: its own, else the file's."""
        if room.roster is None:
            return None
        return room.roster.rotation or self.rotation

    def _by_id(self) -> dict[str, ControlRoom]:
        return {room.id: room for room in self.rooms}


def _interpolate(text: str, environ: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(f"the rooms file refers to ${{{name}}}, which is not set")

    return _ENV_REF.sub(replace, text)


def load_rooms(
    path: Path, *, demo_mode: bool = False, environ: dict[str, str] | None = None
) -> RoomsConfig:
    """Read, interpolate and validate the rooms file; ConfigError names each problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the rooms file {path}: {exc.strerror}") from exc
    text = _interpolate(text, dict(os.environ) if environ is None else environ)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"the rooms file {path} is not valid YAML") from exc
    try:
        config = RoomsConfig.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"the rooms file {path} is invalid: {details}") from exc

    problems = find_problems(config, demo_mode=demo_mode)
    if problems:
        raise ConfigError(f"the rooms file {path} is refused: " + "; ".join(problems))
    return config


def find_problems(config: RoomsConfig, *, demo_mode: bool) -> list[str]:
    """Everything wrong with a parsed rooms file, each naming what to fix."""
    problems: list[str] = []
    known = set(current_districts())
    known_police = set(police_districts())
    ids = [room.id for room in config.rooms]

    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"room ids used twice: {', '.join(duplicates)}")
    if config.fallback_room not in ids:
        problems.append(f"fallback_room {config.fallback_room!r} is not a room")
    if config.test_room is not None and config.test_room not in ids:
        problems.append(f"test_room {config.test_room!r} is not a room")

    covered: dict[str, str] = {}
    for room in config.rooms:
        if not room.channels:
            problems.append(f"room {room.id} has neither http nor sms")
        for name in room.districts:
            if name not in known:
                problems.append(f"room {room.id}: {name!r} is not a current district")
            elif name in covered:
                problems.append(
                    f"district {name} is in rooms {covered[name]} and {room.id}"
                )
            else:
                covered[name] = room.id
        for name in room.police_districts:
            if name not in known_police:
                problems.append(f"room {room.id}: {name!r} is not a police district")
        if room.http is not None:
            secret = room.http.signing_secret.get_secret_value()
            try:
                decode_whsec(secret)
            except ConfigError as exc:
                problems.append(f"room {room.id}: signing_secret: {exc}")
            if not demo_mode and secret_is_placeholder(secret):
                problems.append(f"room {room.id}: signing_secret is a placeholder")

    for name in config.districts_on_fallback:
        if name not in known:
            problems.append(
                f"districts_on_fallback: {name!r} is not a current district"
            )
    kota_police = {KOTA_CITY, KOTA_RURAL}
    kota_rooms = {
        p for room in config.rooms for p in room.police_districts if p in kota_police
    }
    if KOTA not in covered and kota_rooms != kota_police:
        problems.append("Kota needs a room for Kota City and Kota Rural, or for Kota")
    missing = [
        name
        for name in current_districts()
        if name not in covered
        and name not in config.districts_on_fallback
        and not (name == KOTA and kota_rooms == kota_police)
    ]
    if missing:
        problems.append(
            "districts with no room (add them to a room or to districts_on_fallback): "
            + ", ".join(missing)
        )
    problems.extend(find_shift_problems(config.shifts))
    problems.extend(_roster_problems(config))
    return problems


def find_shift_problems(shifts: list[Shift]) -> list[str]:
    """Shift definitions that leave a gap or an overlap in the day, each named."""
    problems: list[str] = []
    names = [shift.name for shift in shifts]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"shift names used twice: {', '.join(duplicates)}")

    holders: list[list[str]] = [[] for _ in range(1440)]
    for shift in shifts:
        for minute in shift.minutes:
            holders[minute % 1440].append(shift.name)
    for start, end, names_here in _runs(holders):
        span = f"{_clock(start)}-{_clock(end)}"
        if not names_here:
            problems.append(f"shifts leave a gap: no shift covers {span}")
        elif len(names_here) > 1:
            problems.append(
                f"shifts overlap: {' and '.join(names_here)} both cover {span}"
            )
    return problems


def _runs(holders: list[list[str]]) -> list[tuple[int, int, list[str]]]:
    """Consecutive minutes with the same holders, as (start, end, holders)."""
    runs: list[tuple[int, int, list[str]]] = []
    start = 0
    for minute in range(1, 1441):
        if minute == 1440 or holders[minute] != holders[start]:
            runs.append((start, minute, holders[start]))
            start = minute
    return runs


def _clock(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def _roster_problems(config: RoomsConfig) -> list[str]:
    """People, duty officers, supervisors and rosters that refer to nothing."""
    problems: list[str] = []
    ids = [person.id for person in config.people]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"person ids used twice: {', '.join(duplicates)}")
    known = set(ids)
    shift_names = {shift.name for shift in config.shifts}

    for room in config.rooms:
        where = f"room {room.id}"
        for role in ("duty_officer", "supervisor"):
            person = getattr(room, role)
            if person is not None and person not in known:
                problems.append(f"{where}: {role} {person!r} is not in people")
        if room.roster is None:
            continue
        for team, members in room.roster.teams.items():
            problems.extend(
                f"{where}: team {team!r}: {person!r} is not in people"
                for person in members
                if person not in known
            )
        rotation = config.rotation_of(room)
        if rotation is None:
            problems.append(f"{where}: roster has no rotation and the file has none")
            continue
        for number, day in enumerate(rotation.days, start=1):
            for shift, team in day.items():
                if shift not in shift_names:
                    problems.append(
                        f"{where}: rotation day {number}: {shift!r} is not a shift"
                    )
                if team not in room.roster.teams:
                    problems.append(
                        f"{where}: rotation day {number}: {team!r} is not a team"
                    )
        seen: set[tuple[dt.date, str]] = set()
        for override in room.roster.overrides:
            label = f"{where}: override {override.date} {override.shift}"
            if override.shift not in shift_names:
                problems.append(f"{label}: {override.shift!r} is not a shift")
            if (override.date, override.shift) in seen:
                problems.append(f"{label}: given twice")
            seen.add((override.date, override.shift))
            problems.extend(
                f"{label}: {person!r} is not in people"
                for person in override.people
                if person not in known
            )
    return problems
