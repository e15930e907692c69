"""The indexes the gazetteer looks names, PINs and points up in, built from app/data.

Every name is indexed under its exact key and its sound keys (see app.place_names).
One key can name several kinds of place: a district (current, abolished, or a police
district), a Kota locality, a town post office (S.O, H.O, G.P.O), a village post office
(B.O and the offices listed without a suffix), or a place in another state. What a key
means depends on the field it was read from (`FIELD_CLASSES`), and is worked out once,
when the indexes are built:

- a district name is a district, except that a name also used by a district of
  another state (Pratapgarh) is ambiguous, and one also used by a town of another
  state (Udaipur, Tripura) is ambiguous in a city or locality and the Rajasthan
  district in a district field; in a city or locality field, Kota, Jaipur and Jodhpur
  mean the city and so the city police;
- then a Kota locality; then a place in another state (ambiguous if it is also a
  Rajasthan town, outside Rajasthan otherwise); then a town post office, weakly (a
  name in two districts is ambiguous); then a village post office, more weakly
  still, in a city or locality field and never a district field (a town of the
  name wins over villages of it elsewhere; villages in several districts are
  ambiguous; a village that shares its name with a place of another state that the
  index knows is that place's, and names it does not know can mislead);
- the home district reads district names only.

Post-office names are cleaned into town names ("Ladnuncity S.O" -> Ladnun,
"Kishangarh City S.O" -> Kishangarh, "Paota Dausa SO" -> Paota) and the towns of the
eight newer districts are moved to them (app.district_towns).
"""

import csv
import dataclasses
import json
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import shapely
import shapely.affinity
from shapely.geometry import Polygon, shape

from app.district_towns import (
    JAIPUR_COMMISSIONERATE_TOWNS,
    NEW_DISTRICT_TOWNS,
    OTHER_TOWN_NAMES,
)
from app.place_names import (
    clean_text,
    exact_word,
    office_words,
    place_key,
    raw_words,
    sound_keys,
    strip_affixes,
)
from app.places_elsewhere import PLACES_ELSEWHERE, TOWNS_ELSEWHERE

FIELD_CLASSES = ("district", "city", "locality", "home")

# Revenue districts with two police districts: (city, rural), and the PINs of the city.
SPLIT_POLICE = {
    "Kota": ("Kota City", "Kota Rural"),
    "Jaipur": ("Jaipur Commissionerate", "Jaipur Rural"),
    "Jodhpur": ("Jodhpur Commissionerate", "Jodhpur Rural"),
}
# TODO: PINs split city from rural only roughly: 324010 also serves rural villages, and
# Jaipur's 303xxx PINs include peri-urban thanas (Chomu, Bassi) that belong to the
# Commissionerate. A thana-level list with PINs or boundaries would settle both.
# How far from the district headquarters a point is taken to be the city police's.
# TODO: a rough reach of each commissionerate (and of Kota City), not its boundary;
# the police-station boundaries are not in app/data and would settle it.
CITY_POLICE_KM = {"Kota": 12.0, "Jaipur": 25.0, "Jodhpur": 15.0}
CITY_PINS = {
    "Kota": (324001, 324010),
    "Jaipur": (302000, 302999),
    "Jodhpur": (342001, 342015),
}
_RURAL_WORDS = frozenset({"rural", "gramin", "ग्रामीण"})
_CITY_WORDS = frozenset({"city", "north", "south", "east", "west", "शहर"})

# Bare names that are places in two districts (SOURCES.md); the state or another
# field decides.
TOWNS_IN_TWO_DISTRICTS = {
    "Shahpura": ("Bhilwara", "Jaipur"),
    "शाहपुरा": ("Bhilwara", "Jaipur"),
    "Gangapur": ("Sawai Madhopur", "Bhilwara"),
    "गंगापुर": ("Sawai Madhopur", "Bhilwara"),
}

# How sure a police district is, from what it came from.
POLICE_NAMED = 3  # a police-district name, a Kota locality, a listed thana town
POLICE_BY_PIN = 2  # the PIN range of the city
POLICE_BY_CITY_NAME = 1  # "Kota" in a city field
POLICE_BY_DISTANCE = 1  # a point near or far from the city (CITY_POLICE_KM)

# Kinds of place, most specific first: the order in which a key's meanings compete.
KIND_DISTRICT, KIND_LOCALITY, KIND_ELSEWHERE, KIND_TOWN, KIND_VILLAGE = range(5)

