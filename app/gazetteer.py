"""Place an alert's location in a Rajasthan revenue district and police district.

The partner's location object may carry coordinates, a PIN, a locality, a city, a
district, a state and a home district, in English or Hindi, any of them missing or
wrong. `Gazetteer.place` turns it into a `Placement`: one of the 41 current revenue
districts (or none), the police district whose control room should see the alert, a
confidence, flags for a human, and the evidence behind the answer.

Order of trust, most trusted first:

1. coordinates inside a district polygon, when the stated accuracy is 20 km or better
   (a point between polygons inside the state outline takes the nearest one, with
   less confidence; a point outside the outline is outside Rajasthan however close);
2. the PIN: the India Post directory for Rajasthan PINs; a PIN of another postal
   region (first two digits not 30 to 34) places the person outside Rajasthan;
3. the locality, 4. the city, 5. the district, when they are district names (English,
   Devanagari, spelling variants, the nine districts abolished on 2024-12-28, police
   district names; close misspellings by fuzzy matching);
6. names of cities and districts of other states, in any of those fields;
7. towns (India Post town offices, the towns of the eight newer districts), Kota
   localities, and village offices in a city or locality field: they place an alert when
   nothing above does, support an answer, pick one of an ambiguous answer's
   candidates and refine an older district to a newer one, but never override;
8. coordinates with a stated accuracy worse than 20 km: never trusted alone. Alone
   they give the districts within the accuracy circle as candidates ("ambiguous"),
   or outside Rajasthan when the whole circle is outside.

The most trusted signal that resolves to one place decides; another that names a
different place adds the flag "conflict" and its district to the candidates, and
lowers the confidence; agreement raises it. An ambiguous signal (a name of two places)
is decided by any other signal that picks one of its candidates; a less trusted one
that picks none of them does not override it. A state other than Rajasthan (in the
state field, or written at the end of a city or district: "Udaipur, Tripura") puts
the person outside Rajasthan unless coordinates or a PIN place them inside (then
"conflict"); the state of Rajasthan resolves a name shared with another state. A PIN
written in a city or district field counts as the PIN when the PIN field is empty.
The home district is placed on its own and never moves the placement.

Flags:

- "ambiguous": no district, because the evidence names two or more places and nothing
  decides; the candidates list them. `in_rajasthan` is None when one of them may be
  outside Rajasthan (Pratapgarh, also in Uttar Pradesh), True otherwise.
- "conflict": two trusted signals disagree; the candidates hold both.
- "parent_only": the district was decided by a PIN or a point, which know only the 33
  older districts; the older district has since lost area to a newer one and this
  PIN or point may lie in it (the PIN has an office in a town of the newer district,
  or the point is nearer the newer district's headquarters than its own), and no name
  said which. The district is the older one (it still exists, under the same name);
  the candidates are the older district first, then the newer one(s). A name of the
  newer district or of one of its towns refines the placement to the newer district,
  without the flag; a name of the older district confirms it, without the flag.
- "outside_rajasthan": the person is outside Rajasthan; no district.
- "unplaced": nothing usable; no district.

Police districts differ from revenue districts in three places: Kota (Kota City for
PINs 324001-324010, the coaching-hub localities and the city of Kota; Kota Rural for
other Kota PINs), Jaipur (Commissionerate for PINs 302xxx and for the peri-urban thana
towns the police data names, Jaipur Rural for other 303xxx) and Jodhpur
(Commissionerate for PINs 342001-342015, Jodhpur Rural for the rest). A named police
district or locality outranks a PIN range, which outranks the city rule and a point's
distance from the city (within 12 km of Kota, 25 of Jaipur, 15 of Jodhpur: a rough
reach of the city police, CITY_POLICE_KM). When nothing says which, the city one is
taken (its control room is the district's command centre) and the confidence is
lowered. Elsewhere the police district has the name of the
revenue district. A name can carry a police district: "Kota Rural", "Bhiwadi", or an
abolished district whose area went to one ("Dudu" -> Jaipur Rural).

Data, in app/data (SOURCES.md there gives provenance and caveats):

- rajasthan_districts.csv: names, aliases, the abolished districts and where they
  went, headquarters points;
- rajasthan_police_districts.csv: police districts and the revenue district of each;
- rajasthan_pincodes.csv: India Post offices (Department of Posts, Ministry of
  Communications, via data.gov.in), still on the 33-district map;
- rajasthan_districts.geojson: Census-2011 district polygons, coordinates [lon, lat];
- kota_localities.csv: the localities of Kota's coaching hub.

Hand-written tables live in app.district_towns (towns of the newer districts) and
app.places_elsewhere (other states, their cities, PIN regions); name folding and
transliteration in app.place_names; reading one-string locations in app.place_text;
the indexes in app.place_index. Nothing here logs location values.
"""

