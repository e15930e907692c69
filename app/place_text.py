"""Reading a location written as one string: "near Allen, Talwandi Kota 324005".

`read_location_text` takes what a person typed (or what a partner put in a city or
district field) and finds in it:

- a six-digit PIN, in ASCII or Devanagari digits, also written "324 005" or
  "324-005"; not part of a longer number such as a phone number;
- a state or union territory, English or Devanagari ("Tripura", "त्रिपुरा", "U.P."),
  where a state is written: a whole comma-separated part ("उदयपुर, त्रिपुरा") or the
  end of a part ("Gurgaon Haryana"); a short code ("UP", "MP") only as a whole part or
  the last word, and codes that are also English words ("AS", "OR") only in capitals.
  "Rajasthan" counts anywhere. A state name followed by a word such as "Road" or
  "Gate" is a street ("Delhi Gate, Alwar"), not a state;
- the rest, the place names, in the order written.

The gazetteer then reads the place names in any order (localities, towns, districts).
Nothing here knows any place: only PINs, states and the shape of addresses.
"""

import functools
import re
from dataclasses import dataclass

from app.place_names import (
    DEVANAGARI_DIGITS,
    MAX_INPUT_CHARS,
    clean_text,
    exact_word,
    raw_words,
    state_key,
)
from app.places_elsewhere import (
    CODES_IN_CAPITALS_ONLY,
    OTHER_STATES,
    RAJASTHAN,
    RAJASTHAN_NAMES,
)

PIN_PATTERN = re.compile(r"(?<![\d.])([1-9]\d{2})[ \-]?(\d{3})(?![\d])")
_PARTS = re.compile(r"[,;|\n/]+|\s+-\s+")
STREET_WORDS = frozenset(
    {
        "road",
        "rd",
        "marg",
        "gate",
        "highway",
        "bypass",
        "chowk",
        "circle",
        "chauraha",
        "crossing",
        "bhawan",
        "bhavan",
        "house",
        "bank",
        "रोड",
        "मार्ग",
        "गेट",
        "भवन",
    }
)
MAX_STATE_WORDS = 5


@dataclass(frozen=True, slots=True)
class LocationText:
    """What one string says: a PIN, a state (its name as written and whose it is)
    and the place names that are left."""

    pincode: str | None = None
    state_text: str | None = None
    state: str | None = None  # "Rajasthan" or the name of another state
    names: str = ""


def _state_names() -> dict[str, str]:
    """State key -> "Rajasthan" or the name of the other state or territory."""
    states = {state_key(text): RAJASTHAN for text in RAJASTHAN_NAMES}
    for name, variants in OTHER_STATES.items():
        for text in (name, *variants):
            states.setdefault(state_key(text), name)
    return states


STATE_NAMES = _state_names()
_SHORT_CODES = frozenset(key for key in STATE_NAMES if len(key) <= 3)


def find_pin(text: str) -> tuple[str, str] | None:
    """The first six-digit PIN in `text` and how it was written, or None."""
    folded = text[:MAX_INPUT_CHARS].translate(DEVANAGARI_DIGITS)
    found = PIN_PATTERN.search(folded)
    if found is None:
        return None
    return found.group(1) + found.group(2), text[found.start() : found.end()]


def state_of(text: str) -> str | None:
    """ "Rajasthan", another state's name, or None, for a whole state field."""
    return STATE_NAMES.get(state_key(text))


@functools.lru_cache(maxsize=8192)
def read_location_text(text: str) -> LocationText:
    """Split `text` into a PIN, a state and place names; see the module docstring."""
    text = text[:MAX_INPUT_CHARS]
    pin_found = find_pin(text)
    pincode = None
    if pin_found is not None:
        pincode, written = pin_found
        text = text.replace(written, " ", 1)

    parts = [part.strip() for part in _PARTS.split(text)]
    parts = [part for part in parts if part]
    state = state_text = None
    kept: list[str] = []
    for index, part in enumerate(parts):
        last_part = index == len(parts) - 1
        found = _state_in_part(part, last_part=last_part) if state is None else None
        if found is None:
            kept.append(part)
            continue
        state, state_text, rest = found
        if rest:
            kept.append(rest)
    names = ", ".join(kept)
    return LocationText(pincode, state_text, state, names)


def _state_in_part(part: str, *, last_part: bool) -> tuple[str, str, str] | None:
    """(state, its words as written, the part without them) for a state at the end
    of `part`, or "Rajasthan" anywhere in it; None when there is no state."""
    words = raw_words(part)
    folded = [exact_word(word) for word in words]
    if not words:
        return None

    for size in range(min(MAX_STATE_WORDS, len(words)), 0, -1):
        start = len(words) - size
        found = _state_words(words[start:], folded[start:], whole=start == 0)
        if found is not None:
            return found, " ".join(words[start:]), " ".join(words[:start])

    for start, word in enumerate(folded):
        if STATE_NAMES.get(word) == RAJASTHAN and len(word) > 3:
            if start + 1 < len(folded) and folded[start + 1] in STREET_WORDS:
                continue
            rest = " ".join(words[:start] + words[start + 1 :])
            return RAJASTHAN, words[start], rest
    del last_part
    return None


def _state_words(words: list[str], folded: list[str], *, whole: bool) -> str | None:
    """The state named by exactly these words, if they may be read as one here."""
    key = "".join(folded)
    name = STATE_NAMES.get(key)
    if name is None:
        key = "".join(word for word in folded if word not in ("state", "india"))
        name = STATE_NAMES.get(key) if key else None
    if name is None:
        return None
    if key in _SHORT_CODES:
        written = "".join(words)
        if len(words) > 1 and not whole:
            return None
        if written.upper() in CODES_IN_CAPITALS_ONLY and not written.isupper():
            return None
    return name


def without_pin(text: str) -> str:
    """`text` with its PIN (if any) removed."""
    found = find_pin(text)
    return text if found is None else text.replace(found[1], " ", 1)


def words_of(text: str) -> list[str]:
    """The folded words of `text`."""
    return clean_text(text).split()
