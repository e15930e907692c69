"""Text normalisation for place names written in English or Devanagari.

Everything that compares a place name (district names and aliases, India Post office
names, Kota localities, names of places in other states) goes through the functions
here, so the data and the partner's text are folded the same way. Two keys are made.

The exact key (`place_key`) folds only what never changes a name:

- input is capped at `MAX_INPUT_CHARS` characters before anything else;
- Unicode compatibility forms are folded (NFKC), so a non-breaking space becomes a
  space; zero-width characters (ZWJ, ZWNJ, ZWSP, BOM) and soft hyphens go, Latin
  accents go; Devanagari digits become ASCII digits (३२४००५ = 324005);
- Devanagari is folded: nukta dropped (ड़ = ड), chandrabindu read as anusvara
  (बाँसवाड़ा = बांसवाड़ा), a nasal consonant with virama before a consonant read as
  anusvara (झुन्झुनू = झुंझुनू), a word-final anusvara dropped (बारां = बारा);
- case is folded and runs of punctuation or white space separate words;
- words that only say "this is a district in Rajasthan" are removed from the ends
  ("Dist.", "District", "जिला", "(Raj.)", "Rajasthan", "India"), as is a trailing
  six-digit PIN;
- the remaining words are joined without spaces, so "Neem ka Thana", "Neem-Ka-Thana"
  and "Neemkathana" give the same key.

The sound keys (`sound_keys`) match romanised Hindi with Devanagari and spellings that
differ the way Hinglish spellings do. Devanagari is first romanised with the
indic-transliteration library (IAST), after the inherent vowel has been dropped where
Hindi drops it (word-final, and between two voiced syllables: भीलवाड़ा -> bhīlvāṛā);
because that rule misfires on compounds (श्रीगंगानगर), a variant that keeps medial
vowels is made too. Both scripts are then folded alike: aspiration dropped (bh = b),
long vowels shortened (ee = i, oo = u, aa = a), au = o, ai = ay = e, w = v, ph = f,
sh = s, x = ks, doubled letters single, a final silent e dropped (Indore = indor).
So "सांगोद" and "Sangod" share the key "sangod", "चिड़ावा" and "Chirawa" share
"cirava". No table of names is involved: only letter rules.
"""

import functools
import itertools
import re
import unicodedata

from indic_transliteration import sanscript

MAX_INPUT_CHARS = 200
MAX_SOUND_VARIANTS = 8

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_WORD_SPLIT = re.compile("(?:[^\\w\u0900-\u0963\u0966-\u097f]|[_\u0964\u0965])+")

_DEVANAGARI_FOLD = {
    0x093C: None,  # nukta
    0x0901: "\u0902",  # chandrabindu -> anusvara
}
_NASAL_CLUSTER = re.compile("[ङञणनम]\u094d(?=[क-ह])")
_FINAL_ANUSVARA = re.compile("\u0902$")
_PIN_WORD = re.compile(r"\d{6}")

_LEADING_WORDS = frozenset(
    {"dist", "distt", "district", "dt", "zila", "zilla", "jila", "jilla", "जिला"}
)
_TRAILING_WORDS = frozenset(
    {
        "dist",
        "distt",
        "district",
        "dt",
        "जिला",
        "raj",
        "rj",
        "rajasthan",
        "राजस्थान",
        "india",
        "भारत",
        "pin",
        "pincode",
        "पिन",
    }
)
_OFFICE_SUFFIXES = (("b", "o"), ("s", "o"), ("h", "o"), ("g", "p", "o"))
_OFFICE_WORDS = frozenset({"bo", "so", "ho", "gpo"})


# -- words and exact keys ------------------------------------------------------------


def raw_words(text: str) -> list[str]:
    """The words of `text`: compatibility forms, invisible characters and Devanagari
    digits folded, split on anything that is not a letter, mark or digit."""
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT_CHARS])
    text = text.translate(_INVISIBLE).translate(DEVANAGARI_DIGITS)
    return [word for word in _WORD_SPLIT.split(text) if word]


def exact_word(word: str) -> str:
    """One word folded for the exact key: case, accents, Devanagari spelling."""
    if word.isascii():
        return word.lower()
    word = unicodedata.normalize("NFKD", word)
    word = "".join(char for char in word if not _is_latin_mark(char))
    word = word.translate(_DEVANAGARI_FOLD).casefold()
    word = _NASAL_CLUSTER.sub("\u0902", word)
    return _FINAL_ANUSVARA.sub("", word)


def _is_latin_mark(char: str) -> bool:
    return "\u0300" <= char <= "\u036f"


def clean_text(text: str) -> str:
    """Fold `text` to lower-case words separated by single spaces."""
    return " ".join(exact_word(word) for word in raw_words(text))


def strip_affixes(words: list[str]) -> list[str]:
    """Drop "district", "Rajasthan", a PIN and the like from both ends of `words`."""
    start = 0
    while start < len(words) and words[start] in _LEADING_WORDS:
        start += 1

    end = len(words)
    while end > start and (
        words[end - 1] in _TRAILING_WORDS or _PIN_WORD.fullmatch(words[end - 1])
    ):
        end -= 1
    return words[start:end]


