"""The gazetteer: where a partner's location puts an alert, as a table of cases."""

import csv
import json
import math
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.gazetteer import (
    DEFAULT_DATA_DIR,
    FLAG_ORDER,
    Evidence,
    Gazetteer,
    Placement,
    load_gazetteer,
)

DISTRICT_ROWS = list(
    csv.DictReader(
        (DEFAULT_DATA_DIR / "rajasthan_districts.csv").open(encoding="utf-8")
    )
)
CURRENT = [row for row in DISTRICT_ROWS if row["status"] == "current"]
ABOLISHED = [row for row in DISTRICT_ROWS if row["status"] != "current"]
NEW_DISTRICTS = {
    "Balotra",
    "Beawar",
    "Deeg",
    "Didwana-Kuchaman",
    "Khairthal-Tijara",
    "Kotputli-Behror",
    "Phalodi",
    "Salumbar",
}
OLDER = [row for row in CURRENT if row["district_en"] not in NEW_DISTRICTS]
SHARED_WITH_ANOTHER_STATE = {"Pratapgarh"}  # also a district of Uttar Pradesh
LOCATION_KEYS = (
    "district",
    "city",
    "locality",
    "state",
    "pincode",
    "lat",
    "lon",
    "accuracy_m",
    "source",
    "home_district",
)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


# -- the data ---------------------------------------------------------------------


def test_the_data_lists_41_current_districts_of_which_33_older():
    """The counts the rest of the module relies on."""

    assert len(CURRENT) == 41
    assert len(OLDER) == 33
    assert len(ABOLISHED) == 9


def test_the_default_gazetteer_is_built_once():
    assert load_gazetteer() is load_gazetteer()


def test_a_gazetteer_can_be_built_from_another_data_dir():
    """The data files are replaceable by configuration."""

    other = load_gazetteer(Path(DEFAULT_DATA_DIR))

    assert other is not load_gazetteer()
    assert other.place({"district": "Kota"}).district == "Kota"


# -- district names ---------------------------------------------------------------


@pytest.mark.parametrize("row", CURRENT, ids=lambda row: row["district_en"])
def test_every_current_district_by_its_english_name(gazetteer, row):
    location = {"district": row["district_en"]}
    if row["district_en"] in SHARED_WITH_ANOTHER_STATE:
        location["state"] = "Rajasthan"

    placement = gazetteer.place(location)

    assert placement.district == row["district_en"]
    assert placement.in_rajasthan is True
    assert "unplaced" not in placement.flags


@pytest.mark.parametrize("row", CURRENT, ids=lambda row: row["district_en"])
def test_every_current_district_by_its_devanagari_name(gazetteer, row):
    location = {"district": row["district_hi"]}
    if row["district_en"] in SHARED_WITH_ANOTHER_STATE:
        location["state"] = "राजस्थान"

    placement = gazetteer.place(location)

    assert placement.district == row["district_en"]


@pytest.mark.parametrize("row", DISTRICT_ROWS, ids=lambda row: row["district_en"])
def test_every_alias_of_every_district(gazetteer, row):
    """Every spelling variant in the data, English and Devanagari, as a district."""
    expected = row["merged_into"].split("|")[0] or row["district_en"]
    aliases = [
        alias
        for alias in row["aliases"].split("|")
        if alias not in ("Shahpura", "शाहपुरा")  # a town in two districts, below
    ]

    state = "Rajasthan" if row["district_en"] in SHARED_WITH_ANOTHER_STATE else None

    districts = {
        gazetteer.place({"district": alias, "state": state}).district
        for alias in aliases
    }

    assert districts == {expected}


@pytest.mark.parametrize("row", ABOLISHED, ids=lambda row: row["district_en"])
def test_every_abolished_district_goes_to_where_it_went(gazetteer, row):
    went_to = tuple(row["merged_into"].split("|"))
    name = row["district_en"]
    if name == "Shahpura":
        name = "Shahpura (Bhilwara)"  # bare "Shahpura" is also a town in Jaipur

    placement = gazetteer.place({"district": name})

    assert placement.district == went_to[0]
    assert placement.candidates == went_to
    assert "ambiguous" not in placement.flags


