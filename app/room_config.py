"""Control rooms and how districts map onto them, from one YAML file.

The file is validated when the service starts and by ``redflag-relay check-config``.
A file that leaves a current district without a room (or without an explicit
``districts_on_fallback`` entry) is refused with a message naming the gap.

Values may refer to the environment as ``${NAME}`` or ``${NAME:-default}``, so one
file serves every deployment and secrets stay out of it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

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
from app.settings import decode_whsec, secret_is_placeholder

_ENV_REF = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")
_ROOM_ID = r"^[a-z0-9][a-z0-9-]{1,62}$"


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
        normalised = []
        for raw in value:
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
            normalised.append(
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            )
        return normalised


class ControlRoom(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ROOM_ID)
    name: str
    name_hi: str | None = None
    districts: list[str] = Field(default_factory=list)
    police_districts: list[str] = Field(default_factory=list)
    http: HttpChannel | None = None
    sms: SmsChannel | None = None

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
    rooms: list[ControlRoom] = Field(min_length=1)

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
    return problems
