"""Placement of real-world inputs, as a table: tests/data/places.csv.

Each row is one location as a partner or a person writes it (the fields of the
location object, or one free-text string read as ``redflag-relay lookup TEXT``
reads it) and the placement expected. Groups: every district's names and spelling
variants in both scripts, every Kota PIN, a hundred PINs drawn from the India Post
data, each district headquarters as a point, messy strings, and traps (names of
several places, swapped or distant or coarse coordinates, conflicts).

Expected columns: ``exp_district`` (empty: no district); ``exp_police``;
``exp_in_rajasthan`` (true, false, none, or * for either); ``exp_flags`` (the exact
flags, ``|``-separated; * when any flags may come with the district);
``exp_candidates_include`` (``|``-separated names the candidates must hold).
"""

import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.gazetteer import DEFAULT_DATA_DIR, load_gazetteer, location_from_text

TABLE = Path(__file__).parent / "data" / "places.csv"
ROWS = list(csv.DictReader(TABLE.open(encoding="utf-8")))
FIELDS = ("district", "city", "locality", "state", "pincode", "home_district")
NUMBERS = ("lat", "lon", "accuracy_m")
INDIA_POST_NAMES = {"GANGANAGAR": "Sri Ganganagar"}


def location_of(row: dict[str, str]) -> dict:
    """The location as ``redflag-relay lookup`` builds it from the same input."""
    location = location_from_text(row["text"]) if row["text"] else {}
    location.update({key: row[key] for key in FIELDS if row[key]})
    location.update({key: float(row[key]) for key in NUMBERS if row[key]})
    return location


def row_id(row: dict[str, str]) -> str:
    given = [row["text"]] + [f"{k}={row[k]}" for k in (*FIELDS, *NUMBERS) if row[k]]
    return f"{row['group']}:{' '.join(part for part in given if part)}"


def check(placement: dict, row: dict[str, str]) -> None:
    expected = row["exp_district"] or None
    assert placement["district"] == expected
    if row["exp_police"]:
        assert placement["police_district"] == row["exp_police"]

    in_rajasthan = {"true": True, "false": False, "none": None}.get(
        row["exp_in_rajasthan"], "*"
    )
    if in_rajasthan != "*":
        assert placement["in_rajasthan"] is in_rajasthan
    if row["exp_flags"] != "*":
        flags = [flag for flag in row["exp_flags"].split("|") if flag]
        assert sorted(placement["flags"]) == sorted(flags)
    elif expected is not None:
        assert not {"ambiguous", "unplaced", "outside_rajasthan"} & set(
            placement["flags"]
        )
    for name in filter(None, row["exp_candidates_include"].split("|")):
        assert name in placement["candidates"]

    if placement["in_rajasthan"] is not True:
        assert placement["district"] is None  # never inside when not in Rajasthan
    if placement["district"] is not None:
        assert placement["police_district"]
        assert placement["candidates"][0] == placement["district"]
    assert 0.0 <= placement["confidence"] <= 1.0


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_the_table(gazetteer, row):
    placement = gazetteer.place(location_of(row)).to_dict()

    check(placement, row)


def test_the_table_covers_what_it_must():
    groups = Counter(row["group"] for row in ROWS)
    kota_pins = {row["pincode"] for row in ROWS if row["group"] == "kota_pin"}

    assert len(ROWS) >= 250
    assert groups["india_post_pin"] == 100
    assert groups["hq_point"] == 41
    assert groups["messy"] >= 50
    assert groups["trap"] >= 40
    assert {str(pin) for pin in range(324001, 324011)} < kota_pins
    assert groups["district_name"] >= 41 * 2


def test_the_pins_of_the_table_agree_with_india_post():
    """The expected district of every sampled PIN is the one India Post lists."""
    with (DEFAULT_DATA_DIR / "rajasthan_pincodes.csv").open(encoding="utf-8") as fh:
        listed: dict[str, set[str]] = {}
        for office in csv.DictReader(fh):
            name = office["district"]
            listed.setdefault(office["pincode"], set()).add(
                INDIA_POST_NAMES.get(name, name.title())
            )
    sampled = [row for row in ROWS if row["group"] in ("india_post_pin", "kota_pin")]

    for row in sampled:
        assert listed[row["pincode"]] == {row["exp_district"]}, row["pincode"]


@pytest.mark.parametrize(
    "row", [row for row in ROWS if row["group"] == "trap"][:12], ids=row_id
)
def test_traps_through_the_command(row):
    """The command reads the same row the same way, as one JSON object."""
    args = [row["text"]] if row["text"] else []
    for key in (*FIELDS, *NUMBERS):
        if row[key]:
            args += [f"--{key.replace('_', '-')}", row[key]]

    result = CliRunner().invoke(cli, ["lookup", *args, "--json"])

    assert result.exit_code == 0, result.output
    check(json.loads(result.stdout), row)