def place_words(text: str) -> list[str]:
    """The significant words of a place name, folded and without affixes."""
    return strip_affixes(clean_text(text).split())


def place_key(text: str) -> str:
    """The lookup key of a place name: its significant words joined together."""
    return "".join(place_words(text))


def office_words(text: str) -> list[str]:
    """The words of an India Post office name, without "B.O", "S.O", "H.O"."""
    words = clean_text(text).split()
    changed = True
    while changed and words:
        changed = False
        if words[-1] in _OFFICE_WORDS and len(words) > 1:
            words.pop()
            changed = True
            continue
        for suffix in _OFFICE_SUFFIXES:
            if tuple(words[-len(suffix) :]) == suffix and len(words) > len(suffix):
                del words[-len(suffix) :]
                changed = True
                break
    return strip_affixes(words)


def office_key(text: str) -> str:
    """The lookup key of an India Post office name, without "B.O", "S.O", "H.O"."""
    return "".join(office_words(text))


def state_key(text: str) -> str:
    """The lookup key of a state name ("Uttar Pradesh, India" -> "uttarpradesh")."""
    words = clean_text(text).split()
    while words and words[-1] in ("india", "भारत", "state", "राज्य"):
        words.pop()
    return "".join(words)


# -- sound keys ---------------------------------------------------------------------


def sound_keys(words: list[str]) -> tuple[str, ...]:
    """The sound keys of a name given as raw words (see `raw_words`), at most
    `MAX_SOUND_VARIANTS`; Devanagari words give more than one."""
    variants = [word_sounds(word) for word in words]
    if all(len(options) == 1 for options in variants):
        return ("".join(options[0] for options in variants),)
    keys = dict.fromkeys(
        "".join(choice)
        for choice in itertools.islice(itertools.product(*variants), MAX_SOUND_VARIANTS)
    )
    # The product favours the first word's variants; the parallel choices (every
    # word's first variant, every word's second...) are the likeliest, so add them.
    widest = max(len(options) for options in variants)
    for index in range(widest):
        keys.setdefault("".join(o[min(index, len(o) - 1)] for o in variants))
    return tuple(keys)


@functools.lru_cache(maxsize=8192)
def word_sounds(word: str) -> tuple[str, ...]:
    """The sound keys of one raw word: one for Latin, a few for Devanagari. Cached:
    partners send the same few thousand words again and again."""
    if word.isascii():
        word = word.lower()
        return (_ENGLISH_WORDS.get(word) or fold_latin(word),)
    if any("\u0900" <= char <= "\u097f" for char in word):
        return _devanagari_sounds(unicodedata.normalize("NFC", word))
    latin = unicodedata.normalize("NFKD", word.casefold())
    return (fold_latin("".join(c for c in latin if c.isascii())),)


_ENGLISH_WORDS = {"city": "siti", "road": "rod"}  # as Hindi writes them: सिटी, रोड
_LATIN_PAIRS = (
    ("ph", "f"),
    ("ck", "k"),
    ("x", "ks"),
    ("q", "k"),
    ("z", "j"),
    ("w", "v"),
)
_ASPIRATE = re.compile(r"(?<=[bcdfghjklmnprstvy])h")
_LONG_VOWELS = (("aa", "a"), ("ee", "i"), ("ii", "i"), ("oo", "u"), ("uu", "u"))
_DIPHTHONGS = (("au", "o"), ("ou", "o"), ("ai", "e"), ("ei", "e"))
_AY = re.compile(r"ay(?![aeiou])")
_M_LABIAL = re.compile(r"m(?=[bp])")
_DOUBLES = re.compile(r"(.)\1+")
_SILENT_E = re.compile(r"(?<=[^aeiou])e$")
_FINAL_H = re.compile(r"(?<=[aeiou])h$")
_OW = re.compile(r"ow(?![aeiou])")
_GARH = re.compile(r"(?<=..)gad$")


def fold_latin(word: str) -> str:
    """Fold one lower-case Latin word the way Hinglish spellings vary."""
    if "ow" in word:
        word = _OW.sub("au", word)  # "Dowsa" is "Dausa", "Chowk" "Chauk"
    for old, new in _LATIN_PAIRS:
        if old in word:
            word = word.replace(old, new)
    if len(word) > 3:
        word = _SILENT_E.sub("", word)
    word = _ASPIRATE.sub("", word)
    for old, new in _LONG_VOWELS:
        if old in word:
            word = word.replace(old, new)
    word = _AY.sub("ai", word)
    for old, new in _DIPHTHONGS:
        if old in word:
            word = word.replace(old, new)
    word = _M_LABIAL.sub("n", word)
    word = _DOUBLES.sub(r"\1", word)
    word = _FINAL_H.sub("", word)
    # -गढ़ (a fort, the end of many town names) is written garh, gadh and gad.
    return _GARH.sub("gar", word)