_PARENTHESES = re.compile(r"\s*\(.*")
_TOWN_OFFICE = re.compile(r"\b(?:S\.?\s?O|H\.?\s?O|G\.?\s?P\.?\s?O)\b\.?", re.I)
_BRANCH_OFFICE = re.compile(r"\bB\.?\s?O\b\.?", re.I)
_OFFICE_MARKERS = frozenset({"so", "ho", "bo", "gpo"})
_OFFICE_QUALIFIERS = frozenset(
    {"city", "bazar", "bazaar", "town", "rs", "lsg", "sb", "ia", "khas", "sadar"}
)
_GLUED_QUALIFIERS = ("city", "lsg")
MIN_OFFICE_KEY = 3


@dataclass(frozen=True, slots=True)
class Match:
    """What one name, PIN or point resolved to."""

    districts: tuple[str, ...] = ()  # current districts, primary first
    confidence: float = 0.0
    matched: str = "no match"
    police: tuple[tuple[str, str], ...] = ()  # (district, police district) it implies
    police_rank: int = 0  # POLICE_NAMED, POLICE_BY_PIN or POLICE_BY_CITY_NAME
    ambiguous: bool = False  # candidates without a primary
    outside: bool = False  # known to be outside Rajasthan
    maybe_outside: str = ""  # why it may be outside Rajasthan (ambiguous only)
    weak: bool = False  # a post-office or locality name: supports, never overrides
    kind: int = KIND_DISTRICT
    children: tuple[str, ...] = ()  # newer districts the one older district may be


@dataclass(slots=True)
class _Entry:
    """Everything one key names, while the indexes are built."""

    sources: set[tuple[str, ...]] = dataclasses.field(default_factory=set)
    district: Match | None = None
    city: Match | None = None
    locality: Match | None = None
    towns: dict[str, list[tuple[str, str]]] = dataclasses.field(
        default_factory=lambda: defaultdict(list)
    )
    villages: dict[str, list[tuple[str, str]]] = dataclasses.field(
        default_factory=lambda: defaultdict(list)
    )
    town_police: str | None = None  # a named police district for the town
    elsewhere: set[str] = dataclasses.field(default_factory=set)
    elsewhere_towns: set[str] = dataclasses.field(default_factory=set)


class PlaceIndex:
    """All the lookups, built once from the data directory."""

    def __init__(self, data_dir: Path) -> None:
        rows = read_csv(data_dir / "rajasthan_districts.csv")
        self.current = tuple(r["district_en"] for r in rows if r["status"] == "current")
        self.hq = {
            r["district_en"]: (float(r["hq_lat"]), float(r["hq_lon"]))
            for r in rows
            if r["status"] == "current"
        }
        features = json.loads(
            (data_dir / "rajasthan_districts.geojson").read_text(encoding="utf-8")
        )["features"]
        self.parents = _new_district_parents(features, self.current)
        self.children: dict[str, tuple[str, ...]] = defaultdict(tuple)
        for child, older in self.parents.items():
            for parent in older:
                self.children[parent] += (child,)

        police_rows = read_csv(data_dir / "rajasthan_police_districts.csv")
        self.police_of, self.uncertain_police, former_police = _police_districts(
            police_rows, self.current
        )
        self.default_police = _default_police(self.current, self.police_of)

        entries: dict[str, _Entry] = defaultdict(_Entry)
        _add_district_names(
            entries, rows, police_of=self.police_of, former_police=former_police
        )
        _add_police_names(entries, police_rows, self.police_of)
        _add_ambiguous_towns(entries)
        _add_kota_localities(entries, data_dir / "kota_localities.csv", self.police_of)
        self.pins, pin_offices = _add_post_offices(
            entries, data_dir / "rajasthan_pincodes.csv"
        )
        new_pins = _add_new_district_towns(entries, self.parents)
        self.pins = {
            pin: _pin_match(pin, counts, self._pin_children(pin, counts, new_pins))
            for pin, counts in self.pins.items()
        }
        _add_other_towns(entries)
        _add_places_elsewhere(entries)

        self.tables, self.sounds, fuzzy = _resolve_all(
            entries,
            police_of=self.police_of,
            default_police=self.default_police,
            pin_children=self._office_children(pin_offices, new_pins),
            parents=self.parents,
        )
        self.fuzzy = _fuzzy_buckets(fuzzy)
        self.polygons = Polygons(features, hq=self.hq, children=self.children)

    def _pin_children(
        self,
        pin: str,
        counts: Counter[str],
        new_pins: dict[str, set[str]],
    ) -> tuple[str, ...]:
        """The newer districts carved from the PIN's (main) older district that its
        offices reach into: a PIN knows only the parent."""
        primary = max(sorted(counts), key=lambda district: counts[district])
        return tuple(
            sorted(
                child
                for child in new_pins.get(pin, ())
                if primary in self.parents.get(child, ())
            )
        )

    def _office_children(
        self, pin_offices: dict[str, set[str]], new_pins: dict[str, set[str]]
    ) -> dict[str, tuple[str, ...]]:
        """Office key -> the newer districts of its PINs, when all its PINs reach into
        newer districts (a village under the post office of a newer district's town)."""
        children: dict[str, tuple[str, ...]] = {}
        for key, pins in pin_offices.items():
            reached = [new_pins.get(pin) for pin in pins]
            if reached and all(reached):
                children[key] = tuple(sorted(set().union(*reached)))  # type: ignore[arg-type]
        return children