def test_an_abolished_district_that_went_back_to_two_keeps_both(gazetteer):
    """Neem ka Thana went back to Sikar (primary) and Jhunjhunu."""

    placement = gazetteer.place({"district": "Neem ka Thana"})

    assert placement.district == "Sikar"
    assert placement.candidates == ("Sikar", "Jhunjhunu")
    assert placement.flags == ()
    assert "Jhunjhunu" in placement.evidence[0].matched


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("Dist. Kota (Raj.)", "Kota"),
        ("KOTA  ", "Kota"),
        ("kota district", "Kota"),
        ("Jhunjunu", "Jhunjhunu"),
        ("झुंझुनूं", "Jhunjhunu"),
        ("झुन्झुनू", "Jhunjhunu"),
        ("Chittaurgarh", "Chittorgarh"),
        ("जिला अलवर", "Alwar"),
        ("ज़िला अलवर", "Alwar"),
        ("Jaipur 302001", "Jaipur"),
        ("\u200bउदयपुर", "Udaipur"),
        ("उदय\u200dपुर", "Udaipur"),
        ("Kota,\u00a0Rajasthan", "Kota"),
        ("Jhunjhunu, Rajasthan - 333001", "Jhunjhunu"),
        ("बाँसवाड़ा", "Banswara"),
        ("बांसवाडा", "Banswara"),
        ("Sawai-Madhopur", "Sawai Madhopur"),
        ("sawaimadhopur", "Sawai Madhopur"),
        ("Neem-Ka-Thana", "Sikar"),
        ("Bhilwra", "Bhilwara"),
        ("Jaisalmir", "Jaisalmer"),
        ("Hanumangad", "Hanumangarh"),
        ("Bikaner.", "Bikaner"),
    ],
)
def test_messy_and_misspelt_district_names(gazetteer, text, district):
    placement = gazetteer.place({"district": text})

    assert placement.district == district


@pytest.mark.parametrize("text", ["Shahpura", "शाहपुरा", "Gangapur"])
def test_a_bare_town_in_two_districts_is_ambiguous(gazetteer, text):
    placement = gazetteer.place({"district": text})

    assert placement.district is None
    assert placement.flags == ("ambiguous",)
    assert len(placement.candidates) == 2
    assert placement.in_rajasthan is True


def test_a_pin_decides_a_town_in_two_districts(gazetteer):
    """Shahpura with a Jaipur-district PIN is the Shahpura in Jaipur."""

    placement = gazetteer.place({"district": "Shahpura", "pincode": "303103"})

    assert placement.district == "Jaipur"
    assert placement.flags == ()
    assert placement.candidates == ("Jaipur",)


def test_a_misspelling_halfway_between_two_districts_is_ambiguous(gazetteer):
    """ "Banwar" is as close to Banswara as to Beawar: not guessed."""

    placement = gazetteer.place({"district": "Banwar"})

    assert placement.district is None
    assert "ambiguous" in placement.flags
    assert set(placement.candidates) == {"Banswara", "Beawar"}


@pytest.mark.parametrize(
    ("text", "district"),
    [("Chittorgah", "Chittorgarh"), ("Sawaimadhopr", "Sawai Madhopur")],
)
def test_a_misspelling_close_to_one_district_matches_it(gazetteer, text, district):
    placement = gazetteer.place({"district": text})

    assert placement.district == district
    assert "close spelling" in placement.evidence[0].matched


@pytest.mark.parametrize("text", ["Jaunpur", "Nagpur", "Bhopal", "Kanpur"])
def test_cities_of_other_states_are_placed_outside(gazetteer, text):
    placement = gazetteer.place({"city": text})

    assert placement.district is None
    assert placement.in_rajasthan is False
    assert placement.flags == ("outside_rajasthan",)


def test_a_city_of_another_state_that_is_also_a_rajasthan_town_is_ambiguous(
    gazetteer,
):
    """Raipur is in Chhattisgarh, and a town of Rajasthan too."""

    placement = gazetteer.place({"city": "Raipur"})

    assert placement.district is None
    assert placement.in_rajasthan is None
    assert placement.flags == ("ambiguous",)


# -- PINs -------------------------------------------------------------------------


@pytest.mark.parametrize("pin", [str(pin) for pin in range(324001, 324011)])
def test_every_kota_city_pin_is_kota_city_police(gazetteer, pin):
    placement = gazetteer.place({"pincode": pin})

    assert placement.district == "Kota"
    assert placement.police_district == "Kota City"


