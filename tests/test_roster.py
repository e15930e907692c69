"""The shift roster: who is on shift at any instant, in Asia/Kolkata, and its gaps."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from app.cli import cli
from app.demo import DEMO_ROOM_SECRET
from app.errors import ConfigError
from app.room_config import RoomsConfig, find_shift_problems, load_rooms
from app.roster import Roster
from app.settings import EXAMPLE_ROOMS_FILE

IST = ZoneInfo("Asia/Kolkata")
ENV = {"REDFLAG_ROOM_SIGNING_SECRET": DEMO_ROOM_SECRET}
runner = CliRunner()


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def person(person_id: str, number: int) -> dict[str, str]:
    return {
        "id": person_id,
        "name": f"Officer {person_id}",
        "phone": f"9000{number:06d}",
    }


def room(room_id: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": room_id,
        "name": room_id.title(),
        "sms": {"numbers": ["+919000000001"]},
        "duty_officer": f"{code}-duty",
        "supervisor": "sup",
        "roster": {"teams": {team: [f"{code}{team}"] for team in "abc"}, **extra},
    }


def config(**changes: Any) -> RoomsConfig:
    """Two rooms on a three-day sheet from 1 December 2026: on 3 December (day 3)
    the night is team b's; on 4 December (day 1 again) it is team a's morning."""
    raw: dict[str, Any] = {
        "fallback_room": "kota-city",
        "rotation": {
            "start": "2026-12-01",
            "days": [
                {"morning": "a", "evening": "b", "night": "c"},
                {"morning": "b", "evening": "c", "night": "a"},
                {"morning": "c", "evening": "a", "night": "b"},
            ],
        },
        "people": [
            person(pid, n)
            for n, pid in enumerate(
                ["sup", "k-duty", "ka", "kb", "kc", "b-duty", "ba", "bb", "bc"]
            )
        ],
        "rooms": [room("kota-city", "k"), room("bundi", "b")],
    }
    raw.update(changes)
    return RoomsConfig.model_validate(raw)


def example_text() -> str:
    return EXAMPLE_ROOMS_FILE.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rooms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edited_example(tmp_path: Path, old: str, new: str) -> Path:
    text = example_text()
    assert text.count(old) == 1, old
    return write(tmp_path, text.replace(old, new))


@pytest.mark.parametrize(
    ("instant", "shift", "date", "team"),
    [
        ("2026-12-03T16:29:59Z", "evening", "2026-12-03", "ka"),
        ("2026-12-03T16:30:00Z", "night", "2026-12-03", "kb"),
        ("2026-12-03T18:29:59Z", "night", "2026-12-03", "kb"),  # 23:59:59 IST
        ("2026-12-03T18:30:00Z", "night", "2026-12-03", "kb"),  # 00:00:00 IST
        ("2026-12-04T00:29:59Z", "night", "2026-12-03", "kb"),  # 05:59:59 IST
        ("2026-12-04T00:30:00Z", "morning", "2026-12-04", "ka"),  # 06:00:00 IST
    ],
)
def test_shift_boundaries_at_midnight_and_six_ist(
    instant: str, shift: str, date: str, team: str
) -> None:
    roster = Roster.from_config(config())

    on = roster.on_shift("kota-city", utc(instant))

    assert (on.shift, on.date.isoformat()) == (shift, date)
    assert [p.id for p in on.people] == [team]
    assert on.starts_at <= utc(instant) < on.ends_at
    assert on.starts_at.tzinfo == dt.UTC and on.ends_at.tzinfo == dt.UTC


def test_an_alert_at_half_past_midnight_uses_the_night_that_began_the_day_before() -> (
    None
):
    roster = Roster.from_config(config())
    at = dt.datetime(2026, 12, 4, 0, 30, tzinfo=IST)

    on = roster.on_shift("kota-city", at)

    assert on.shift == "night"
    assert on.date == dt.date(2026, 12, 3)
    assert on.starts_at == utc("2026-12-03T16:30:00Z")  # 22:00 IST on the 3rd
    assert on.ends_at == utc("2026-12-04T00:30:00Z")  # 06:00 IST on the 4th
    assert [p.id for p in on.people] == ["kb"]  # the 3rd's night team, not the 4th's
    assert on.source == "rotation"


def test_an_override_wins_over_the_rotation_for_its_shift_only() -> None:
    rotation_team_c_on_the_night = room(
        "kota-city",
        "k",
        overrides=[{"date": "2026-12-03", "shift": "night", "people": ["kc", "ka"]}],
    )
    roster = Roster.from_config(
        config(rooms=[rotation_team_c_on_the_night, room("bundi", "b")])
    )

    overnight = roster.on_shift("kota-city", utc("2026-12-03T19:00:00Z"))
    next_morning = roster.on_shift("kota-city", utc("2026-12-04T00:30:00Z"))

    assert overnight.source == "override"
    assert [p.id for p in overnight.people] == ["kc", "ka"]
    assert next_morning.source == "rotation"
    assert [p.id for p in next_morning.people] == ["ka"]


def test_a_room_without_a_roster_has_an_empty_slot() -> None:
    bare = {"id": "bundi", "name": "Bundi", "sms": {"numbers": ["+919000000001"]}}
    roster = Roster.from_config(config(rooms=[room("kota-city", "k"), bare]))

    on = roster.on_shift("bundi", utc("2026-12-03T19:00:00Z"))

    assert on.people == ()


def test_naive_instants_are_refused() -> None:
    roster = Roster.from_config(config())

    with pytest.raises(ValueError, match="timezone-aware"):
        roster.on_shift("kota-city", dt.datetime(2026, 12, 4, 0, 30))


def test_shift_starts_are_the_handovers_in_a_half_open_interval() -> None:
    roster = Roster.from_config(config())

    starts = roster.shift_starts(
        utc("2026-12-03T00:30:00Z"), utc("2026-12-04T00:30:00Z")
    )

    assert starts == [
        utc("2026-12-03T00:30:00Z"),
        utc("2026-12-03T08:30:00Z"),
        utc("2026-12-03T16:30:00Z"),
    ]


def test_people_roles_and_alternate_numbers_are_looked_up() -> None:
    kota = room("kota-city", "k")
    kota["alternate_sms"] = ["090000 00099"]
    roster = Roster.from_config(config(rooms=[kota, room("bundi", "b")]))

    officer = roster.person("ka")

    assert (officer.name, officer.phone) == ("Officer ka", "+919000000002")
    assert roster.duty_officer("kota-city") == roster.person("k-duty")
    assert roster.supervisor("bundi") == roster.person("sup")
    assert roster.alternate_sms("kota-city") == ("+919000000099",)


def test_a_person_repr_carries_no_name_or_phone() -> None:
    officer = Roster.from_config(config()).person("ka")

    assert "Officer" not in repr(officer)
    assert "9000" not in repr(officer)


def test_the_example_has_no_gaps_or_overlaps_over_fourteen_days() -> None:
    roster = Roster.from_config(
        load_rooms(EXAMPLE_ROOMS_FILE, demo_mode=True, environ=ENV)
    )

    for start in ("2026-12-03T18:29:59Z", "2026-12-25T00:00:00Z", "2027-06-01T12:00Z"):
        assert roster.check(utc(start), days=14) == []


def test_the_example_gives_every_room_a_roster_duty_officer_and_supervisor() -> None:
    rooms = load_rooms(EXAMPLE_ROOMS_FILE, demo_mode=True, environ=ENV)
    roster = Roster.from_config(rooms)

    # The test desk takes drills only and pages nobody, so it has no roster.
    for control_room in (r for r in rooms.rooms if r.id != rooms.test_room):
        on = roster.on_shift(control_room.id, utc("2026-12-03T19:00:00Z"))
        assert on.people, control_room.id
        assert roster.duty_officer(control_room.id) is not None
        assert roster.supervisor(control_room.id) is not None


def test_an_empty_slot_is_a_gap_named_by_room_shift_and_local_time() -> None:
    vacant = room(
        "kota-city",
        "k",
        overrides=[{"date": "2026-12-05", "shift": "night", "people": []}],
    )
    roster = Roster.from_config(config(rooms=[vacant, room("bundi", "b")]))

    problems = roster.check(utc("2026-12-03T00:00:00Z"), days=14)

    assert len(problems) == 1
    gap = problems[0]
    assert (gap.kind, gap.room, gap.shift) == ("gap", "kota-city", "night")
    assert gap.starts_local == dt.datetime(2026, 12, 5, 22, 0, tzinfo=IST)
    assert gap.message == (
        "kota-city: nobody on the night shift of 2026-12-05 "
        "(22:00-06:00 Asia/Kolkata) (override)"
    )


def test_a_person_on_two_rooms_at_once_is_an_overlap() -> None:
    shared = room("bundi", "b")
    shared["roster"]["teams"]["a"] = ["ba", "ka"]
    roster = Roster.from_config(config(rooms=[room("kota-city", "k"), shared]))

    problems = roster.check(utc("2026-12-03T00:30:00Z"), days=1)

    # From 06:00 IST on the 3rd for a day, team a holds only the evening.
    assert [(p.kind, p.shift, p.starts_local) for p in problems] == [
        ("overlap", "evening", dt.datetime(2026, 12, 3, 14, 0, tzinfo=IST)),
    ]
    assert "ka is on kota-city and bundi at once" in problems[0].message


def test_rooms_missing_a_roster_or_roles_are_reported() -> None:
    bare = {"id": "bundi", "name": "Bundi", "sms": {"numbers": ["+919000000001"]}}
    roster = Roster.from_config(config(rooms=[room("kota-city", "k"), bare]))

    problems = roster.check(utc("2026-12-03T00:00:00Z"))

    assert [p.message for p in problems] == [
        "bundi: no roster",
        "bundi: no duty officer",
        "bundi: no supervisor",
    ]


@pytest.mark.parametrize(
    ("shifts", "message"),
    [
        (
            [
                ("morning", "06:00", "14:00"),
                ("evening", "14:00", "21:00"),
                ("night", "22:00", "06:00"),
            ],
            "shifts leave a gap: no shift covers 21:00-22:00",
        ),
        (
            [
                ("morning", "06:00", "14:00"),
                ("evening", "14:00", "22:00"),
                ("night", "21:30", "06:30"),
            ],
            "shifts overlap: evening and night both cover 21:30-22:00",
        ),
        (
            [("day", "08:00", "20:00"), ("night", "20:00", "07:00")],
            "shifts leave a gap: no shift covers 07:00-08:00",
        ),
    ],
    ids=["gap", "overlap", "gap-in-the-morning"],
)
def test_shift_definitions_with_a_gap_or_overlap_are_named(
    shifts: list[tuple[str, str, str]], message: str
) -> None:
    parsed = config(
        shifts=[{"name": n, "start": s, "end": e} for n, s, e in shifts]
    ).shifts

    assert message in find_shift_problems(parsed)


def test_two_twelve_hour_shifts_are_fine() -> None:
    parsed = config(
        shifts=[
            {"name": "day", "start": "08:00", "end": "20:00"},
            {"name": "night", "start": "20:00", "end": "08:00"},
        ]
    ).shifts

    assert find_shift_problems(parsed) == []


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '{name: evening, start: "14:00", end: "22:00"}',
            '{name: evening, start: "14:00", end: "21:00"}',
            "no shift covers 21:00-22:00",
        ),
        (
            '{name: evening, start: "14:00", end: "22:00"}',
            "{name: evening, start: 14:00, end: 22:00}",
            'write the time in quotes, as "22:00"',
        ),
        (
            "    duty_officer: tonk-duty\n",
            "    duty_officer: nobody\n",
            "room tonk: duty_officer 'nobody' is not in people",
        ),
        (
            "        d: [tonk-d]\n",
            "        d: [tonk-d, tonk-z]\n",
            "room tonk: team 'd': 'tonk-z' is not in people",
        ),
        (
            "        d: [tonk-d]\n",
            "        d: [tonk-d]\n      overrides:\n"
            "        - {date: 2026-12-05, shift: nights, people: [tonk-a]}\n",
            "room tonk: override 2026-12-05 nights: 'nights' is not a shift",
        ),
        (
            "    - {morning: a, evening: b, night: c}  # d off\n",
            "    - {morning: a, evening: b, night: e}  # d off\n",
            "room tonk: rotation day 1: 'e' is not a team",
        ),
        (
            "timezone: Asia/Kolkata\n",
            "timezone: Asia/Calcutta-ish\n",
            "is not a known timezone",
        ),
        (
            '    phone: "${REDFLAG_ROOM_SMS_PREFIX:-+9190000}00301"\n',
            '    phone: "0141 2345678"\n',
            r"people\.0\.phone: .*not a valid mobile number",
        ),
    ],
    ids=[
        "shift-gap",
        "unquoted-time",
        "duty-officer",
        "team-member",
        "override-shift",
        "rotation-team",
        "timezone",
        "landline",
    ],
)
def test_roster_config_errors_are_refused_with_a_reason(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = edited_example(tmp_path, old, new)

    with pytest.raises(ConfigError, match=message):
        load_rooms(path, demo_mode=True, environ=ENV)


def test_phones_are_kept_in_e164() -> None:
    rooms = load_rooms(EXAMPLE_ROOMS_FILE, demo_mode=True, environ=ENV)

    assert {p.phone[:3] for p in rooms.people} == {"+91"}
    assert all(len(p.phone) == 13 for p in rooms.people)


_RESOLVE_SCRIPT = """
import datetime as dt, json, sys
from app.room_config import load_rooms
from app.roster import Roster
from app.settings import EXAMPLE_ROOMS_FILE
rooms = load_rooms(EXAMPLE_ROOMS_FILE, demo_mode=True, environ=json.loads(sys.argv[1]))
roster = Roster.from_config(rooms)
out = []
for text in sys.argv[2:]:
    on = roster.on_shift("kota-city", dt.datetime.fromisoformat(text))
    out.append([on.shift, on.date.isoformat(), on.starts_at.isoformat(),
                on.ends_at.isoformat(), [p.id for p in on.people]])