# -- reading files ------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a UTF-8 CSV file with a header line."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _add_source(entries: dict[str, _Entry], text: str, key: str | None = None) -> str:
    """Index `text` under its key (or `key`); returns the key ("" for none)."""
    words = raw_words(text)
    if key is None:
        key = "".join(strip_affixes([exact_word(word) for word in words]))
    if key:
        entries[key].sources.add(tuple(words))
    return key


# -- district names -------------------------------------------------------------------


def _set_district(entries: dict[str, _Entry], text: str, match: Match) -> str:
    """Index a district name; the data must not give one name to two districts."""
    key = _add_source(entries, text)
    if not key:
        return key
    entry = entries[key]
    existing = entry.district
    if existing is not None and existing.districts != match.districts:
        raise ValueError(f"name {text!r} is listed for two districts")
    if existing is None or (match.police and not existing.police):
        entry.district = match
    return key


def _add_district_names(
    entries: dict[str, _Entry],
    rows: list[dict[str, str]],
    *,
    police_of: dict[str, str],
    former_police: dict[str, str],
) -> None:
    """Every district name and alias, current and abolished. In a city field the plain
    names of Kota, Jaipur and Jodhpur mean the city, so the city police."""
    for row in rows:
        name = row["district_en"]
        if row["status"] == "current":
            targets: tuple[str, ...] = (name,)
            confidence, matched = 0.85, name
        else:
            targets = tuple(row["merged_into"].split("|"))
            confidence = 0.8 if len(targets) == 1 else 0.7
            matched = f"{targets[0]} (abolished district {name}"
            if len(targets) > 1:
                matched += f", went back to {' and '.join(targets)}"
            matched += ")"

        for text in {name, row["district_hi"], *row["aliases"].split("|")}:
            police = _split_police_of(targets[0], text) or former_police.get(name)
            match = Match(
                districts=targets,
                confidence=confidence,
                matched=f"{matched}; police {police}"
                if police and police != targets[0]
                else matched,
                police=((police_of[police], police),) if police else (),
                police_rank=POLICE_NAMED if police else 0,
            )
            key = _set_district(entries, text, match)
            if row["status"] == "current" and name in SPLIT_POLICE and not police:
                city = SPLIT_POLICE[name][0]
                entries[key].city = replace(
                    match,
                    matched=f"{name} city; police {city}",
                    police=((name, city),),
                    police_rank=POLICE_BY_CITY_NAME,
                )


def _split_police_of(district: str, text: str) -> str | None:
    """ "Jaipur Rural" -> "Jaipur Rural"; "Kota City" -> "Kota City"; "Kota" -> None."""
    if district not in SPLIT_POLICE:
        return None
    words = set(clean_text(text).split())
    city, rural = SPLIT_POLICE[district]
    if words & _RURAL_WORDS:
        return rural
    if words & _CITY_WORDS:
        return city
    return None