_CONSONANT = re.compile("[\u0915-\u0939\u0958-\u095f\u0978-\u097f]\u093c?")
_VOWEL_SIGNS = frozenset(chr(c) for c in (*range(0x093E, 0x094D), 0x0962, 0x0963))
_VIRAMA = "\u094d"
_MODIFIERS = frozenset("\u0901\u0902\u0903")


@functools.cache
def _to_iast() -> sanscript.SchemeMap:
    """The indic-transliteration map from Devanagari to IAST, built once."""
    return sanscript.SchemeMap(
        sanscript.SCHEMES[sanscript.DEVANAGARI], sanscript.SCHEMES[sanscript.IAST]
    )


def _devanagari_sounds(word: str) -> tuple[str, ...]:
    """Sound keys of a Devanagari word, one per plausible pronunciation: Hindi's
    silent vowels found from the right, from the left, or only the final one; ड़ and
    ढ़ read as r and as d; a final nasal kept and dropped."""
    units = _aksharas(word.replace("\u0901", "\u0902"))
    spellings = dict.fromkeys(
        _spell(units, _silent_vowels(units, order=order))
        for order in ("right", "left", "final")
    )
    if "\u093c" in word:
        spellings.update(
            dict.fromkeys(s.replace("\u093c", "") for s in list(spellings))
        )

    # One call for all spellings: the library's cost is per call, not per letter.
    romanised = sanscript.transliterate(" ".join(spellings), scheme_map=_to_iast())
    keys: dict[str, None] = {}
    for spelled, latin in zip(spellings, romanised.split(" "), strict=True):
        folded = _fold_iast(latin)
        keys.setdefault(fold_latin(folded))
        if folded.endswith("n") and spelled.endswith("\u0902"):
            keys.setdefault(fold_latin(folded[:-1]))
    return tuple(key for key in keys if key)[:MAX_SOUND_VARIANTS] or ("",)


def _aksharas(word: str) -> list[list[str]]:
    """Split a Devanagari word into [letter, vowel sign or virama or "", modifiers]."""
    units: list[list[str]] = []
    position = 0
    while position < len(word):
        consonant = _CONSONANT.match(word, position)
        if consonant is not None:
            position = consonant.end()
            sign = ""
            if position < len(word) and (
                word[position] in _VOWEL_SIGNS or word[position] == _VIRAMA
            ):
                sign = word[position]
                position += 1
            units.append([consonant.group(), sign, ""])
        elif word[position] in _MODIFIERS and units:
            units[-1][2] += word[position]
            position += 1
        else:
            units.append([word[position], "-", ""])  # an independent vowel or other
            position += 1
    return units


def _silent_vowels(units: list[list[str]], *, order: str) -> set[int]:
    """Indexes of consonants whose inherent vowel Hindi does not pronounce: the final
    one, and (unless `order` is "final") one between two voiced syllables, looking
    from the right or from the left, never two in a row."""

    def inherent(i: int) -> bool:
        return _CONSONANT.fullmatch(units[i][0]) is not None and units[i][1] == ""

    def voiced(i: int) -> bool:
        return (inherent(i) and i not in silent) or units[i][1] not in ("", _VIRAMA)

    def droppable(i: int) -> bool:
        after = units[i + 1]
        follows_voiced = voiced(i + 1) or (
            after[1] == _VIRAMA and i + 2 <= last and voiced(i + 2)
        )
        return (
            inherent(i)
            and not units[i][2]
            and voiced(i - 1)
            and (i - 1) not in silent
            and _CONSONANT.fullmatch(after[0]) is not None
            and follows_voiced
        )

    silent: set[int] = set()
    last = len(units) - 1
    if last > 0 and inherent(last) and not units[last][2]:
        silent.add(last)
    middle = range(last - 1, 0, -1) if order == "right" else range(1, last)
    if order == "final":
        middle = range(0)
    for i in middle:
        if (i + 1) not in silent and (i - 1) not in silent and droppable(i):
            silent.add(i)
    return silent


def _spell(units: list[list[str]], silent: set[int]) -> str:
    """The word again, with a virama where a vowel is silent."""
    return "".join(
        letter + (_VIRAMA if i in silent else ("" if sign == "-" else sign)) + mods
        for i, (letter, sign, mods) in enumerate(units)
    )


_IAST_FOLD = str.maketrans({"ṃ": "n", "ṛ": "ri", "ṝ": "ri", "ḷ": "li", "ḥ": "h"})


def _fold_iast(latin: str) -> str:
    """IAST to plain lower-case letters: ṃ -> n, ṛ -> ri, jñ -> gy, marks dropped."""
    latin = unicodedata.normalize("NFC", latin).translate(_IAST_FOLD)
    latin = latin.replace("jñ", "gy")
    latin = unicodedata.normalize("NFKD", latin)
    return "".join(char for char in latin.lower() if "a" <= char <= "z")
