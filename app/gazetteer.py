"""Place an alert's location in a Rajasthan revenue district and police district.

The partner's location object may carry coordinates, a PIN, a locality, a city, a
district, a state and a home district, in English or Hindi, any of them missing or
wrong. `Gazetteer.place` turns it into a `Placement`: one of the 41 current revenue
districts (or none), the police district whose control room should see the alert, a
confidence, flags for a human, and the evidence behind the answer.

Order of trust, most trusted first:

1. coordinates inside a district polygon, when the stated accuracy is 20 km or better
   (within about 1 km of one counts, with less confidence: the borders are simplified);
2. the PIN (India Post directory);
3. the locality, 4. the city, 5. the district, when they are district names (English,
   Devanagari, spelling variants, names of the nine districts abolished on 2024-12-28,
   police district names; close misspellings by fuzzy matching);
6. post-office names and Kota localities in any of those three fields: they place an
   alert when nothing above does and support an answer, but never override one;
7. coordinates with a stated accuracy worse than 20 km: used only when nothing else is.

The most trusted signal that resolves decides; another that names a different district
adds the flag "conflict" and its district to the candidates, and lowers the confidence;
agreement raises it. A state other than Rajasthan puts the person outside Rajasthan
unless coordinates or a PIN place them inside (then "conflict"). The home district is
placed on its own and never moves the placement.

The PIN directory and the Census-2011 polygons know only the 33 older districts. When
one of them decides and a district name in the text is one of the eight newer districts
carved out of that older one (Balotra from Barmer, and so on), the newer district is
taken, with the older one as a candidate and the flag "parent_only".

Police districts differ from revenue districts in three places: Kota (Kota City for PINs
324001-324010, the coaching-hub localities and the city of Kota; Kota Rural for other
Kota PINs), Jaipur (Commissionerate for PINs 302xxx, Jaipur Rural for 303xxx) and
Jodhpur (Commissionerate for PINs 342001-342015, Jodhpur Rural for the rest). When
nothing says which, the city one is taken (its control room is the district's command
centre) and the confidence is lowered. Elsewhere the police district has the name of the
revenue district. A name can carry a police district: "Kota Rural", "Bhiwadi", or an
abolished district whose area went to one ("Dudu" -> Jaipur Rural).

Some bare names are doubtful. "Shahpura" and "Gangapur" are places in two districts:
"ambiguous", unless another field picks one. "Pratapgarh" and "Udaipur" are also in
Uttar Pradesh and Tripura: without a state they are taken as the Rajasthan districts,
with less confidence. A post-office name counts in the city or district field only for
a town office (S.O, H.O, G.P.O): villages such as "Kanpur" and "Rajkot" share names with
towns elsewhere.

Data, in app/data (SOURCES.md there gives provenance and caveats):

- rajasthan_districts.csv: names, aliases, the abolished districts and where they went;
- rajasthan_police_districts.csv: police districts and the revenue district of each;
- rajasthan_pincodes.csv: India Post offices (Department of Posts, Ministry of
  Communications, via data.gov.in), still on the 33-district map;
- rajasthan_districts.geojson: Census-2011 district polygons, coordinates [lon, lat];
- kota_localities.csv: the localities of Kota's coaching hub.

Nothing here logs location values.
"""

import csv
import dataclasses
import functools
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import shapely
from rapidfuzz import fuzz, process
from shapely.geometry import shape

from app.place_names import (
    MAX_INPUT_CHARS,
    OTHER_STATES,
    RAJASTHAN_NAMES,
    clean_text,
    office_key,
    place_key,
    place_words,
    state_key,
)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"

TRUSTED_ACCURACY_M = 20_000.0
BORDER_TOLERANCE_DEG = 0.01  # about 1 km: simplified polygons and slivers on borders
FUZZY_THRESHOLD = 85.0
FUZZY_MARGIN = 5.0
FUZZY_MIN_LENGTH = 4
EVIDENCE_VALUE_CHARS = 80
MAX_NAME_PARTS = 4

FIELD_RANKS = {"coordinates": 0, "pincode": 1, "locality": 2, "city": 3, "district": 4}
NAME_FIELDS = ("locality", "city", "district")
EVIDENCE_ORDER = (*FIELD_RANKS, "state", "home_district")
FLAG_ORDER = ("ambiguous", "conflict", "parent_only", "outside_rajasthan", "unplaced")

RAJASTHAN = "Rajasthan"
OUTSIDE = "outside"