@pytest.mark.parametrize(
    ("pincode", "district", "police"),
    [
        ("325601", "Kota", "Kota Rural"),  # Sangod
        ("333001", "Jhunjhunu", "Jhunjhunu"),
        (333001, "Jhunjhunu", "Jhunjhunu"),
        (333001.0, "Jhunjhunu", "Jhunjhunu"),
        ("३२४००५", "Kota", "Kota City"),
        ("PIN 324 005", "Kota", "Kota City"),
        ("302001", "Jaipur", "Jaipur Commissionerate"),
        ("303103", "Jaipur", "Jaipur Rural"),
        ("342001", "Jodhpur", "Jodhpur Commissionerate"),
        ("342026", "Jodhpur", "Jodhpur Rural"),
    ],
)
def test_pins(gazetteer, pincode, district, police):
    placement = gazetteer.place({"pincode": pincode})

    assert placement.district == district
    assert placement.police_district == police
    assert placement.flags == ()


def test_a_pin_listed_in_two_districts_takes_the_one_with_more_offices(gazetteer):
    """325207 has eight Kota offices and one in Baran."""

    placement = gazetteer.place({"pincode": "325207"})
    single = gazetteer.place({"pincode": "325601"})

    assert placement.district == "Kota"
    assert placement.candidates == ("Kota", "Baran")
    assert placement.confidence < single.confidence


def test_a_pin_of_a_newer_district_knows_only_its_parent(gazetteer):
    """344022 is Balotra's PIN, but India Post files it under Barmer."""

    placement = gazetteer.place({"pincode": "344022"})

    assert placement.district == "Barmer"
    assert placement.flags == ("parent_only",)
    assert placement.candidates == ("Barmer", "Balotra")


@pytest.mark.parametrize("pincode", ["110001", "400001", "500032"])
def test_a_pin_of_another_postal_region_is_outside(gazetteer, pincode):
    placement = gazetteer.place({"pincode": pincode})

    assert placement.district is None
    assert placement.in_rajasthan is False
    assert placement.flags == ("outside_rajasthan",)


@pytest.mark.parametrize("pincode", ["3240051", "32400", "abc", [324005]])
def test_pins_that_are_not_rajasthan_pins_place_nothing(gazetteer, pincode):
    placement = gazetteer.place({"pincode": pincode})

    assert placement.district is None
    assert placement.in_rajasthan is None
    assert placement.flags == ("unplaced",)
    assert placement.evidence[0].field == "pincode"


# -- points -----------------------------------------------------------------------


@pytest.mark.parametrize("row", OLDER, ids=lambda row: row["district_en"])
def test_the_headquarters_of_every_older_district(gazetteer, row):
    location = {"lat": float(row["hq_lat"]), "lon": float(row["hq_lon"])}

    placement = gazetteer.place(location)

    assert placement.district == row["district_en"]
    assert placement.evidence[0].field == "coordinates"


@pytest.mark.parametrize(
    ("location", "district", "in_rajasthan"),
    [
        ({"lat": 28.0229, "lon": 73.3119}, "Bikaner", True),
        ({"lat": "28.0229", "lon": "73.3119", "accuracy_m": 2000}, "Bikaner", True),
        ({"lat": 28.61, "lon": 77.21}, None, False),  # Delhi
        ({"lat": 23.02, "lon": 72.57}, None, False),  # Ahmedabad
    ],
)
def test_points(gazetteer, location, district, in_rajasthan):
    placement = gazetteer.place(location)

    assert placement.district == district
    assert placement.in_rajasthan is in_rajasthan
    assert ("outside_rajasthan" in placement.flags) is (not in_rajasthan)


def test_swapped_coordinates_never_place_inside(gazetteer):
    """Latitude in the longitude field: not used, and said so in the evidence."""

    placement = gazetteer.place({"lat": 73.3119, "lon": 28.0229})

    assert placement.district is None
    assert placement.in_rajasthan is not True
    assert placement.flags == ("unplaced",)
    assert "swapped" in placement.evidence[0].matched


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (math.nan, 75.8),
        (26.9, math.inf),
        (91.0, 75.8),
        (26.9, 181.0),
        (0, 0),
        (True, 75.8),
        ("north", "east"),
        (26.9, None),
    ],
)
def test_unusable_coordinates_are_ignored(gazetteer, lat, lon):
    placement = gazetteer.place({"lat": lat, "lon": lon, "district": "Tonk"})

    assert placement.district == "Tonk"
    assert placement.flags == ()