start = dt.datetime.fromisoformat(sys.argv[2])
end = start + dt.timedelta(days=2)
out.append([t.isoformat() for t in roster.shift_starts(start, end)])
out.append([str(p) for p in roster.check(start)])
print(json.dumps(out))
"""
_INSTANTS = [
    "2026-12-03T18:29:59+00:00",
    "2026-12-03T18:30:00+00:00",
    "2026-12-04T00:29:59+00:00",
    "2026-12-04T00:30:00+00:00",
    "2026-03-08T07:30:00+00:00",  # New York springs forward that morning
    "2026-11-01T06:30:00+00:00",  # and falls back on this one
]


def _resolve_in_subprocess(tz: str) -> list[Any]:
    env = {**os.environ, "TZ": tz}
    result = subprocess.run(
        [sys.executable, "-c", _RESOLVE_SCRIPT, json.dumps(ENV), *_INSTANTS],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_the_host_timezone_changes_nothing() -> None:
    """The same answers with the host in New York as in Kolkata."""
    in_kolkata = _resolve_in_subprocess("Asia/Kolkata")

    in_new_york = _resolve_in_subprocess("America/New_York")

    assert in_new_york == in_kolkata
    assert in_kolkata[0][:2] == ["night", "2026-12-03"]
    assert in_kolkata[3][:2] == ["morning", "2026-12-04"]


def _shift_cuts() -> st.SearchStrategy[list[int]]:
    """One to six distinct start minutes, which make contiguous shifts."""
    return st.lists(
        st.integers(min_value=0, max_value=1439), min_size=1, max_size=6, unique=True
    ).map(sorted)


def _shifts_from(cuts: list[int]) -> list[dict[str, str]]:
    def clock(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    return [
        {
            "name": f"s{i}",
            "start": clock(start),
            "end": clock(cuts[(i + 1) % len(cuts)]),
        }
        for i, start in enumerate(cuts)
    ]


@settings(max_examples=200, deadline=None)
@given(
    cuts=_shift_cuts(),
    at=st.datetimes(
        min_value=dt.datetime(2020, 1, 1),
        max_value=dt.datetime(2040, 1, 1),
        timezones=st.just(dt.UTC),
    ),
)
def test_every_instant_belongs_to_exactly_one_shift(
    cuts: list[int], at: dt.datetime
) -> None:
    shifts = _shifts_from(cuts)
    roster = Roster.from_config(config(shifts=shifts))

    on = roster.on_shift("kota-city", at)

    holders = []
    for shift in shifts:
        for date in (at.astimezone(IST).date() - dt.timedelta(days=d) for d in (0, 1)):
            start = dt.datetime.combine(
                date, dt.time.fromisoformat(shift["start"]), tzinfo=IST
            )
            end = dt.datetime.combine(
                date, dt.time.fromisoformat(shift["end"]), tzinfo=IST
            )
            if end <= start:
                end += dt.timedelta(days=1)
            if start <= at < end:
                holders.append((shift["name"], date, start, end))
    assert holders == [(on.shift, on.date, on.starts_at, on.ends_at)]
    assert find_shift_problems(config(shifts=shifts).shifts) == []


def _cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDFLAG_DEMO_MODE", "true")
    monkeypatch.setenv("REDFLAG_ROOM_SIGNING_SECRET", DEMO_ROOM_SECRET)


def test_roster_check_passes_the_example(monkeypatch: pytest.MonkeyPatch) -> None:
    _cli_env(monkeypatch)

    result = runner.invoke(cli, ["roster", "check", "--rooms", str(EXAMPLE_ROOMS_FILE)])

    assert result.exit_code == 0, result.output
    assert "ok: no gaps or overlaps in the next 14 days" in result.stdout


def test_roster_check_fails_on_an_empty_slot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _cli_env(monkeypatch)
    path = edited_example(
        tmp_path,
        "        d: [tonk-d]\n",
        "        d: [tonk-d]\n      overrides:\n"
        "        - {date: 2026-12-05, shift: night, people: []}\n",
    )

    result = runner.invoke(
        cli,
        ["roster", "check", "--rooms", str(path), "--start", "2026-12-03T00:00+05:30"],
    )

    assert result.exit_code == 1
    assert "gap: tonk: nobody on the night shift of 2026-12-05" in result.stdout


def test_roster_check_fails_on_a_person_in_two_rooms(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _cli_env(monkeypatch)
    path = edited_example(tmp_path, "        d: [tonk-d]\n", "        d: [bundi-d]\n")

    result = runner.invoke(
        cli, ["roster", "check", "--rooms", str(path), "--days", "2"]
    )

    assert result.exit_code == 1
    assert "overlap: bundi-d is on bundi and tonk at once" in result.stdout


def test_roster_check_refuses_shifts_with_a_gap(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _cli_env(monkeypatch)
    path = edited_example(
        tmp_path,
        '{name: evening, start: "14:00", end: "22:00"}',
        '{name: evening, start: "14:00", end: "21:00"}',
    )

    result = runner.invoke(cli, ["roster", "check", "--rooms", str(path)])

    assert result.exit_code != 0
    assert "no shift covers 21:00-22:00" in result.output


def test_roster_show_names_who_is_on_the_overnight_shift(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cli_env(monkeypatch)

    result = runner.invoke(
        cli, ["roster", "show", "--room", "kota-city", "--at", "2026-12-04T00:30"]
    )

    assert result.exit_code == 0, result.output
    assert "kota-city: night shift of 2026-12-03" in result.stdout
    assert "2026-12-03 22:00 to 2026-12-04 06:00 Asia/Kolkata" in result.stdout
    assert "kota-city-c1" in result.stdout
    assert "+91" not in result.stdout