# Revenue districts with two police districts: (city, rural), and the PINs of the city.
SPLIT_POLICE = {
    "Kota": ("Kota City", "Kota Rural"),
    "Jaipur": ("Jaipur Commissionerate", "Jaipur Rural"),
    "Jodhpur": ("Jodhpur Commissionerate", "Jodhpur Rural"),
}
# TODO: PINs split city from rural only roughly: 324010 also serves rural villages, and
# Jaipur's 303xxx PINs include peri-urban thanas (Chomu, Bassi) that belong to the
# Commissionerate. A thana-level list with PINs or boundaries would settle both.
CITY_PINS = {
    "Kota": (324001, 324010),
    "Jaipur": (302000, 302999),
    "Jodhpur": (342001, 342015),
}
_RURAL_WORDS = frozenset({"rural", "gramin", "ग्रामीण"})
_CITY_WORDS = frozenset({"city", "north", "south", "east", "west"})

# Bare names that are places in two districts; the state or another field decides.
TOWNS_IN_TWO_DISTRICTS = {
    "Shahpura": ("Bhilwara", "Jaipur"),
    "शाहपुरा": ("Bhilwara", "Jaipur"),
    "Gangapur": ("Sawai Madhopur", "Bhilwara"),
    "गंगापुर": ("Sawai Madhopur", "Bhilwara"),
}
# District names shared with a district or town of another state.
NAMESAKES_ELSEWHERE = {"Pratapgarh": "Uttar Pradesh", "Udaipur": "Tripura"}