def _new_district_parents(
    features: list[dict[str, Any]], current: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """The older (Census-2011) districts each newer district was carved from."""
    parents: dict[str, list[str]] = defaultdict(list)
    for feature in features:
        parent = feature["properties"]["district_en"]
        within = feature["properties"].get("current_districts_within") or ""
        for item in within.split("|"):
            child = item.split("(")[0].strip()
            if child and child != parent:
                if child not in current:
                    raise ValueError(f"unknown district {child!r} in polygons")
                parents[child].append(parent)
    return {child: tuple(older) for child, older in parents.items()}


def _police_districts(
    rows: list[dict[str, str]], current: tuple[str, ...]
) -> tuple[dict[str, str], frozenset[str], dict[str, str]]:
    """Police district -> revenue district, the police districts not confirmed, and
    abolished district -> the police district that took it back ("Dudu" -> "Jaipur
    Rural", from "incl. former Dudu district thanas")."""
    police_of: dict[str, str] = {}
    uncertain: set[str] = set()
    former_police: dict[str, str] = {}
    for row in rows:
        if row["kind"] not in ("sp_district", "commissionerate"):
            continue
        if row["status"].startswith("abolished"):
            continue
        name = _PARENTHESES.sub("", row["police_district"]).strip()
        revenue = re.split(r"[(;]", row["revenue_districts"])[0].strip()
        if revenue not in current:
            raise ValueError(f"police district {name!r} covers unknown {revenue!r}")
        police_of[name] = revenue
        if row["status"] == "uncertain" or row["confidence"] == "low":
            uncertain.add(name)
        for former in re.findall(r"former (.+?) district", row["revenue_districts"]):
            former_police[former] = name
    return police_of, frozenset(uncertain), former_police


def _add_police_names(
    entries: dict[str, _Entry], rows: list[dict[str, str]], police_of: dict[str, str]
) -> None:
    """Police district names ("Kota Rural", "कोटा शहर", "Bhiwadi") as place names."""
    for row in rows:
        name = _PARENTHESES.sub("", row["police_district"]).strip()
        revenue = police_of.get(name)
        if revenue is None:
            continue
        for text in (name, _PARENTHESES.sub("", row["police_district_hi"]).strip()):
            key = _add_source(entries, text)
            entry = entries[key]
            existing = entry.district
            if existing is not None and existing.districts[0] != revenue:
                continue
            if existing is not None and existing.police:
                continue
            base = existing.matched if existing is not None else revenue
            entry.district = Match(
                districts=(revenue,),
                confidence=existing.confidence if existing is not None else 0.8,
                matched=base if name == revenue else f"{base}; police {name}",
                police=((revenue, name),),
                police_rank=POLICE_NAMED,
            )


def _default_police(
    current: tuple[str, ...], police_of: dict[str, str]
) -> dict[str, str]:
    """The police district of each revenue district when nothing says more."""
    defaults = {}
    for district in current:
        if district in SPLIT_POLICE:
            for police in SPLIT_POLICE[district]:
                if police_of.get(police) != district:
                    raise ValueError(f"police district {police!r} missing")
            defaults[district] = SPLIT_POLICE[district][0]
        elif police_of.get(district) == district:
            defaults[district] = district
        else:
            raise ValueError(f"no police district for {district!r}")
    return defaults


def _add_ambiguous_towns(entries: dict[str, _Entry]) -> None:
    """Bare "Shahpura" and "Gangapur" name places in two districts."""
    for text, targets in TOWNS_IN_TWO_DISTRICTS.items():
        key = _add_source(entries, text)
        entries[key].district = Match(
            districts=targets,
            confidence=0.3,
            matched=f"ambiguous: {text} is a place in {' and in '.join(targets)}",
            ambiguous=True,
        )


def _add_kota_localities(
    entries: dict[str, _Entry], path: Path, police_of: dict[str, str]
) -> None:
    """Kota's coaching-hub localities: Kota, Kota City police."""
    for row in read_csv(path):
        police = _PARENTHESES.sub("", row["police_district"]).strip()
        district = police_of[police]
        label = row["locality"]
        match = Match(
            districts=(district,),
            confidence=0.55,
            matched=f"{district} (Kota locality {label}); police {police}",
            police=((district, police),),
            police_rank=POLICE_NAMED,
            weak=True,
            kind=KIND_LOCALITY,
        )
        texts = [*label.split(" / "), row["locality_hi"], *row["aliases"].split("|")]
        for text in texts:
            key = _add_source(entries, text) if text.strip() else ""
            if key and entries[key].locality is None:
                entries[key].locality = match


# -- post offices and towns -----------------------------------------------------------


def _add_post_offices(
    entries: dict[str, _Entry], path: Path
) -> tuple[dict[str, Counter[str]], dict[str, set[str]]]:
    """India Post offices: PIN -> offices per district, and office names as towns
    (S.O, H.O, G.P.O) or villages (B.O and offices without a suffix). Returns the
    PIN counts and, per office key, its PINs."""
    district_of: dict[str, tuple[str, frozenset[str]]] = {}
    pin_counts: dict[str, Counter[str]] = defaultdict(Counter)
    pin_offices: dict[str, set[str]] = defaultdict(set)

    for row in read_csv(path):
        raw = row["district"]
        if raw not in district_of:
            entry = entries.get(place_key(raw))
            match = entry.district if entry is not None else None
            if match is None or len(match.districts) != 1:
                raise ValueError(f"unknown India Post district {raw!r}")
            words = frozenset(clean_text(raw).split()) | {"raj"}
            district_of[raw] = (match.districts[0], words)
        district, district_words = district_of[raw]
        pin = row["pincode"].strip()
        pin_counts[pin][district] += 1

        office = row["office_name"]
        is_town = bool(_TOWN_OFFICE.search(office))
        label = _office_label(office)
        for words in _office_names(office, district_words):
            key = "".join(words)
            if len(key) < MIN_OFFICE_KEY:
                continue
            entry = entries[key]
            entry.sources.add(words)
            place = entry.towns if is_town else entry.villages
            place[district].append((pin, label))
            pin_offices[key].add(pin)
    return pin_counts, pin_offices


def _office_names(office: str, district_words: frozenset[str]) -> list[tuple[str, ...]]:
    """The town names an office name stands for: itself without "S.O", without a
    bracketed note, without its district's name, without "City" or "Bazar"."""
    names: list[tuple[str, ...]] = []
    texts = [office]
    if "(" in office:
        texts.append(re.sub(r"\(.*?\)", " ", office))
    for text in texts:
        words = [w for w in office_words(text) if w not in _OFFICE_MARKERS]
        if not words:
            continue
        names.append(tuple(words))
        trimmed = [w for w in words if w not in district_words] or words
        if len(trimmed) == 1:
            trimmed = [_unglued(trimmed[0], district_words)]
        names.append(tuple(trimmed))
        while len(trimmed) > 1 and trimmed[-1] in _OFFICE_QUALIFIERS:
            trimmed = trimmed[:-1]
            names.append(tuple(trimmed))
        if len(trimmed) == 1:
            for glued in _GLUED_QUALIFIERS:
                word = trimmed[0]
                if word.endswith(glued) and len(word) - len(glued) >= 4:
                    names.append((word[: -len(glued)],))
    return list(dict.fromkeys(names))


def _unglued(word: str, district_words: frozenset[str]) -> str:
    """ "paotajaipur" -> "paota": an office name with its district glued on."""
    for district in district_words:
        if word.endswith(district) and len(word) - len(district) >= 4:
            return word[: -len(district)]
    return word


def _office_label(office: str) -> str:
    """ "Sangod S.O" -> "Sangod", for the evidence."""
    return re.sub(
        r"\s+(?:[BSH]\.?\s?O\.?|G\.?P\.?O\.?)$", "", office.strip(), flags=re.I
    )


def _add_new_district_towns(
    entries: dict[str, _Entry], parents: dict[str, tuple[str, ...]]
) -> dict[str, set[str]]:
    """Move the towns of the newer districts out of their older parents; returns, per
    PIN, the newer districts whose towns have an office under it."""
    new_pins: dict[str, set[str]] = defaultdict(set)
    for district, towns in NEW_DISTRICT_TOWNS.items():
        older = parents.get(district, ())
        for town in towns:
            key = _add_source(entries, town)
            entry = entries[key]
            moved = False
            for offices in (entry.towns, entry.villages):
                for parent in [d for d in offices if d in older]:
                    for pin, _ in offices[parent]:
                        new_pins[pin].add(district)
                    entry.towns[district].extend(offices.pop(parent))
                    moved = True
            if not moved and district not in entry.towns:
                entry.towns[district].append(("", town))
    return new_pins


def _add_other_towns(entries: dict[str, _Entry]) -> None:
    """Towns India Post spells otherwise, and the Commissionerate's thana towns."""
    for town, district in OTHER_TOWN_NAMES.items():
        key = _add_source(entries, town)
        if district not in entries[key].towns:
            entries[key].towns[district].append(("", town))
    for town in JAIPUR_COMMISSIONERATE_TOWNS:
        key = _add_source(entries, town)
        entries[key].town_police = SPLIT_POLICE["Jaipur"][0]


def _add_places_elsewhere(entries: dict[str, _Entry]) -> None:
    """Cities and districts of other states, and towns sharing a district's name."""
    for state, names in PLACES_ELSEWHERE.items():
        for name in names:
            key = _add_source(entries, name)
            if key:
                entries[key].elsewhere.add(state)
    for state, names in TOWNS_ELSEWHERE.items():
        for name in names:
            key = _add_source(entries, name)
            if key:
                entries[key].elsewhere_towns.add(state)


# -- what each key means in each field -------------------------------------------------


def _resolve_all(
    entries: dict[str, _Entry],
    *,
    police_of: dict[str, str],
    default_police: dict[str, str],
    pin_children: dict[str, tuple[str, ...]],
    parents: dict[str, tuple[str, ...]],
) -> tuple[
    dict[str, dict[str, Match]], dict[str, dict[str, Match]], list[tuple[str, str]]
]:
    """Per field class: exact key -> match, and sound key -> match; and the (sound
    key, exact key) pairs offered to fuzzy matching. Village names get no sound keys:
    they are read exactly, in a city or locality field."""
    resolver = _Resolver(police_of, default_police, pin_children, parents)
    tables: dict[str, dict[str, Match]] = {fc: {} for fc in FIELD_CLASSES}
    by_sound: dict[str, list[str]] = defaultdict(list)
    fuzzy: list[tuple[str, str]] = []

    for key, entry in entries.items():
        for fc, match in resolver.resolve_classes(key, entry).items():
            tables[fc][key] = match
        if not (entry.district or entry.locality or entry.elsewhere or entry.towns):
            continue
        for words in entry.sources:
            for sound in sound_keys(list(words)):
                if len(sound) > MIN_OFFICE_KEY:
                    by_sound[sound].append(key)
        if entry.sources:
            fuzzy.append((sound_keys(list(min(entry.sources)))[0], key))

    sounds: dict[str, dict[str, Match]] = {fc: {} for fc in FIELD_CLASSES}
    for sound, keys in by_sound.items():
        unique = list(dict.fromkeys(keys))
        if len(unique) == 1:
            for fc in FIELD_CLASSES:
                match = tables[fc].get(unique[0])
                if match is not None:
                    sounds[fc][sound] = match
            continue
        merged = _merge_entries(entries, unique)
        for fc, match in resolver.resolve_classes("+".join(unique), merged).items():
            sounds[fc][sound] = match
    return tables, sounds, fuzzy


def _merge_entries(entries: dict[str, _Entry], keys: list[str]) -> _Entry:
    """One entry for several keys that sound alike."""
    merged = _Entry()
    districts: list[Match] = []
    for key in keys:
        entry = entries[key]
        if entry.district is not None:
            districts.append(entry.district)
        merged.city = merged.city or entry.city
        merged.locality = merged.locality or entry.locality
        for source, target in (
            (entry.towns, merged.towns),
            (entry.villages, merged.villages),
        ):
            for district, offices in source.items():
                target[district].extend(offices)
        merged.town_police = merged.town_police or entry.town_police
        merged.elsewhere |= entry.elsewhere
        merged.elsewhere_towns |= entry.elsewhere_towns
    if districts:
        targets = tuple(dict.fromkeys(d for m in districts for d in m.districts))
        if len({m.districts for m in districts}) == 1:
            merged.district = districts[0]
        else:
            merged.district = Match(
                districts=targets,
                confidence=0.3,
                matched=f"ambiguous: sounds like {' and like '.join(targets)}",
                ambiguous=True,
            )
            merged.city = None
    return merged


class _Resolver:
    """What an entry means in a field class (see the module docstring)."""

    def __init__(
        self,
        police_of: dict[str, str],
        default_police: dict[str, str],
        pin_children: dict[str, tuple[str, ...]],
        parents: dict[str, tuple[str, ...]],
    ) -> None:
        self._police_of = police_of
        self._default_police = default_police
        self._pin_children = pin_children
        self._parents = parents

    def resolve_classes(self, key: str, entry: _Entry) -> dict[str, Match]:
        """What `entry` means in each field class where it means anything."""
        if entry.district is not None:
            return {fc: self._district(entry, fc) for fc in FIELD_CLASSES}
        if entry.locality is not None:
            match: Match | None = entry.locality
        else:
            match = self._towns(key, entry.towns, entry.town_police, village=False)
            if entry.elsewhere:
                match = _elsewhere(entry.elsewhere, match)
        if match is not None:
            return {"district": match, "city": match, "locality": match}
        village = self._towns(key, entry.villages, None, village=True)
        return {"city": village, "locality": village} if village is not None else {}

    def _district(self, entry: _Entry, fc: str) -> Match:
        match = entry.district
        assert match is not None
        if fc in ("city", "locality") and entry.city is not None:
            match = entry.city
        if fc == "home":
            return match
        if match.ambiguous and not match.police:
            match = self._police_of_towns(match, entry)
        states = sorted(entry.elsewhere) or (
            sorted(entry.elsewhere_towns) if fc != "district" else []
        )
        if states:
            name = match.districts[0] if len(match.districts) == 1 else "the name"
            why = f"also a place in {' and '.join(states)}"
            return replace(
                match,
                confidence=min(match.confidence, 0.6),
                matched=f"{match.matched} ({name} is {why})",
                ambiguous=True,
                maybe_outside=why,
            )
        if entry.elsewhere_towns:
            states = sorted(entry.elsewhere_towns)
            return replace(
                match,
                confidence=min(match.confidence, 0.7),
                matched=f"{match.matched} (a town in {' and '.join(states)} "
                "has the same name)",
            )
        return match

    def _police_of_towns(self, match: Match, entry: _Entry) -> Match:
        """An ambiguous name ("Shahpura") takes, for each candidate district with
        two police districts, the police of its town office there, by PIN."""
        police = []
        for district in match.districts:
            pins = {pin for pin, _ in entry.towns.get(district, ()) if pin}
            implied = {police_for_pin(district, pin) for pin in pins}
            if district in SPLIT_POLICE and len(implied) == 1:
                police.append((district, implied.pop() or ""))
        if not police:
            return match
        return replace(match, police=tuple(police), police_rank=POLICE_BY_PIN)

    def _towns(
        self,
        key: str,
        offices: dict[str, list[tuple[str, str]]],
        police: str | None,
        *,
        village: bool,
    ) -> Match | None:
        """A weak match from the post offices of a name, ambiguous when in two or
        more districts; a village only when in one district."""
        if not offices:
            return None
        ranked = sorted(offices.items(), key=lambda item: (-len(item[1]), item[0]))
        districts = tuple(district for district, _ in ranked)
        what = "village post office" if village else "town"
        if len(districts) > 1:
            return Match(
                districts=districts,
                confidence=0.3,
                matched=f"ambiguous: a {what} of that name is in "
                f"{' and in '.join(districts)}",
                ambiguous=True,
                weak=True,
                kind=KIND_VILLAGE if village else KIND_TOWN,
            )

        district = districts[0]
        label = ranked[0][1][0][1]
        pins = {pin for pin, _ in ranked[0][1] if pin}
        police_pair: tuple[tuple[str, str], ...] = ()
        rank = 0
        if police is not None and self._police_of.get(police) == district:
            police_pair, rank = ((district, police),), POLICE_NAMED
        elif district in SPLIT_POLICE and pins:
            by_pin = {police_for_pin(district, pin) for pin in pins}
            if len(by_pin) == 1:
                police_pair, rank = ((district, by_pin.pop() or ""),), POLICE_BY_PIN
        matched = f"{district} ({what} {label})"
        if police_pair:
            matched += f"; police {police_pair[0][1]}"
        return Match(
            districts=(district,),
            confidence=0.5 if village else 0.6,
            matched=matched,
            police=police_pair,
            police_rank=rank,
            weak=True,
            kind=KIND_VILLAGE if village else KIND_TOWN,
            children=tuple(
                child
                for child in self._pin_children.get(key, ())
                if district in self._parents.get(child, ())
            ),
        )


def _elsewhere(states: set[str], towns: Match | None) -> Match:
    """A place of another state; ambiguous when also a Rajasthan town."""
    where = " and ".join(sorted(states))
    if towns is None:
        return Match(
            confidence=0.8,
            matched=f"a place in {where}, outside Rajasthan",
            outside=True,
            kind=KIND_ELSEWHERE,
        )
    return replace(
        towns,
        ambiguous=True,
        maybe_outside=f"also a place in {where}",
        confidence=0.3,
        matched=f"ambiguous: a place in {where}, and {towns.matched}",
    )


def police_for_pin(district: str, pin: str) -> str | None:
    """Kota City or Kota Rural (and so on) by PIN; None where one police district."""
    if district not in CITY_PINS:
        return None
    low, high = CITY_PINS[district]
    city, rural = SPLIT_POLICE[district]
    return city if low <= int(pin) <= high else rural


def _pin_match(pin: str, counts: Counter[str], children: tuple[str, ...]) -> Match:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    districts = tuple(district for district, _ in ranked)
    police = tuple(
        (district, police)
        for district in districts
        if (police := police_for_pin(district, pin)) is not None
    )
    if len(districts) == 1:
        matched = f"{districts[0]} (PIN {pin})"
        confidence = 0.9
    else:
        listed = " and ".join(
            f"{d} ({n} office{'s' if n > 1 else ''})" for d, n in ranked
        )
        matched = f"{districts[0]} (PIN {pin} is listed in {listed})"
        confidence = 0.7
    own_police = dict(police).get(districts[0])
    if own_police:
        matched += f"; police {own_police}"
    return Match(
        districts,
        confidence,
        matched,
        police,
        police_rank=POLICE_BY_PIN if police else 0,
        children=children,
    )


def _fuzzy_buckets(
    pairs: list[tuple[str, str]],
) -> dict[str, tuple[list[str], list[str]]]:
    """Fuzzy choices by the first letter of their sound key: (sound keys, keys)."""
    buckets: dict[str, tuple[list[str], list[str]]] = {}
    for sound, key in sorted(set(pairs)):
        if len(sound) < MIN_OFFICE_KEY + 1:
            continue
        sounds, keys = buckets.setdefault(sound[0], ([], []))
        sounds.append(sound)
        keys.append(key)
    return buckets


# -- points ---------------------------------------------------------------------------

KM_PER_DEGREE = 111.32
MAX_COARSE_RADIUS_KM = 300.0


class Polygons:
    """The Census-2011 district polygons and the state's outline, for point lookups."""

    def __init__(
        self,
        features: list[dict[str, Any]],
        *,
        hq: dict[str, tuple[float, float]],
        children: dict[str, tuple[str, ...]],
    ) -> None:
        self._names = [feature["properties"]["district_en"] for feature in features]
        self._geometries = [shape(feature["geometry"]) for feature in features]
        for geometry in self._geometries:
            shapely.prepare(geometry)
        self._tree = shapely.STRtree(self._geometries)
        union = shapely.union_all(self._geometries)
        parts = getattr(union, "geoms", [union])
        self._outline = shapely.union_all([Polygon(p.exterior) for p in parts])
        shapely.prepare(self._outline)
        self._hq = hq
        self._children = children

    def inside_outline(self, lat: float, lon: float) -> bool:
        """True when (lat, lon) is inside Rajasthan's outline (holes filled)."""
        return bool(self._outline.contains(shapely.Point(lon, lat)))

    def locate(self, lat: float, lon: float) -> Match:
        """The district polygon holding (lat, lon); GeoJSON order is [lon, lat]. A
        point outside the outline is outside Rajasthan, however close to it."""
        point = shapely.Point(lon, lat)
        hits = self._tree.query(point, predicate="within")
        if len(hits):
            name = self._names[int(min(hits))]
            return self._inside(name, lat, lon, 0.9, f"district polygon {name}")
        if self._outline.contains(point):
            name = self._names[int(self._tree.query_nearest(point)[0])]
            why = f"between polygons, nearest district polygon {name}"
            return self._inside(name, lat, lon, 0.6, why)
        return Match(
            confidence=0.9, matched="outside the Rajasthan polygons", outside=True
        )

    def _inside(
        self, name: str, lat: float, lon: float, confidence: float, matched: str
    ) -> Match:
        """A point in older district `name`; when it is nearer the headquarters of a
        newer district carved from it than to its own, those are its children. In a
        district with city and rural police, the distance from the city says which."""
        police: tuple[tuple[str, str], ...] = ()
        if name in SPLIT_POLICE:
            km = _km(self._hq[name], lat, lon)
            city, rural = SPLIT_POLICE[name]
            chosen = city if km <= CITY_POLICE_KM[name] else rural
            police = ((name, chosen),)
            matched += f"; police {chosen}, {km:.0f} km from {name} city"
        ordered: tuple[str, ...] = ()
        children = self._children.get(name, ())
        if children:
            nearest = min((name, *children), key=lambda d: _km(self._hq[d], lat, lon))
            if nearest != name:
                ordered = tuple(
                    sorted(children, key=lambda d: _km(self._hq[d], lat, lon))
                )
                matched += f", nearer the headquarters of {nearest}"
        return Match(
            (name,),
            confidence,
            matched,
            police=police,
            police_rank=POLICE_BY_DISTANCE if police else 0,
            children=ordered,
        )

    def around(self, lat: float, lon: float, accuracy_m: float) -> Match:
        """Where a coarse point may be: never decided alone (ambiguous), unless the
        whole circle of its accuracy lies outside Rajasthan."""
        radius_km = min(accuracy_m / 1000.0, MAX_COARSE_RADIUS_KM)
        shown = f"±{radius_km:.0f} km"
        scale = max(math.cos(math.radians(lat)), 0.05)
        circle = shapely.affinity.scale(
            shapely.Point(lon, lat).buffer(radius_km / KM_PER_DEGREE),
            xfact=1 / scale,
            yfact=1.0,
        )
        hits = self._tree.query(circle, predicate="intersects")
        if not len(hits):
            return Match(
                confidence=0.5,
                matched=f"coarse point ({shown}) wholly outside Rajasthan",
                outside=True,
            )
        point = shapely.Point(lon, lat)
        ranked = sorted(
            (int(i) for i in hits),
            key=lambda i: (self._geometries[i].distance(point), self._names[i]),
        )
        names = tuple(dict.fromkeys(self._names[i] for i in ranked))
        partly = not self._outline.contains(circle)
        return Match(
            districts=names,
            confidence=0.3,
            matched=f"coarse point ({shown}), not trusted alone: could be in "
            f"{', '.join(names[:6])}{' and more' if len(names) > 6 else ''}",
            ambiguous=True,
            maybe_outside="its accuracy circle crosses the state border"
            if partly
            else "",
        )


def _km(hq: tuple[float, float], lat: float, lon: float) -> float:
    """Distance in km between `hq` (lat, lon) and (lat, lon), flat-earth: enough to
    compare headquarters a few tens of km apart."""
    scale = math.cos(math.radians(lat))
    return math.hypot((hq[0] - lat), (hq[1] - lon) * scale) * KM_PER_DEGREE