import dataclasses
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from app.place_index import (
    KIND_ELSEWHERE,
    KIND_TOWN,
    SPLIT_POLICE,
    Match,
    PlaceIndex,
)
from app.place_names import (
    MAX_INPUT_CHARS,
    exact_word,
    place_key,
    raw_words,
    sound_keys,
    state_key,
    strip_affixes,
    word_sounds,
)
from app.place_text import (
    STATE_NAMES,
    STREET_WORDS,
    find_pin,
    read_location_text,
)
from app.places_elsewhere import (
    RAJASTHAN,
    RAJASTHAN_PIN_PREFIXES,
    postal_region,
)

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"

TRUSTED_ACCURACY_M = 20_000.0
FUZZY_THRESHOLD = 85.0
FUZZY_TOWN_THRESHOLD = 90.0
FUZZY_MARGIN = 5.0
FUZZY_MIN_LENGTH = 6  # "Palia" is not "Pali": short names are matched exactly only
FUZZY_TOWN_MIN_LENGTH = 7
MAX_FUZZY_TRIES = 3
EVIDENCE_VALUE_CHARS = 80
MAX_NGRAM = 4
# Partners send the same few thousand names again and again: the reading of a name
# field is a pure function of its text, kept for the most recent ones.
NAME_CACHE_SIZE = 16_384

FIELD_RANKS = {"coordinates": 0, "pincode": 1, "locality": 2, "city": 3, "district": 4}
ELSEWHERE_RANK = 5
NAME_FIELDS = ("locality", "city", "district")
EVIDENCE_ORDER = (*FIELD_RANKS, "state", "home_district")
FLAG_ORDER = ("ambiguous", "conflict", "parent_only", "outside_rajasthan", "unplaced")

OUTSIDE = "outside"
TRUSTED, WEAK, COARSE = 0, 1, 2

# Words that are never a place name on their own (they may be part of one).
_NOT_NAMES = frozenset(
    {
        "near",
        "nr",
        "opp",
        "opposite",
        "behind",
        "beside",
        "in",
        "at",
        "of",
        "the",
        "and",
        "from",
        "to",
        "po",
        "post",
        "ps",
        "via",
        "vill",
        "village",
        "gram",
        "teh",
        "tehsil",
        "tah",
        "city",
        "town",
        "nagar",
        "colony",
        "sector",
        "road",
        "marg",
        "street",
        "lane",
        "gali",
        "mohalla",
        "ward",
        "block",
        "area",
        "main",
        "market",
        "bazar",
        "mandi",
        "station",
        "bus",
        "stand",
        "hostel",
        "pg",
        "room",
        "flat",
        "house",
        "no",
        "plot",
        "phase",
        "chowk",
        "circle",
        "gate",
        "ka",
        "ki",
        "ke",
        "kalan",
        "khurd",
        "rural",
        "gramin",
        "north",
        "south",
        "east",
        "west",
        "dist",
        "distt",
        "district",
        "zila",
        "jila",
        "state",
        "india",
        "pin",
        "pincode",
        "के",
        "पास",
        "गांव",
        "ग्राम",
        "पोस्ट",
        "तहसील",
        "जिला",
        "शहर",
        "नगर",
        "भारत",
    }
)


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
class _Signal:
    """A match from one location field, with how far it is trusted."""

    field: str
    value: str
    tier: int  # TRUSTED, WEAK or COARSE
    rank: int
    match: Match

    @property
    def order(self) -> tuple[int, int]:
        return (self.tier, self.rank)

    @property
    def by_pin_or_point(self) -> bool:
        return self.field in ("coordinates", "pincode")


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