_PART_SEPARATORS = re.compile(r"[,;/|\n]+")
_PIN_PATTERN = re.compile(r"(?<!\d)([1-9]\d{2})[ -]?(\d{3})(?!\d)")
_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_PARENTHESES = re.compile(r"\s*\(.*")
_TOWN_OFFICE = re.compile(r"\b(?:S\.?\s?O|H\.?\s?O|G\.?\s?P\.?\s?O)\.?\s*$", re.I)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One location field: what was given and what it matched."""

    field: str
    value: str
    matched: str

    def to_dict(self) -> dict:
        return {"field": self.field, "value": self.value, "matched": self.matched}


@dataclass(frozen=True, slots=True)
class Placement:
    """Where the gazetteer put a location, how sure it is and why."""

    district: str | None
    police_district: str | None
    in_rajasthan: bool | None
    confidence: float
    flags: tuple[str, ...]
    candidates: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    home_district: str | None

    def to_dict(self) -> dict:
        return {
            "district": self.district,
            "police_district": self.police_district,
            "in_rajasthan": self.in_rajasthan,
            "confidence": self.confidence,
            "flags": list(self.flags),
            "candidates": list(self.candidates),
            "evidence": [item.to_dict() for item in self.evidence],
            "home_district": self.home_district,
        }


@dataclass(frozen=True, slots=True)
class _Match:
    """What one name, PIN or point resolved to."""

    districts: tuple[str, ...] = ()  # current districts, primary first
    confidence: float = 0.0
    matched: str = "no match"
    police: tuple[tuple[str, str], ...] = ()  # (district, police district) it implies
    ambiguous: bool = False  # candidates without a primary
    outside: bool = False  # known to be outside Rajasthan
    weak: bool = False  # a post-office or locality name: supports, never overrides
    namesake: bool = False  # the name is also a place in another state


@dataclass(frozen=True, slots=True)
class _Signal:
    """A match from one location field, with how far it is trusted."""

    field: str
    value: str
    rank: int
    tier: int  # 0 trusted, 1 weak name, 2 coarse coordinates
    match: _Match


@dataclass(slots=True)
class _Outcome:
    """The decision, before it is frozen into a `Placement`."""

    district: str | None = None
    police: str | None = None
    in_rajasthan: bool | None = None
    confidence: float = 0.0
    flags: set[str] = dataclasses.field(default_factory=set)
    candidates: list[str] = dataclasses.field(default_factory=list)
    state_note: str = ""


class Gazetteer:
    """District and police-district lookup built once from the data files."""

    def __init__(self, data_dir: Path) -> None:
        data_dir = Path(data_dir)
        rows = _read_csv(data_dir / "rajasthan_districts.csv")
        self._current = tuple(
            r["district_en"] for r in rows if r["status"] == "current"
        )
        geojson = data_dir / "rajasthan_districts.geojson"
        features = json.loads(geojson.read_text(encoding="utf-8"))["features"]
        self._parents = _new_district_parents(features, self._current)
        self._polygons = _Polygons(features)

        police_rows = _read_csv(data_dir / "rajasthan_police_districts.csv")
        self._police_of, self._uncertain_police, former_police = _police_districts(
            police_rows, self._current
        )
        self._names, self._city_names = _district_names(
            rows, police_of=self._police_of, former_police=former_police
        )
        _add_police_names(self._names, police_rows, self._police_of)
        self._default_police = _default_police(self._current, self._police_of)
        _add_ambiguous_towns(self._names)
        self._fuzzy_keys = list(self._names)

        self._localities = _kota_localities(
            data_dir / "kota_localities.csv", self._names, self._police_of
        )
        self._pins, self._offices, self._town_offices = _post_offices(
            data_dir / "rajasthan_pincodes.csv", self._names
        )
        for offices in (self._offices, self._town_offices):
            for key in [
                k for k in offices if k in self._names or k in self._localities
            ]:
                del offices[key]

        self._states = _state_names()
        self._state_keys = [key for key in self._states if len(key) >= 5]

    # -- the one public operation -------------------------------------------------

    def place(self, location: Mapping[str, Any] | None) -> Placement:
        """Place `location`; never raises, whatever the partner sent."""
        try:
            return self._place(location)
        except Exception:  # an alert must be routed even if this code has a bug
            return _FAILED_PLACEMENT

    def _place(self, location: Mapping[str, Any] | None) -> Placement:
        loc = location if isinstance(location, Mapping) else {}
        signals: list[_Signal] = []
        evidence: list[Evidence] = []

        self._read_coordinates(loc, signals, evidence)
        self._read_pincode(loc.get("pincode"), signals, evidence)
        for field in NAME_FIELDS:
            self._read_names(field, loc.get(field), signals, evidence)
        state, state_evidence = self._read_state(loc.get("state"))
        home, home_evidence = self._read_home(loc.get("home_district"))

        notes: list[list[str]] = [[] for _ in signals]
        outcome = self._decide(signals, notes, state)

        for signal, signal_notes in zip(signals, notes, strict=True):
            matched = "; ".join([signal.match.matched, *signal_notes])
            evidence.append(Evidence(signal.field, signal.value, matched))
        if state_evidence is not None:
            if outcome.state_note:
                state_evidence = replace(
                    state_evidence,
                    matched=f"{state_evidence.matched}; {outcome.state_note}",
                )
            evidence.append(state_evidence)
        if home_evidence is not None:
            evidence.append(home_evidence)
        evidence.sort(key=lambda item: EVIDENCE_ORDER.index(item.field))

        flags = outcome.flags
        return Placement(
            district=outcome.district,
            police_district=outcome.police,
            in_rajasthan=outcome.in_rajasthan,
            confidence=round(max(0.0, min(outcome.confidence, 0.99)), 3),
            flags=tuple(flag for flag in FLAG_ORDER if flag in flags),
            candidates=tuple(outcome.candidates),
            evidence=tuple(evidence),
            home_district=home,
        )

    # -- reading the fields -------------------------------------------------------

    def _read_coordinates(
        self, loc: Mapping[str, Any], signals: list[_Signal], evidence: list[Evidence]
    ) -> None:
        raw_lat, raw_lon = loc.get("lat"), loc.get("lon")
        if raw_lat is None and raw_lon is None:
            return
        shown = f"{_shown(raw_lat)}, {_shown(raw_lon)}"[:EVIDENCE_VALUE_CHARS]

        lat, lon = _number(raw_lat), _number(raw_lon)
        if (
            lat is None
            or lon is None
            or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0)
            or (lat == 0.0 and lon == 0.0)
        ):
            evidence.append(Evidence("coordinates", shown, "unusable coordinates"))
            return

        accuracy = _number(loc.get("accuracy_m"))
        if accuracy is not None and accuracy < 0:
            accuracy = None
        coarse = accuracy is not None and accuracy > TRUSTED_ACCURACY_M
        if accuracy is not None:
            shown = f"{shown} (±{accuracy:.0f} m)"[:EVIDENCE_VALUE_CHARS]

        # TODO: a point gives no police district within Kota, Jaipur or Jodhpur (the
        # city one is the default); police-station boundaries would give it.
        match = self._polygons.locate(lat, lon, coarse=coarse)
        tier = 2 if coarse else 0
        signals.append(_Signal("coordinates", shown, 0, tier, match))

    def _read_pincode(
        self, value: Any, signals: list[_Signal], evidence: list[Evidence]
    ) -> None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return
        shown = _shown(value)

        pin = _pincode(value)
        if pin is None:
            evidence.append(Evidence("pincode", shown, "not a six-digit PIN"))
            return
        match = self._pins.get(pin)
        if match is None:
            if "30" <= pin[:2] <= "34":
                why = f"PIN {pin} is not in the Rajasthan directory"
            else:
                why = f"PIN {pin} is not a Rajasthan PIN (those begin 30 to 34)"
            evidence.append(Evidence("pincode", shown, why))
            return
        signals.append(_Signal("pincode", shown, 1, 0, match))

    def _read_names(
        self,
        field: str,
        value: Any,
        signals: list[_Signal],
        evidence: list[Evidence],
    ) -> None:
        if value is None:
            return
        text = _text(value)
        if text is None:
            if not isinstance(value, str):
                evidence.append(Evidence(field, _shown(value), "unusable value"))
            return

        matches = self._resolve_text(text, field=field)
        if not matches:
            evidence.append(Evidence(field, text[:EVIDENCE_VALUE_CHARS], "no match"))
            return
        for part, match in matches:
            tier = 1 if match.weak else 0
            shown = part[:EVIDENCE_VALUE_CHARS]
            signals.append(_Signal(field, shown, FIELD_RANKS[field], tier, match))

    def _read_state(self, value: Any) -> tuple[str | None, Evidence | None]:
        if value is None:
            return None, None
        text = _text(value)
        if text is None:
            if isinstance(value, str):
                return None, None
            return None, Evidence("state", _shown(value), "unusable value")
        shown = text[:EVIDENCE_VALUE_CHARS]

        key = state_key(text)
        name = self._states.get(key)
        if name is None and len(key) >= 5:
            best = process.extractOne(
                key, self._state_keys, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD
            )
            if best is not None:
                name = self._states[best[0]]
        if name is None:
            return None, Evidence("state", shown, "not a recognised state")
        if name == RAJASTHAN:
            return RAJASTHAN, Evidence("state", shown, RAJASTHAN)
        return OUTSIDE, Evidence("state", shown, f"{name}, outside Rajasthan")

    def _read_home(self, value: Any) -> tuple[str | None, Evidence | None]:
        if value is None:
            return None, None
        text = _text(value)
        if text is None:
            if isinstance(value, str):
                return None, None
            return None, Evidence("home_district", _shown(value), "unusable value")
        shown = text[:EVIDENCE_VALUE_CHARS]

        for _, match in self._resolve_text(text, field="home_district"):
            if match.weak or match.outside:
                continue
            if match.ambiguous:
                return None, Evidence("home_district", shown, match.matched)
            return match.districts[0], Evidence("home_district", shown, match.matched)
        return None, Evidence("home_district", shown, "no match")

    # -- names --------------------------------------------------------------------

    def _resolve_text(self, text: str, *, field: str) -> list[tuple[str, _Match]]:
        """The matches in `text`: one, or one per part when it names several places."""
        match = self._lookup(text, place_key(text), field=field)
        if match is not None:
            return [(text, match)]

        parts = [part.strip() for part in _PART_SEPARATORS.split(text)]
        parts = [part for part in parts if part][:MAX_NAME_PARTS]
        if len(parts) > 1:
            found: list[tuple[str, _Match]] = []
            for part in parts:
                part_match = self._lookup(part, place_key(part), field=field)
                if part_match is not None:
                    found.append((part, part_match))
                else:
                    found.extend(self._split_tail(part, field=field))
            return found

        found = self._split_tail(text, field=field)
        if found:
            return found
        fuzzy = self._fuzzy(place_key(text))
        return [(text, fuzzy)] if fuzzy is not None else []

    def _lookup(self, text: str, key: str, *, field: str) -> _Match | None:
        """Exact match of one name: district names first, then localities, offices."""
        if not key:
            return None
        if field in ("city", "locality"):
            match = self._city_names.get(key)
            if match is not None:
                return match
        match = self._names.get(key)
        if match is not None:
            return match
        for suffix in ("city", "शहर"):
            if key.endswith(suffix) and key[: -len(suffix)] in self._names:
                return self._names[key[: -len(suffix)]]
        if field == "home_district":
            return None

        # TODO: office names are in English only, so a town written in Devanagari
        # ("सांगोद") is not found; transliterating the office names at load
        # (indic-transliteration) and indexing the result would find it.
        match = self._localities.get(key)
        if match is not None:
            return match

        # A village (branch office) name is too often a town elsewhere in India
        # ("Kanpur", "Rajkot") to be read in a city or district field.
        offices = self._offices if field == "locality" else self._town_offices
        match = offices.get(key)
        if match is None:
            match = offices.get(office_key(text))
        return match

    def _split_tail(self, text: str, *, field: str) -> list[tuple[str, _Match]]:
        """Read "Talwandi Kota" as a place followed by a district name."""
        words = place_words(text)
        for size in (2, 1):
            if len(words) <= size:
                continue
            tail = " ".join(words[-size:])
            tail_key = "".join(words[-size:])
            tail_match = None
            if field in ("city", "locality"):
                tail_match = self._city_names.get(tail_key)
            if tail_match is None:
                tail_match = self._names.get(tail_key)
            if tail_match is None:
                continue

            head = " ".join(words[:-size])
            head_match = self._lookup(head, "".join(words[:-size]), field=field)
            found = [(head, head_match)] if head_match is not None else []
            return [*found, (tail, tail_match)]
        return []

    def _fuzzy(self, key: str) -> _Match | None:
        """A close misspelling of one district name; ambiguous if two are as close."""
        if len(key) < FUZZY_MIN_LENGTH:
            return None
        results = process.extract(
            key,
            self._fuzzy_keys,
            scorer=fuzz.ratio,
            limit=12,
            score_cutoff=FUZZY_THRESHOLD - FUZZY_MARGIN,
        )
        best: dict[tuple[str, ...], tuple[float, str]] = {}
        for choice, score, _ in results:
            best.setdefault(self._names[choice].districts, (score, choice))
        ranked = sorted(best.items(), key=lambda item: -item[1][0])
        if not ranked or ranked[0][1][0] < FUZZY_THRESHOLD:
            return None

        targets, (score, choice) = ranked[0]
        if len(ranked) > 1 and score - ranked[1][1][0] < FUZZY_MARGIN:
            both = tuple(dict.fromkeys((*targets, *ranked[1][0])))
            return _Match(
                districts=both,
                confidence=0.3,
                matched=f"ambiguous spelling: close to {' and '.join(both)}",
                ambiguous=True,
            )
        entry = self._names[choice]
        return replace(
            entry,
            confidence=min(entry.confidence, 0.75),
            matched=f"{entry.matched} (close spelling, score {score:.0f})",
        )

    # -- deciding -----------------------------------------------------------------

    def _decide(
        self, signals: list[_Signal], notes: list[list[str]], state: str | None
    ) -> _Outcome:
        usable = [
            i for i, s in enumerate(signals) if s.match.districts or s.match.outside
        ]
        usable.sort(key=lambda i: (signals[i].tier, signals[i].rank))
        outcome = _Outcome()
        flags = outcome.flags

        if state == OUTSIDE:
            placed_inside = any(
                signals[i].tier == 0
                and signals[i].field in ("coordinates", "pincode")
                and signals[i].match.districts
                for i in usable
            )
            if not placed_inside:
                return self._outside_by_state(signals, notes, usable, outcome)
            flags.add("conflict")
            outcome.state_note = "disagrees with the coordinates or PIN"

        if not usable:
            flags.add("unplaced")
            outcome.in_rajasthan = {RAJASTHAN: True, OUTSIDE: False}.get(state)
            return outcome

        chosen, others = usable[0], usable[1:]
        if signals[chosen].match.outside:
            return self._outside_by_point(
                signals, notes, chosen, others, state, outcome
            )
        return self._inside(signals, notes, chosen, others, state, outcome)

    def _outside_by_state(
        self,
        signals: list[_Signal],
        notes: list[list[str]],
        usable: list[int],
        outcome: _Outcome,
    ) -> _Outcome:
        outcome.flags.add("outside_rajasthan")
        outcome.in_rajasthan = False
        outcome.confidence = 0.8
        for i in usable:
            if signals[i].match.outside:
                outcome.confidence = 0.9 if signals[i].tier == 0 else 0.85
                notes[i].append("agrees")
            else:
                notes[i].append("not used: the state is outside Rajasthan")
        return outcome

    def _outside_by_point(
        self,
        signals: list[_Signal],
        notes: list[list[str]],
        chosen: int,
        others: list[int],
        state: str | None,
        outcome: _Outcome,
    ) -> _Outcome:
        flags, candidates = outcome.flags, outcome.candidates
        flags.add("outside_rajasthan")
        outcome.in_rajasthan = False
        confidence = signals[chosen].match.confidence

        for i in others:
            match = signals[i].match
            if match.outside:
                confidence += (1 - confidence) * 0.2
            elif signals[i].tier == 0:
                flags.add("conflict")
                notes[i].append("disagrees with the coordinates")
                candidates.extend(d for d in match.districts if d not in candidates)
            else:
                notes[i].append("not used: the coordinates are outside Rajasthan")
        if state == RAJASTHAN:
            flags.add("conflict")
            outcome.state_note = "disagrees with the coordinates"
        if "conflict" in flags:
            confidence *= 0.6
        outcome.confidence = confidence
        return outcome

    def _inside(
        self,
        signals: list[_Signal],
        notes: list[list[str]],
        chosen: int,
        others: list[int],
        state: str | None,
        outcome: _Outcome,
    ) -> _Outcome:
        flags = outcome.flags
        first = signals[chosen].match
        candidates = list(first.districts)
        district = None if first.ambiguous else candidates[0]
        confidence = first.confidence
        if first.namesake and state != RAJASTHAN:
            confidence = min(confidence, 0.6)
            notes[chosen].append("no state given: taken as the Rajasthan district")

        # Another field may pick one of two candidates (a PIN in two districts, an
        # abolished district that went back to two, a town in two districts).
        agreeing = [chosen]
        if len(candidates) > 1:
            for i in others:
                match = signals[i].match
                picked = match.districts[0] if match.districts else None
                if picked in candidates and not match.ambiguous:
                    district = picked
                    candidates = [district]
                    agreeing.append(i)
                    break

        # A PIN or polygon knows only the older district; a name may refine it.
        if district is not None and signals[chosen].field in ("coordinates", "pincode"):
            for i in others:
                match = signals[i].match
                if signals[i].tier != 0 or match.ambiguous or not match.districts:
                    continue
                child = match.districts[0]
                if district in self._parents.get(child, ()):
                    notes[chosen].append(f"{district} is the older district of {child}")
                    candidates = [child, district]
                    district = child
                    flags.add("parent_only")
                    confidence *= 0.9
                    if i not in agreeing:
                        agreeing.append(i)
                    break

        targets = {district} if district is not None else set(candidates)
        for i in others:
            if i in agreeing:
                confidence += (1 - confidence) * 0.5
                continue
            signal = signals[i]
            if not signal.match.outside and self._agrees(targets, signal.match):
                agreeing.append(i)
                weight = 0.5 if signal.tier == 0 else 0.2
                confidence += (1 - confidence) * weight
            elif signal.tier == 0:
                flags.add("conflict")
                notes[i].append("disagrees")
                new = [d for d in signal.match.districts if d not in candidates]
                candidates.extend(new)
            else:
                notes[i].append("not used: points elsewhere")

        if "conflict" in flags:
            confidence *= 0.6
        if state == RAJASTHAN and district is not None:
            confidence += (1 - confidence) * 0.1
        if district is None:
            flags.add("ambiguous")
            confidence = min(confidence, 0.3)
        elif district in candidates:
            candidates.remove(district)
            candidates.insert(0, district)
        else:
            candidates.insert(0, district)

        outcome.district = district
        outcome.in_rajasthan = True
        outcome.candidates = candidates
        if district is not None:
            police, confidence = self._police(
                district, signals, notes, agreeing, chosen, confidence
            )
            outcome.police = police
        outcome.confidence = confidence
        return outcome

    def _agrees(self, targets: set[str], match: _Match) -> bool:
        """True when `match` names one of `targets` or the older district of one."""
        for target in targets:
            if target in match.districts:
                return True
            if any(
                parent in match.districts for parent in self._parents.get(target, ())
            ):
                return True
        return False

    def _police(
        self,
        district: str,
        signals: list[_Signal],
        notes: list[list[str]],
        agreeing: list[int],
        chosen: int,
        confidence: float,
    ) -> tuple[str, float]:
        police = None
        for i in sorted(agreeing, key=lambda i: (signals[i].tier, signals[i].rank)):
            police = dict(signals[i].match.police).get(district)
            if police is not None:
                break
        if police is None:
            police = self._default_police[district]
            if district in SPLIT_POLICE:
                confidence *= 0.9
                notes[chosen].append(
                    f"police {police} by default (city or rural not known)"
                )
        if police in self._uncertain_police:
            confidence *= 0.9
            notes[chosen].append(f"police district {police} is not confirmed")
        return police, confidence


class _Polygons:
    """The Census-2011 district polygons, indexed for point lookups."""

    def __init__(self, features: list[dict[str, Any]]) -> None:
        self._names = [feature["properties"]["district_en"] for feature in features]
        self._geometries = [shape(feature["geometry"]) for feature in features]
        for geometry in self._geometries:
            shapely.prepare(geometry)
        self._tree = shapely.STRtree(self._geometries)

        self._inside = {
            name: _Match((name,), 0.9, f"district polygon {name}")
            for name in self._names
        }
        self._coarse = {
            name: replace(match, confidence=0.5, matched=f"{match.matched}, coarse")
            for name, match in self._inside.items()
        }
        self._border = {
            name: _Match((name,), 0.6, f"within about 1 km of district polygon {name}")
            for name in self._names
        }
        self._outside = _Match(
            confidence=0.9, matched="outside the Rajasthan polygons", outside=True
        )
        self._outside_coarse = replace(self._outside, confidence=0.5)

    def locate(self, lat: float, lon: float, *, coarse: bool) -> _Match:
        """The district polygon holding (lat, lon); GeoJSON order is [lon, lat]."""
        point = shapely.Point(lon, lat)
        hits = self._tree.query(point, predicate="within")
        if len(hits):
            name = self._names[int(min(hits))]
            return self._coarse[name] if coarse else self._inside[name]

        near = self._tree.query_nearest(point, max_distance=BORDER_TOLERANCE_DEG)
        if len(near):
            name = self._names[int(near[0])]
            return self._coarse[name] if coarse else self._border[name]
        return self._outside_coarse if coarse else self._outside


_FAILED_PLACEMENT = Placement(
    district=None,
    police_district=None,
    in_rajasthan=None,
    confidence=0.0,
    flags=("unplaced",),
    candidates=(),
    evidence=(Evidence("district", "", "location could not be read"),),
    home_district=None,
)


@functools.cache
def _default_gazetteer() -> Gazetteer:
    return Gazetteer(DEFAULT_DATA_DIR)


def load_gazetteer(data_dir: Path | None = None) -> Gazetteer:
    """The gazetteer for `data_dir`; the default one (app/data) is built only once."""
    if data_dir is None:
        return _default_gazetteer()
    return Gazetteer(Path(data_dir))


# -- building the indexes ---------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a UTF-8 CSV file with a header line."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _add_name(names: dict[str, _Match], text: str, match: _Match) -> None:
    """Index `text`; the data must not give one name to two districts."""
    key = place_key(text)
    if not key:
        return
    existing = names.get(key)
    if existing is not None and existing.districts != match.districts:
        raise ValueError(f"name {text!r} is listed for two districts")
    if existing is None or (match.police and not existing.police):
        names[key] = match


def _district_names(
    rows: list[dict[str, str]],
    *,
    police_of: dict[str, str],
    former_police: dict[str, str],
) -> tuple[dict[str, _Match], dict[str, _Match]]:
    """Every district name and alias, current and abolished, keyed by `place_key`.

    The second index holds what the plain names of Kota, Jaipur and Jodhpur mean in a
    city or locality field: the city, so Kota City police (and so on).
    """
    names: dict[str, _Match] = {}
    city_names: dict[str, _Match] = {}
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
        namesake = NAMESAKES_ELSEWHERE.get(name)
        if namesake:
            matched += f" (a {name} is also in {namesake})"

        for text in {name, row["district_hi"], *row["aliases"].split("|")}:
            police = _split_police_of(targets[0], text) or former_police.get(name)
            match = _Match(
                districts=targets,
                confidence=confidence,
                matched=f"{matched}; police {police}"
                if police and police != targets[0]
                else matched,
                police=((police_of[police], police),) if police else (),
                namesake=bool(namesake),
            )
            _add_name(names, text, match)
            if row["status"] == "current" and name in SPLIT_POLICE and not police:
                city = SPLIT_POLICE[name][0]
                city_names[place_key(text)] = replace(
                    match, matched=f"{name} city; police {city}", police=((name, city),)
                )
    return names, city_names


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
    names: dict[str, _Match], rows: list[dict[str, str]], police_of: dict[str, str]
) -> None:
    """Police district names ("Kota Rural", "कोटा शहर", "Bhiwadi") as place names."""
    for row in rows:
        name = _PARENTHESES.sub("", row["police_district"]).strip()
        revenue = police_of.get(name)
        if revenue is None:
            continue
        for text in (name, _PARENTHESES.sub("", row["police_district_hi"]).strip()):
            key = place_key(text)
            existing = names.get(key)
            if existing is not None and existing.districts[0] != revenue:
                continue
            if existing is not None and existing.police:
                continue
            base = existing.matched if existing is not None else revenue
            names[key] = _Match(
                districts=(revenue,),
                confidence=existing.confidence if existing is not None else 0.8,
                matched=base if name == revenue else f"{base}; police {name}",
                police=((revenue, name),),
                namesake=existing.namesake if existing is not None else False,
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


def _add_ambiguous_towns(names: dict[str, _Match]) -> None:
    """Bare "Shahpura" and "Gangapur" name places in two districts."""
    for text, targets in TOWNS_IN_TWO_DISTRICTS.items():
        names[place_key(text)] = _Match(
            districts=targets,
            confidence=0.3,
            matched=f"ambiguous: {text} is a place in {' and in '.join(targets)}",
            ambiguous=True,
        )


def _kota_localities(
    path: Path, names: dict[str, _Match], police_of: dict[str, str]
) -> dict[str, _Match]:
    """Kota's coaching-hub localities: Kota, Kota City police."""
    localities: dict[str, _Match] = {}
    for row in _read_csv(path):
        police = _PARENTHESES.sub("", row["police_district"]).strip()
        district = police_of[police]
        label = row["locality"]
        match = _Match(
            districts=(district,),
            confidence=0.55,
            matched=f"{district} (Kota locality {label}); police {police}",
            police=((district, police),),
            weak=True,
        )
        texts = [*label.split(" / "), row["locality_hi"], *row["aliases"].split("|")]
        for text in texts:
            key = place_key(text)
            if key and key not in names:
                localities.setdefault(key, match)
    return localities