def test_a_coarse_point_is_used_only_when_nothing_else_is(gazetteer):
    """An accuracy worse than 20 km is not trusted alone: the districts within
    reach are candidates."""
    coarse = {"lat": 25.18, "lon": 75.84, "accuracy_m": 50_000}

    alone = gazetteer.place(coarse)
    with_name = gazetteer.place({**coarse, "district": "Ajmer"})

    assert alone.district is None
    assert alone.flags == ("ambiguous",)
    assert alone.candidates[0] == "Kota"
    assert alone.confidence < 0.6
    assert with_name.district == "Ajmer"
    assert "conflict" not in with_name.flags


def test_a_point_outside_and_a_district_inside_conflict(gazetteer):
    placement = gazetteer.place({"lat": 28.61, "lon": 77.21, "district": "Alwar"})

    assert placement.district is None
    assert placement.in_rajasthan is False
    assert placement.flags == ("conflict", "outside_rajasthan")
    assert placement.candidates == ("Alwar",)


# -- cities, localities, Kota police ----------------------------------------------


@pytest.mark.parametrize(
    ("location", "district", "police"),
    [
        ({"city": "Kota"}, "Kota", "Kota City"),
        ({"city": "कोटा"}, "Kota", "Kota City"),
        ({"city": "कोटा", "pincode": "324009"}, "Kota", "Kota City"),
        ({"city": "Sangod"}, "Kota", "Kota Rural"),
        ({"city": "Sangod S.O"}, "Kota", "Kota Rural"),
        ({"locality": "Talwandi"}, "Kota", "Kota City"),
        ({"locality": "तलवंडी"}, "Kota", "Kota City"),
        ({"locality": "Landmark City", "district": "Kota"}, "Kota", "Kota City"),
        ({"locality": "Talwandi, Kota"}, "Kota", "Kota City"),
        ({"city": "Talwandi Kota"}, "Kota", "Kota City"),
        ({"district": "Kota Rural"}, "Kota", "Kota Rural"),
        ({"district": "कोटा ग्रामीण"}, "Kota", "Kota Rural"),
        ({"district": "Kota", "pincode": "325601"}, "Kota", "Kota Rural"),
        (
            {"city": "Kota", "locality": "Talwandi", "pincode": "324005"},
            "Kota",
            "Kota City",
        ),
        ({"city": "Jaipur"}, "Jaipur", "Jaipur Commissionerate"),
        ({"district": "Jaipur Rural"}, "Jaipur", "Jaipur Rural"),
        ({"district": "Dudu"}, "Jaipur", "Jaipur Rural"),
        ({"city": "Jodhpur"}, "Jodhpur", "Jodhpur Commissionerate"),
        ({"district": "Jodhpur Rural"}, "Jodhpur", "Jodhpur Rural"),
        ({"city": "Bhiwadi"}, "Khairthal-Tijara", "Bhiwadi"),
        ({"district": "Ajmer"}, "Ajmer", "Ajmer"),
        ({"district": "Sri Ganganagar"}, "Sri Ganganagar", "Sri Ganganagar"),
    ],
)
def test_police_districts(gazetteer, location, district, police):
    placement = gazetteer.place(location)

    assert placement.district == district
    assert placement.police_district == police


def test_district_kota_alone_is_kota_city_by_default_with_lower_confidence(gazetteer):
    """The Kota command centre is in Kota City; the evidence says it was a default."""

    by_name = gazetteer.place({"district": "Kota"})
    by_city = gazetteer.place({"city": "Kota"})

    assert by_name.police_district == "Kota City"
    assert by_name.confidence < by_city.confidence
    assert "by default" in by_name.evidence[0].matched


def test_a_village_name_in_the_city_field_is_not_trusted(gazetteer):
    """Kanpur and Rajkot are also villages (branch offices) in Rajasthan."""

    as_city = gazetteer.place({"city": "Kanpur"})
    with_pin = gazetteer.place({"locality": "Kanpur", "pincode": "313001"})

    assert as_city.district is None
    assert as_city.in_rajasthan is False
    assert with_pin.district == "Udaipur"


def test_a_locality_name_never_overrides_a_district_name(gazetteer):
    """Jawahar Nagar is a Kota locality and also a part of Jaipur."""

    placement = gazetteer.place({"locality": "Jawahar Nagar", "city": "Jaipur"})

    assert placement.district == "Jaipur"
    assert placement.flags == ()