@dataclass(slots=True)
class _Reading:
    """What the fields of one location said, before deciding."""

    signals: list[_Signal] = dataclasses.field(default_factory=list)
    evidence: list[Evidence] = dataclasses.field(default_factory=list)
    state: str | None = None  # RAJASTHAN, OUTSIDE or None
    state_evidence: Evidence | None = None


class Gazetteer:
    """District and police-district lookup built once from the data files."""

    def __init__(self, data_dir: Path) -> None:
        self._index = PlaceIndex(Path(data_dir))
        self._state_keys = [key for key in STATE_NAMES if len(key) >= 5]
        self._scan = functools.lru_cache(maxsize=NAME_CACHE_SIZE)(self._scan_text)

    def clear_caches(self) -> None:
        """Forget the names read so far (for benchmarks of first readings)."""
        self._scan.cache_clear()
        read_location_text.cache_clear()
        word_sounds.cache_clear()

    # -- the public operations ----------------------------------------------------

    def place(self, location: Mapping[str, Any] | None) -> Placement:
        """Place `location`; never raises, whatever the partner sent."""
        try:
            return self._place(location)
        except Exception:  # an alert must be routed even if this code has a bug
            return _FAILED_PLACEMENT

    def place_text(self, text: str, **fields: Any) -> Placement:
        """Place a location written as one string ("Talwandi, Kota 324005"), with
        any location fields given separately taking precedence."""
        return self.place({**location_from_text(text), **fields})

    # -- reading the fields -------------------------------------------------------

    def _place(self, location: Mapping[str, Any] | None) -> Placement:
        loc = location if isinstance(location, Mapping) else {}
        reading = _Reading()

        self._read_coordinates(loc, reading)
        texts = self._split_name_fields(loc, reading)
        self._read_pincode(loc.get("pincode"), reading, texts)
        for field in NAME_FIELDS:
            self._read_names(field, texts.get(field), loc.get(field), reading)
        home, home_evidence = self._read_home(loc.get("home_district"))

        signals = reading.signals
        notes: list[list[str]] = [[] for _ in signals]
        outcome = self._decide(signals, notes, reading.state)

        evidence = reading.evidence
        for signal, signal_notes in zip(signals, notes, strict=True):
            matched = "; ".join([signal.match.matched, *signal_notes])
            evidence.append(Evidence(signal.field, signal.value, matched))
        if reading.state_evidence is not None:
            state_evidence = reading.state_evidence
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

    def _split_name_fields(
        self, loc: Mapping[str, Any], reading: _Reading
    ) -> dict[str, Any]:
        """Read the state field, and take PINs and states out of the name fields:
        "Jaipur 302017", "Udaipur, Tripura". Returns the names left in each field."""
        self._read_state(loc.get("state"), reading)
        texts: dict[str, Any] = {}
        for field in NAME_FIELDS:
            value = loc.get(field)
            text = _text(value)
            if text is None:
                continue
            found = read_location_text(text)
            texts[field] = (found.names, found.pincode, text)
            if found.state is not None and reading.state_evidence is None:
                reading.state = RAJASTHAN if found.state == RAJASTHAN else OUTSIDE
                where = RAJASTHAN if found.state == RAJASTHAN else found.state
                note = "" if found.state == RAJASTHAN else ", outside Rajasthan"
                reading.state_evidence = Evidence(
                    "state",
                    (found.state_text or "")[:EVIDENCE_VALUE_CHARS],
                    f"{where}{note} (written in the {field})",
                )
        return texts

    def _read_coordinates(self, loc: Mapping[str, Any], reading: _Reading) -> None:
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
            reading.evidence.append(
                Evidence("coordinates", shown, "unusable coordinates")
            )
            return

        accuracy = _number(loc.get("accuracy_m"))
        if accuracy is not None and accuracy < 0:
            accuracy = None
        coarse = accuracy is not None and accuracy > TRUSTED_ACCURACY_M
        if accuracy is not None:
            shown = f"{shown} (±{accuracy:.0f} m)"[:EVIDENCE_VALUE_CHARS]

        polygons = self._index.polygons
        if coarse:
            assert accuracy is not None
            match = polygons.around(lat, lon, accuracy)
            reading.signals.append(_Signal("coordinates", shown, COARSE, 0, match))
            return

        match = polygons.locate(lat, lon)
        if match.outside and -90.0 <= lon <= 90.0 and polygons.inside_outline(lon, lat):
            why = "latitude and longitude look swapped (inside Rajasthan the other way"
            why += " round); not used"
            reading.evidence.append(Evidence("coordinates", shown, why))
            return
        reading.signals.append(_Signal("coordinates", shown, TRUSTED, 0, match))

    def _read_pincode(
        self, value: Any, reading: _Reading, texts: dict[str, Any]
    ) -> None:
        note = ""
        if value is None or (isinstance(value, str) and not value.strip()):
            for field in NAME_FIELDS:
                if field in texts and texts[field][1] is not None:
                    value, note = texts[field][1], f" (written in the {field})"
                    break
            else:
                return
        shown = _shown(value)

        pin = _pincode(value)
        if pin is None:
            reading.evidence.append(Evidence("pincode", shown, "not a six-digit PIN"))
            return
        match = self._index.pins.get(pin)
        if match is None and _placeholder(pin):
            why = f"PIN {pin} looks like a placeholder, not a PIN"
            reading.evidence.append(Evidence("pincode", shown, why + note))
            return
        if match is None:
            if int(pin[:2]) in RAJASTHAN_PIN_PREFIXES:
                why = f"PIN {pin} is not in the Rajasthan directory"
                reading.evidence.append(Evidence("pincode", shown, why + note))
                return
            region = postal_region(pin)
            if region is None:
                why = f"PIN {pin} is not a known PIN region"
                reading.evidence.append(Evidence("pincode", shown, why + note))
                return
            match = Match(
                confidence=0.85,
                matched=f"PIN {pin} is in {region}, outside Rajasthan",
                outside=True,
            )
        if note:
            match = replace(match, matched=match.matched + note)
        reading.signals.append(
            _Signal("pincode", shown, TRUSTED, FIELD_RANKS["pincode"], match)
        )

    def _read_names(self, field: str, text: Any, value: Any, reading: _Reading) -> None:
        if value is None:
            return
        if text is None:
            if not isinstance(value, str):
                reading.evidence.append(
                    Evidence(field, _shown(value), "unusable value")
                )
            elif value.strip():
                reading.evidence.append(Evidence(field, _shown(value), "no match"))
            return
        names, _, original = text
        if not names.strip():
            return

        matches = self._scan(names, field)
        if not matches:
            shown = original[:EVIDENCE_VALUE_CHARS]
            reading.evidence.append(Evidence(field, shown, "no match"))
            return
        for part, match in matches:
            if match.outside or match.kind == KIND_ELSEWHERE:
                tier, rank = TRUSTED, ELSEWHERE_RANK
            else:
                tier = WEAK if match.weak else TRUSTED
                rank = FIELD_RANKS[field]
            if reading.state == RAJASTHAN and match.maybe_outside:
                match = _inside_by_state(match)
            shown = part[:EVIDENCE_VALUE_CHARS]
            reading.signals.append(_Signal(field, shown, tier, rank, match))

    def _read_state(self, value: Any, reading: _Reading) -> None:
        if value is None:
            return
        text = _text(value)
        if text is None:
            if not isinstance(value, str):
                reading.state_evidence = Evidence(
                    "state", _shown(value), "unusable value"
                )
            return
        shown = text[:EVIDENCE_VALUE_CHARS]

        key = state_key(text)
        name = STATE_NAMES.get(key)
        if name is None and len(key) >= 5:
            best = process.extractOne(
                key, self._state_keys, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD
            )
            if best is not None:
                name = STATE_NAMES[best[0]]
        if name is None:
            reading.state_evidence = Evidence("state", shown, "not a recognised state")
            return
        if name == RAJASTHAN:
            reading.state = RAJASTHAN
            reading.state_evidence = Evidence("state", shown, RAJASTHAN)
            return
        reading.state = OUTSIDE
        reading.state_evidence = Evidence("state", shown, f"{name}, outside Rajasthan")

    def _read_home(self, value: Any) -> tuple[str | None, Evidence | None]:
        if value is None:
            return None, None
        text = _text(value)
        if text is None:
            if isinstance(value, str):
                return None, None
            return None, Evidence("home_district", _shown(value), "unusable value")
        shown = text[:EVIDENCE_VALUE_CHARS]

        names = read_location_text(text).names
        for _, match in self._scan(names, "home"):
            if match.weak or match.outside or not match.districts:
                continue
            if match.ambiguous:
                return None, Evidence("home_district", shown, match.matched)
            return match.districts[0], Evidence("home_district", shown, match.matched)
        return None, Evidence("home_district", shown, "no match")

    # -- names --------------------------------------------------------------------

    def _scan_text(self, text: str, field: str) -> tuple[tuple[str, Match], ...]:
        """The places named in `text`, in order: the whole text if it is one name,
        else the longest names found word by word, else close misspellings."""
        fc = "home" if field == "home" else field
        table = self._index.tables[fc]
        match = table.get(place_key(text))
        if match is not None:
            return ((text, match),)

        found: list[tuple[str, Match]] = []
        unmatched: list[list[str]] = []
        for part in _parts(text):
            words = raw_words(part)
            folded = [exact_word(word) for word in words]
            kept = strip_affixes(folded)
            start = folded.index(kept[0]) if kept else len(folded)
            words, folded = words[start : start + len(kept)], kept
            self._scan_words(words, folded, fc, found, unmatched)

        tries = 0
        for run in unmatched:
            if tries >= MAX_FUZZY_TRIES:
                break
            candidates = [run] if len(run) > 1 else []
            candidates += [[word] for word in run]
            for words in candidates:
                if len("".join(words)) < FUZZY_MIN_LENGTH:
                    continue
                tries += 1
                fuzzy = self._fuzzy(words, fc)
                if fuzzy is not None:
                    found.append((" ".join(words), fuzzy))
                    break
        return tuple(found)

    def _scan_words(
        self,
        words: list[str],
        folded: list[str],
        fc: str,
        found: list[tuple[str, Match]],
        unmatched: list[list[str]],
    ) -> None:
        """Greedy longest match, word n-grams of up to `MAX_NGRAM` words."""
        table, sounds = self._index.tables[fc], self._index.sounds[fc]
        run: list[str] = []
        i = 0
        while i < len(words):
            hit = None
            for size in range(min(MAX_NGRAM, len(words) - i), 0, -1):
                end = i + size
                if size == 1 and (folded[i] in _NOT_NAMES or folded[i].isdigit()):
                    continue
                if end < len(words) and folded[end] in STREET_WORDS:
                    continue  # "Ajmer Road, Jaipur": a street, not Ajmer
                match = table.get("".join(folded[i:end]))
                if match is None and len("".join(folded[i:end])) >= 4:
                    match = _first(sounds, sound_keys(words[i:end]))
                if match is not None:
                    hit = (size, match)
                    break
            if hit is None:
                if folded[i] not in _NOT_NAMES and not folded[i].isdigit():
                    run.append(words[i])
                elif run:
                    unmatched.append(run)
                    run = []
                i += 1
                continue
            if run:
                unmatched.append(run)
                run = []
            size, match = hit
            found.append((" ".join(words[i : i + size]), match))
            i += size
        if run:
            unmatched.append(run)

    def _fuzzy(self, words: list[str], fc: str) -> Match | None:
        """A close misspelling of one name; ambiguous if two differ by less than the
        margin. Short names, and towns below 7 letters, are never matched fuzzily."""
        table = self._index.tables[fc]
        best: dict[tuple[tuple[str, ...], bool], tuple[float, str]] = {}
        for sound in sound_keys(words)[:2]:
            bucket = self._index.fuzzy.get(sound[:1])
            if bucket is None or len(sound) < FUZZY_MIN_LENGTH:
                continue
            sound_choices, keys = bucket
            results = process.extract(
                sound,
                sound_choices,
                scorer=fuzz.ratio,
                limit=8,
                score_cutoff=FUZZY_THRESHOLD - FUZZY_MARGIN,
            )
            for _, score, position in results:
                key = keys[position]
                match = table.get(key)
                if match is None:
                    continue
                if match.kind >= KIND_TOWN and (
                    score < FUZZY_TOWN_THRESHOLD or len(sound) < FUZZY_TOWN_MIN_LENGTH
                ):
                    continue
                label = (match.districts, match.outside)
                if label not in best or best[label][0] < score:
                    best[label] = (score, key)
        ranked = sorted(best.items(), key=lambda item: -item[1][0])
        if not ranked or ranked[0][1][0] < FUZZY_THRESHOLD:
            return None

        (_, _), (score, key) = ranked[0]
        entry = table[key]
        if len(ranked) > 1 and score - ranked[1][1][0] < FUZZY_MARGIN:
            other = table[ranked[1][1][1]]
            both = tuple(dict.fromkeys((*entry.districts, *other.districts)))
            elsewhere = entry.outside or other.outside
            return Match(
                districts=both,
                confidence=0.3,
                matched="ambiguous spelling: close to "
                + " and to ".join(_describe(m) for m in (entry, other)),
                ambiguous=True,
                maybe_outside="close to a place outside Rajasthan" if elsewhere else "",
                weak=entry.weak and other.weak,
                kind=min(entry.kind, other.kind),
            )
        return replace(
            entry,
            confidence=min(entry.confidence, 0.75 if not entry.weak else 0.5),
            matched=f"{entry.matched} (close spelling, score {score:.0f})",
        )

    # -- deciding -----------------------------------------------------------------

    def _decide(
        self, signals: list[_Signal], notes: list[list[str]], state: str | None
    ) -> _Outcome:
        ordered = sorted(range(len(signals)), key=lambda i: signals[i].order)
        usable = [
            i for i in ordered if signals[i].match.districts or signals[i].match.outside
        ]
        outcome = _Outcome()

        if state == OUTSIDE:
            placed_inside = any(
                signals[i].tier == TRUSTED
                and signals[i].by_pin_or_point
                and signals[i].match.districts
                for i in usable
            )
            if not placed_inside:
                return self._outside_by_state(signals, notes, usable, outcome)
            outcome.flags.add("conflict")
            outcome.state_note = "disagrees with the coordinates or PIN"

        if not usable:
            outcome.flags.add("unplaced")
            outcome.in_rajasthan = {RAJASTHAN: True, OUTSIDE: False}.get(state)
            return outcome

        chosen = self._decider(signals, usable)
        if chosen is None:
            return self._ambiguous(signals, notes, usable, state, outcome)
        others = [i for i in usable if i != chosen]
        if signals[chosen].match.outside:
            return self._outside(signals, notes, chosen, others, state, outcome)
        return self._inside(signals, notes, chosen, others, state, outcome)

    def _decider(self, signals: list[_Signal], usable: list[int]) -> int | None:
        """The most trusted signal that names one place, unless a more trusted one
        names several and it picks none of them."""
        for i in usable:
            match = signals[i].match
            if match.ambiguous:
                continue
            for j in usable:
                if signals[j].order >= signals[i].order:
                    break
                if signals[j].match.ambiguous and not self._agrees(
                    {match.districts[0]} if match.districts else set(),
                    signals[j].match,
                ):
                    return None
            return i
        return None

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
                outcome.confidence = 0.9 if signals[i].tier == TRUSTED else 0.85
                notes[i].append("agrees")
            else:
                notes[i].append("not used: the state is outside Rajasthan")
        return outcome

    def _outside(
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
        what = "the PIN" if signals[chosen].field == "pincode" else "the coordinates"
        if not signals[chosen].by_pin_or_point:
            what = "a place outside Rajasthan"

        for i in others:
            match = signals[i].match
            if match.outside or match.maybe_outside:
                confidence += (1 - confidence) * 0.2
                notes[i].append("agrees" if match.outside else "one reading agrees")
            elif signals[i].tier == TRUSTED:
                flags.add("conflict")
                notes[i].append(f"disagrees with {what}")
                candidates.extend(d for d in match.districts if d not in candidates)
            else:
                notes[i].append(f"not used: {what} is outside Rajasthan")
        if state == RAJASTHAN:
            flags.add("conflict")
            outcome.state_note = f"disagrees with {what}"
        if "conflict" in flags:
            confidence *= 0.6
        outcome.confidence = confidence
        return outcome

    def _ambiguous(
        self,
        signals: list[_Signal],
        notes: list[list[str]],
        usable: list[int],
        state: str | None,
        outcome: _Outcome,
    ) -> _Outcome:
        """No signal names one place: narrow the candidates of the most trusted
        ambiguous signal by the others; one left is a (weak) placement."""
        first = next(i for i in usable if signals[i].match.ambiguous)
        candidates = list(signals[first].match.districts)
        maybe_outside = bool(signals[first].match.maybe_outside)
        for i in usable:
            if i == first:
                continue
            match = signals[i].match
            common = [d for d in candidates if d in match.districts]
            if match.ambiguous and common:
                candidates = common
                maybe_outside = maybe_outside and bool(match.maybe_outside)
                notes[i].append("narrows the candidates")
            else:
                notes[i].append("not used: does not pick a candidate")

        if len(candidates) == 1 and len(signals[first].match.districts) > 1:
            district = candidates[0]
            outcome.district = district
            outcome.in_rajasthan = True
            outcome.candidates = candidates
            outcome.confidence = 0.45
            outcome.police = self._index.default_police[district]
            notes[first].append(f"{district}: the only place all of them name")
            return outcome

        outcome.flags.add("ambiguous")
        outcome.candidates = candidates
        outcome.confidence = min(signals[first].match.confidence, 0.3)
        outcome.in_rajasthan = True if state == RAJASTHAN or not maybe_outside else None
        if maybe_outside and state != RAJASTHAN:
            notes[first].append("no state or PIN says which: not guessed")
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
        district = candidates[0]
        confidence = first.confidence

        # Another field may pick one of two candidates (a PIN in two districts, an
        # abolished district that went back to two).
        agreeing = [chosen]
        if len(candidates) > 1:
            for i in others:
                match = signals[i].match
                picked = [d for d in match.districts if d in candidates]
                if picked and not match.outside and picked[0] != district:
                    if match.ambiguous and len(picked) > 1:
                        continue
                    district = picked[0]
                    candidates = [district]
                    agreeing.append(i)
                    break

        # The older district of a PIN, point or name may be a newer one by now.
        older_confirmed = False
        for i in others:
            match = signals[i].match
            if match.ambiguous or match.outside or not match.districts:
                continue
            child = match.districts[0]
            if district in self._index.parents.get(child, ()):
                notes[chosen].append(f"{district} is the older district of {child}")
                candidates = [child, district]
                district = child
                if i not in agreeing:
                    agreeing.append(i)
                break
            if child == district and not signals[i].by_pin_or_point:
                older_confirmed = True
        else:
            by_pin_or_point = signals[chosen].by_pin_or_point
            if first.children and by_pin_or_point and not older_confirmed:
                flags.add("parent_only")
                rest = [d for d in candidates if d != district]
                candidates = [district, *first.children, *rest]
                notes[chosen].append(
                    f"only the older district is known: may be in "
                    f"{' or '.join(first.children)}"
                )

        targets = {district}
        for i in others:
            if i in agreeing:
                confidence += (1 - confidence) * 0.5
                continue
            signal = signals[i]
            if not signal.match.outside and self._agrees(targets, signal.match):
                agreeing.append(i)
                weight = 0.5 if signal.tier == TRUSTED else 0.2
                if signal.match.ambiguous:
                    weight = 0.1
                confidence += (1 - confidence) * weight
            elif signal.tier == TRUSTED:
                flags.add("conflict")
                notes[i].append("disagrees")
                new = [d for d in signal.match.districts if d not in candidates]
                candidates.extend(new)
            else:
                notes[i].append("not used: points elsewhere")

        if "conflict" in flags:
            confidence *= 0.6
        if "parent_only" in flags:
            confidence *= 0.9
        if state == RAJASTHAN:
            confidence += (1 - confidence) * 0.1
        if district in candidates:
            candidates.remove(district)
        candidates.insert(0, district)

        outcome.district = district
        outcome.in_rajasthan = True
        outcome.candidates = candidates
        police, confidence = self._police(
            district, signals, notes, agreeing, chosen, confidence
        )
        outcome.police = police
        outcome.confidence = confidence
        return outcome

    def _agrees(self, targets: set[str], match: Match) -> bool:
        """True when `match` names one of `targets` or the older district of one."""
        for target in targets:
            if target in match.districts:
                return True
            if any(
                parent in match.districts
                for parent in self._index.parents.get(target, ())
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
        """The police district the best-informed agreeing signal implies."""
        police, best = None, 0
        for i in sorted(agreeing, key=lambda i: signals[i].order):
            match = signals[i].match
            implied = dict(match.police).get(district)
            if implied and match.police_rank > best:
                police, best = implied, match.police_rank
        if police is None:
            police = self._index.default_police[district]
            if district in SPLIT_POLICE:
                confidence *= 0.9
                notes[chosen].append(
                    f"police {police} by default (city or rural not known)"
                )
        if police in self._index.uncertain_police:
            confidence *= 0.9
            notes[chosen].append(f"police district {police} is not confirmed")
        return police, confidence


def location_from_text(text: str) -> dict[str, str]:
    """A location object from one string: its PIN, its state, and the rest as the
    city (where localities, towns and district names are read in any order)."""
    if not isinstance(text, str):
        return {}
    found = read_location_text(text)
    location = {}
    if found.pincode is not None:
        location["pincode"] = found.pincode
    if found.state_text:
        location["state"] = found.state_text
    if found.names.strip(" ,"):
        location["city"] = found.names
    elif not location and text.strip():
        location["city"] = text
    return location


def _inside_by_state(match: Match) -> Match:
    """A name shared with another state, read with "Rajasthan" as the state."""
    if len(match.districts) != 1:
        return replace(match, maybe_outside="")
    return replace(
        match,
        ambiguous=False,
        maybe_outside="",
        confidence=0.75,
        matched=f"{match.matched}; the state says Rajasthan",
    )


def _placeholder(pin: str) -> bool:
    """ "111111", "123456": what people type when a form insists on a PIN."""
    return len(set(pin)) == 1 or pin in ("123456", "234567", "654321")


def _describe(match: Match) -> str:
    if match.outside:
        return "a place outside Rajasthan"
    return " or ".join(match.districts)


def _first(table: dict[str, Match], keys: tuple[str, ...]) -> Match | None:
    for key in keys:
        match = table.get(key)
        if match is not None:
            return match
    return None


def _parts(text: str) -> list[str]:
    parts = [part.strip() for part in _PART_SEPARATORS.split(text)]
    return [part for part in parts if part]


_PART_SEPARATORS = re.compile(r"[,;/|\n()]+")


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
        found = find_pin(value)
        return found[0] if found else None
    return None