def _post_offices(
    path: Path, names: dict[str, _Match]
) -> tuple[dict[str, _Match], dict[str, _Match], dict[str, _Match]]:
    """From India Post: PIN -> district(s); office name -> district where the name is
    found in one district only; the same for town offices (S.O, H.O, G.P.O) alone."""
    district_of: dict[str, str] = {}
    pin_counts: dict[str, Counter[str]] = defaultdict(Counter)
    offices: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    towns: dict[str, list[tuple[str, str, str]]] = defaultdict(list)

    for row in _read_csv(path):
        raw = row["district"]
        if raw not in district_of:
            match = names.get(place_key(raw))
            if match is None or len(match.districts) != 1:
                raise ValueError(f"unknown India Post district {raw!r}")
            district_of[raw] = match.districts[0]
        district = district_of[raw]
        pin = row["pincode"].strip()
        pin_counts[pin][district] += 1

        office = row["office_name"]
        entry = (district, pin, _office_label(office))
        without_parentheses = re.sub(r"\(.*?\)", " ", office)
        for key in {office_key(office), office_key(without_parentheses)}:
            if len(key) >= 3:
                offices[key].append(entry)
                if _TOWN_OFFICE.search(office):
                    towns[key].append(entry)

    pins = {pin: _pin_match(pin, counts) for pin, counts in pin_counts.items()}
    return pins, _unique_offices(offices), _unique_offices(towns)