# -- new districts and their older parents ----------------------------------------


@pytest.mark.parametrize(
    ("location", "district", "parent"),
    [
        ({"pincode": "344022", "city": "Balotra"}, "Balotra", "Barmer"),
        ({"pincode": "303108", "city": "Kotputli"}, "Kotputli-Behror", "Jaipur"),
        ({"pincode": "305901", "district": "Beawar"}, "Beawar", "Ajmer"),
        ({"lat": 26.2, "lon": 73.0, "district": "Phalodi"}, "Phalodi", "Jodhpur"),
    ],
)
def test_a_name_refines_a_pin_or_point_to_a_new_district(
    gazetteer, location, district, parent
):
    placement = gazetteer.place(location)

    assert placement.district == district
    assert placement.candidates == (district, parent)
    assert placement.flags == ()


def test_a_new_district_name_agrees_with_its_older_parent_name(gazetteer):
    placement = gazetteer.place({"city": "Balotra", "district": "Barmer"})

    assert placement.district == "Balotra"
    assert placement.flags == ()


# -- several signals --------------------------------------------------------------


def test_a_pin_and_a_district_that_disagree_conflict(gazetteer):
    placement = gazetteer.place({"district": "Ajmer", "pincode": "324005"})

    assert placement.district == "Kota"
    assert placement.flags == ("conflict",)
    assert placement.candidates == ("Kota", "Ajmer")


def test_agreement_raises_confidence(gazetteer):
    alone = gazetteer.place({"pincode": "333001"})
    agreeing = gazetteer.place({"pincode": "333001", "district": "झुंझुनूं"})

    assert agreeing.district == "Jhunjhunu"
    assert agreeing.confidence > alone.confidence


def test_a_conflict_lowers_confidence(gazetteer):
    alone = gazetteer.place({"pincode": "324005"})
    conflicting = gazetteer.place({"pincode": "324005", "district": "Ajmer"})

    assert conflicting.confidence < alone.confidence


def test_coordinates_outrank_a_pin(gazetteer):
    placement = gazetteer.place({"lat": 28.0229, "lon": 73.3119, "pincode": "324005"})

    assert placement.district == "Bikaner"
    assert placement.flags == ("conflict",)
    assert placement.candidates == ("Bikaner", "Kota")


# -- states -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        {"district": "Pratapgarh", "state": "Uttar Pradesh"},
        {"city": "Udaipur", "state": "Tripura"},
        {"city": "Pratapgarh", "state": "उत्तर प्रदेश"},
        {"district": "Kota", "state": "गुजरात"},
        {"city": "Patna", "state": "Bihar"},
        {"state": "Gujrat"},
        {"state": "U.P."},
    ],
)
def test_a_state_other_than_rajasthan_places_outside(gazetteer, location):
    placement = gazetteer.place(location)

    assert placement.district is None
    assert placement.police_district is None
    assert placement.in_rajasthan is False
    assert placement.flags == ("outside_rajasthan",)


def test_outside_rajasthan_with_a_home_district_in_rajasthan(gazetteer):
    location = {"city": "Rajkot", "state": "Gujarat", "home_district": "Jhunjhunu"}

    placement = gazetteer.place(location)

    assert placement.in_rajasthan is False
    assert placement.flags == ("outside_rajasthan",)
    assert placement.district is None
    assert placement.home_district == "Jhunjhunu"


def test_a_pin_inside_rajasthan_outranks_another_state(gazetteer):
    """A Kota PIN with "Bihar" as state: Kota, flagged for a human."""

    placement = gazetteer.place({"pincode": "324005", "state": "Bihar"})

    assert placement.district == "Kota"
    assert placement.in_rajasthan is True
    assert placement.flags == ("conflict",)


@pytest.mark.parametrize("state", ["Rajasthan", "राजस्थान", "RJ", "Raj.", "rajasthan "])
def test_the_state_of_rajasthan_supports_a_placement(gazetteer, state):
    without = gazetteer.place({"district": "Udaipur"})

    placement = gazetteer.place({"district": "Udaipur", "state": state})

    assert placement.district == "Udaipur"
    assert placement.confidence > without.confidence


@pytest.mark.parametrize("name", ["Pratapgarh", "Udaipur", "प्रतापगढ़"])
def test_a_name_shared_with_another_state_alone_is_ambiguous(gazetteer, name):
    placement = gazetteer.place({"city": name})

    assert placement.district is None
    assert placement.in_rajasthan is None
    assert placement.flags == ("ambiguous",)


