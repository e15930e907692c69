"""Text normalisation for place names written in English or Devanagari.

Everything that compares a place name (district names, their aliases, India Post office
names, Kota localities, state names) goes through `place_key`, so the data and the
partner's text are folded the same way:

- input is capped at `MAX_INPUT_CHARS` characters before anything else;
- Unicode compatibility forms are decomposed (NFKD), so a non-breaking space becomes a
  space and Latin accents can be dropped; zero-width characters and soft hyphens go;
- Devanagari is folded: nukta dropped (ड़ = ड), chandrabindu read as anusvara
  (बाँसवाड़ा = बांसवाड़ा), a nasal consonant with virama before a consonant read as
  anusvara (झुन्झुनू = झुंझुनू), a word-final anusvara dropped (बारां = बारा);
  Devanagari digits become ASCII digits (३२४००५ = 324005);
- case is folded and runs of punctuation or white space become one separator;
- words that only say "this is a district in Rajasthan" are removed from the ends
  ("Dist.", "District", "जिला", "(Raj.)", ", Rajasthan", "India"), as is a trailing
  six-digit PIN;
- the remaining words are joined without spaces, so "Neem ka Thana", "Neem-Ka-Thana" and
  "Neemkathana" give the same key.
"""

import re
import unicodedata

MAX_INPUT_CHARS = 200

_FOLD = {
    **{codepoint: None for codepoint in range(0x0300, 0x0370)},  # Latin accents
    **dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u093c"), None),
    **{ord(digit): str(value) for value, digit in enumerate("०१२३४५६७८९")},
    0x0901: "\u0902",  # chandrabindu -> anusvara
    0x0929: "\u0928",  # precomposed letters with nukta that NFKD keeps whole
    0x0931: "\u0930",
    0x0934: "\u0933",
}
_NASAL_CLUSTER = re.compile("[ङञणनम]\u094d(?=[क-ह])")
_FINAL_ANUSVARA = re.compile("\u0902(?= |$)")
_SEPARATORS = re.compile("(?:[^\\w\u0900-\u0963\u0966-\u097f]|[_\u0964\u0965])+")
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


def clean_text(text: str) -> str:
    """Fold `text` to lower-case words separated by single spaces."""
    text = text[:MAX_INPUT_CHARS]
    if text.isascii():
        return _SEPARATORS.sub(" ", text.lower()).strip()

    text = unicodedata.normalize("NFKD", text).translate(_FOLD).casefold()
    text = _NASAL_CLUSTER.sub("\u0902", text)
    text = _SEPARATORS.sub(" ", text).strip()
    return _FINAL_ANUSVARA.sub("", text)


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


def office_key(text: str) -> str:
    """The lookup key of an India Post office name, without "B.O", "S.O", "H.O"."""
    words = clean_text(text).split()
    changed = True
    while changed and words:
        changed = False
        if words[-1] in _OFFICE_WORDS:
            words.pop()
            changed = True
            continue
        for suffix in _OFFICE_SUFFIXES:
            if tuple(words[-len(suffix) :]) == suffix and len(words) > len(suffix):
                del words[-len(suffix) :]
                changed = True
                break
    return "".join(strip_affixes(words))


def state_key(text: str) -> str:
    """The lookup key of a state name ("Uttar Pradesh, India" -> "uttarpradesh")."""
    words = clean_text(text).split()
    while words and words[-1] in ("india", "भारत", "state", "राज्य"):
        words.pop()
    return "".join(words)


RAJASTHAN_NAMES = (
    "Rajasthan",
    "राजस्थान",
    "RJ",
    "Raj",
    "Raj.",
    "Rajsthan",
    "Rajastan",
    "Rajashtan",
    "Rajesthan",
    "राजस्तान",
)

# Every other state and union territory, in English and Hindi, with the usual short
# forms (vehicle-registration codes and old names).
OTHER_STATES: dict[str, tuple[str, ...]] = {
    "Andhra Pradesh": ("आंध्र प्रदेश", "AP"),
    "Arunachal Pradesh": ("अरुणाचल प्रदेश", "AR"),
    "Assam": ("असम", "AS"),
    "Bihar": ("बिहार", "BR"),
    "Chhattisgarh": ("छत्तीसगढ़", "Chattisgarh", "CG"),
    "Goa": ("गोवा", "GA"),
    "Gujarat": ("गुजरात", "Gujrat", "GJ"),
    "Haryana": ("हरियाणा", "हरियाना", "HR"),
    "Himachal Pradesh": ("हिमाचल प्रदेश", "HP"),
    "Jharkhand": ("झारखंड", "झारखण्ड", "JH"),
    "Karnataka": ("कर्नाटक", "KA"),
    "Kerala": ("केरल", "KL"),
    "Madhya Pradesh": ("मध्य प्रदेश", "MP", "M.P."),
    "Maharashtra": ("महाराष्ट्र", "MH"),
    "Manipur": ("मणिपुर", "MN"),
    "Meghalaya": ("मेघालय", "ML"),
    "Mizoram": ("मिजोरम", "मिज़ोरम", "MZ"),
    "Nagaland": ("नागालैंड", "NL"),
    "Odisha": ("ओडिशा", "उड़ीसा", "Orissa", "OD", "OR"),
    "Punjab": ("पंजाब", "PB"),
    "Sikkim": ("सिक्किम", "SK"),
    "Tamil Nadu": ("तमिलनाडु", "TN"),
    "Telangana": ("तेलंगाना", "TS", "TG"),
    "Tripura": ("त्रिपुरा", "TR"),
    "Uttar Pradesh": ("उत्तर प्रदेश", "UP", "U.P."),
    "Uttarakhand": ("उत्तराखंड", "उत्तराखण्ड", "Uttaranchal", "UK"),
    "West Bengal": ("पश्चिम बंगाल", "WB"),
    "Andaman and Nicobar Islands": ("अंडमान और निकोबार", "Andaman", "AN"),
    "Chandigarh": ("चंडीगढ़", "CH"),
    "Dadra and Nagar Haveli and Daman and Diu": ("Daman", "Diu", "DNH", "DD"),
    "Delhi": ("दिल्ली", "New Delhi", "नई दिल्ली", "NCT of Delhi", "DL"),
    "Jammu and Kashmir": ("जम्मू और कश्मीर", "Jammu & Kashmir", "J&K", "JK"),
    "Ladakh": ("लद्दाख", "LA"),
    "Lakshadweep": ("लक्षद्वीप", "LD"),
    "Puducherry": ("पुडुचेरी", "Pondicherry", "PY"),
}