def _unique_offices(
    offices: dict[str, list[tuple[str, str, str]]],
) -> dict[str, _Match]:
    """Office names found in one district only, as weak matches."""
    unique = {}
    for key, entries in offices.items():
        if len({district for district, _, _ in entries}) != 1:
            continue
        district, _, label = entries[0]
        police = {_police_for_pin(district, pin) for _, pin, _ in entries}
        pair = ((district, police.pop()),) if len(police) == 1 else ()
        unique[key] = _Match(
            districts=(district,),
            confidence=0.6,
            matched=f"{district} (post office {label})",
            police=tuple(item for item in pair if item[1] is not None),
            weak=True,
        )
    return unique


def _office_label(office: str) -> str:
    """ "Sangod S.O" -> "Sangod", for the evidence."""
    return re.sub(
        r"\s+(?:[BSH]\.?\s?O\.?|G\.?P\.?O\.?)$", "", office.strip(), flags=re.I
    )


def _pin_match(pin: str, counts: Counter[str]) -> _Match:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    districts = tuple(district for district, _ in ranked)
    police = tuple(
        (district, police)
        for district in districts
        if (police := _police_for_pin(district, pin)) is not None
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
    return _Match(districts, confidence, matched, police)


def _police_for_pin(district: str, pin: str) -> str | None:
    """Kota City or Kota Rural (and so on) by PIN; None where one police district."""
    if district not in CITY_PINS:
        return None
    low, high = CITY_PINS[district]
    city, rural = SPLIT_POLICE[district]
    return city if low <= int(pin) <= high else rural


def _state_names() -> dict[str, str]:
    """State key -> "Rajasthan" or the name of the other state or territory."""
    states = {state_key(text): RAJASTHAN for text in RAJASTHAN_NAMES}
    for name, variants in OTHER_STATES.items():
        for text in (name, *variants):
            states.setdefault(state_key(text), name)
    return states


# -- reading partner values -------------------------------------------------------


def _text(value: Any) -> str | None:
    """A non-blank string, capped; anything else is absent."""
    if not isinstance(value, str):
        return None
    text = value[:MAX_INPUT_CHARS].strip()
    return text or None


def _shown(value: Any) -> str:
    """A short, safe rendering of a partner value for the evidence."""
    if isinstance(value, str):
        return value[:EVIDENCE_VALUE_CHARS]
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value) if abs(value) < 10**20 else "<large int>"
    if isinstance(value, float):
        return repr(value)[:EVIDENCE_VALUE_CHARS]
    return f"<{type(value).__name__}>"


def _number(value: Any) -> float | None:
    """A finite number from a number or a numeric string; booleans are not numbers."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str) and len(value) <= 40:
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _pincode(value: Any) -> str | None:
    """Six digits from an int, an integral float or text ("PIN ३२४ ००५")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if 100_000 <= value <= 999_999 else None
    if isinstance(value, float):
        if value.is_integer() and 100_000 <= value <= 999_999:
            return str(int(value))
        return None
    if isinstance(value, str):
        found = _PIN_PATTERN.search(value[:MAX_INPUT_CHARS].translate(_DIGITS))
        return found.group(1) + found.group(2) if found else None
    return None