@pytest.mark.parametrize(
    "extra", [{"state": "Rajasthan"}, {"state": "राजस्थान"}, {"pincode": "312605"}]
)
def test_the_state_or_a_pin_decides_pratapgarh(gazetteer, extra):
    placement = gazetteer.place({"city": "Pratapgarh", **extra})

    assert placement.district == "Pratapgarh"
    assert placement.in_rajasthan is True


# -- nothing usable ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "in_rajasthan"),
    [
        ({}, None),
        (None, None),
        ({"source": "profile"}, None),
        ({"district": "", "city": "   "}, None),
        ({"city": "Atlantis"}, None),
        ({"state": "Rajasthan"}, True),
        ("Kota", None),
        (["Kota"], None),
    ],
)
def test_nothing_usable_is_unplaced(gazetteer, location, in_rajasthan):
    placement = gazetteer.place(location)

    assert placement.district is None
    assert placement.in_rajasthan is in_rajasthan
    assert placement.flags == ("unplaced",)
    assert placement.confidence == 0.0
    assert placement.candidates == ()


def test_home_district_is_placed_on_its_own(gazetteer):
    placement = gazetteer.place({"home_district": "Neem ka Thana"})

    assert placement.home_district == "Sikar"
    assert placement.district is None
    assert placement.flags == ("unplaced",)


def test_an_ambiguous_home_district_is_not_guessed(gazetteer):
    placement = gazetteer.place({"home_district": "Shahpura"})

    assert placement.home_district is None
    assert placement.evidence[0].field == "home_district"


# -- the result -------------------------------------------------------------------


def test_to_dict_is_json_ready(gazetteer):
    location = {"city": "Kota", "pincode": "324005", "home_district": "Jhunjhunu"}

    data = gazetteer.place(location).to_dict()

    assert json.loads(orjson.dumps(data)) == data
    assert data["district"] == "Kota"
    assert data["flags"] == []
    assert data["candidates"] == ["Kota"]
    assert data["evidence"][0] == {
        "field": "pincode",
        "value": "324005",
        "matched": "Kota (PIN 324005); police Kota City",
    }
    assert set(data) == {
        "district",
        "police_district",
        "in_rajasthan",
        "confidence",
        "flags",
        "candidates",
        "evidence",
        "home_district",
    }


def test_evidence_values_are_cut_to_80_characters(gazetteer):
    placement = gazetteer.place({"city": "Kota " + "x" * 500})

    assert all(len(item.value) <= 80 for item in placement.evidence)


def test_evidence_does_not_echo_structures(gazetteer):
    """A list or dict is named by its type, never rendered."""

    placement = gazetteer.place({"district": {"name": "secret"}, "city": ["a", "b"]})

    assert [item.value for item in placement.evidence] == ["<list>", "<dict>"]


# -- garbage never raises ---------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    st.text(alphabet="अआकगजडढणतनपबमयरलवशसह़ंँ्ािीुूेैोौ०१२३४५६७८९ ,-()", max_size=40),
    st.sampled_from(["Kota", "324005", "Shahpura", "Gujarat", "Rajasthan", "28.02"]),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=5), SCALARS, max_size=3),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(LOCATION_KEYS), VALUES))
def test_garbage_never_raises(location):
    """Whatever the partner sends, a well-formed placement comes back."""

    placement = load_gazetteer().place(location)

    assert isinstance(placement, Placement)
    assert set(placement.flags) <= set(FLAG_ORDER)
    assert 0.0 <= placement.confidence <= 1.0
    assert all(isinstance(item, Evidence) for item in placement.evidence)
    assert all(len(item.value) <= 80 for item in placement.evidence)
    assert "location could not be read" not in {
        item.matched for item in placement.evidence
    }
    orjson.dumps(placement.to_dict())


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=-90, max_value=90),
    st.floats(min_value=-180, max_value=180),
)
def test_a_point_well_outside_rajasthan_is_never_placed_inside(lat, lon):
    """Rajasthan spans lat 23-30.2 and lon 69.5-78.3, so a swapped pair is outside."""
    assume(not (22.9 <= lat <= 30.3 and 69.4 <= lon <= 78.4))

    placement = load_gazetteer().place({"lat": lat, "lon": lon})

    assert placement.in_rajasthan is not True
    assert placement.district is None
