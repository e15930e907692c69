"""SMS that arrives readable: encodings, segments, Indian numbers and DLT templates.

- A text that GSM-7 can carry is sent as GSM-7: 160 characters in one SMS, 153 a part
  when split (characters of the extension table count twice). Anything else, one
  Devanagari letter or one curly quote, makes the whole SMS UCS-2: 70 UTF-16 units
  in one SMS, 67 a part. Gateways that take UCS-2 as hex want it big-endian with no
  byte-order mark.
- Indian mobile numbers are normalised to E.164 (``+91`` and ten digits starting 6 to
  9), from whatever spacing, prefixes or Devanagari digits they come in; anything
  else is refused with a reason.
- India's operators drop an SMS whose text does not match its DLT-registered
  template, or whose variables are too long, so a message is rendered from the
  template and checked before it leaves.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

VARIABLE = "{#var#}"


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def segments(text: str) -> int:
    """How many SMS the text takes."""
    if is_gsm7(text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return 1 if septets <= GSM7_SINGLE else math.ceil(septets / GSM7_PART)
    units = len(text.encode("utf-16-be")) // 2
    return 1 if units <= UCS2_SINGLE else math.ceil(units / UCS2_PART)


def ucs2_hex(text: str) -> str:
    """UCS-2 as upper-case hex, big-endian, without a byte-order mark."""
    return text.encode("utf-16-be").hex().upper()


class InvalidNumber(ValueError):
    """A number that cannot receive an SMS; ``reason`` is a fixed code."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_SEPARATORS = re.compile(r"[\s\u00a0\u2007\u202f\-().]")


def normalise_mobile(raw: str) -> str:
    """``+91`` and the ten digits of an Indian mobile, or ``InvalidNumber``."""
    text = unicodedata.normalize("NFKC", raw).strip()
    text = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)
    text = _SEPARATORS.sub("", text)
    if text.startswith("+"):
        if not text.startswith("+91"):
            raise InvalidNumber("not_indian")
        text = text[3:]
    if not text.isdigit():
        raise InvalidNumber("not_digits")

    if len(text) == 13 and text.startswith("091"):
        text = text[3:]
    elif len(text) == 12 and text.startswith("91"):
        text = text[2:]
    elif len(text) == 11 and text.startswith("0"):
        text = text[1:]
    if len(text) != 10:
        raise InvalidNumber("wrong_length")
    if text[0] not in "6789":
        raise InvalidNumber("not_a_mobile")
    return "+91" + text


class TemplateMismatch(ValueError):
    """A message that would not pass DLT scrubbing; ``reason`` is a fixed code."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DltTemplate:
    """A registered template: fixed text with ``{#var#}`` where variables go."""

    template_id: str
    text: str
    max_variable_length: int = 30

    def __post_init__(self) -> None:
        if not self.template_id.strip():
            raise TemplateMismatch("template_id_missing")
        if VARIABLE not in self.text:
            raise TemplateMismatch("template_without_variables")

    @property
    def variable_count(self) -> int:
        return self.text.count(VARIABLE)

    def render(self, values: list[str]) -> str:
        """The text with each variable filled in, checked against the template."""
        if len(values) != self.variable_count:
            raise TemplateMismatch("variable_count")
        for value in values:
            if not value or len(value) > self.max_variable_length:
                raise TemplateMismatch("variable_length")
            if "\n" in value or "\r" in value:
                raise TemplateMismatch("variable_line_break")
        pieces = self.text.split(VARIABLE)
        text = pieces[0]
        for value, piece in zip(values, pieces[1:], strict=True):
            text += value + piece
        self.check(text)
        return text

    def check(self, text: str) -> None:
        """Refuse a text that the operators' scrubbing would drop."""
        limit = self.max_variable_length
        pattern = ".{1,%d}" % limit  # noqa: UP031 - a regex quantifier, not a format
        pieces = (re.escape(p) for p in self.text.split(VARIABLE))
        regex = "^" + pattern.join(pieces) + "$"
        if not re.match(regex, text, flags=re.DOTALL):
            raise TemplateMismatch("text_does_not_match_template")
