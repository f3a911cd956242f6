"""PII redaction: what a tenant's messages must not keep (card numbers, IBANs, optionally
e-mail addresses, phone numbers and the tenant's own patterns), masked before anything is
stored, delivered, logged or sent to a webhook.

The mask keeps the text's shape so that what the visitor's echo shows is exactly what was
kept, and needs no translation:

- card numbers and IBANs keep their last four characters, as banks print them (and as
  PCI DSS allows); every other digit or letter becomes ``*``, separators stay;
- e-mail addresses, phone numbers and custom patterns are masked whole (letters and
  digits to ``*``, punctuation and spaces kept).

A card number is 13 to 19 digits, optionally grouped by single spaces or dashes, that
passes the Luhn check; a Luhn-invalid number (an order number, a tracking code) is left
alone. It must start and end on a group boundary, so a long reference number is never
masked in part because some inner run of its digits happens to pass the check. An IBAN is
two letters, two check digits and 11 to 30 letters or digits (spaces allowed between
groups), valid by ISO 7064 mod-97. Only ASCII digits count.

Phone numbers need a numbering plan, so they are found through the ``PhoneFinder`` port
(the composition root wires Google's libphonenumber); without a region only numbers in
international form (``+49 …``) are found.

``Redactor`` is built once per tenant settings and is cheap per message: a text with no
digit and no ``@`` (most chat lines) costs one regular-expression search unless the
tenant has custom patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from business.errors import InvalidInput
from business.validation import check_storable

MAX_PATTERNS = 20
MAX_PATTERN_LENGTH = 200
PATTERN_NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,39}")
REGION_RE = re.compile(r"[A-Z]{2}")

CARD = "card"
IBAN = "iban"
EMAIL = "email"
PHONE = "phone"


@dataclass(frozen=True, slots=True)
class CustomPattern:
    name: str
    """Names the kind in what ``Redactor.redact`` reports (``custom:<name>``)."""
    regex: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RedactionSettings:
    """A tenant's redaction; the default masks card numbers and IBANs only."""

    cards: bool = True
    ibans: bool = True
    emails: bool = False
    phones: bool = False
    phone_region: str | None = None
    """ISO 3166 country whose national numbers are recognised (``DE``: ``030 1234567``);
    None: only numbers in international form."""
    patterns: tuple[CustomPattern, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.cards or self.ibans or self.emails or self.phones or bool(self.patterns)


class PhoneFinder(Protocol):
    def find(self, text: str, region: str | None) -> Sequence[tuple[int, int]]:
        """The (start, end) spans of the phone numbers in ``text``, in order, not
        overlapping; ``region``: see ``RedactionSettings.phone_region``."""
        ...


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    kinds: tuple[str, ...]
    """What was masked, each kind once, in detection order (``card``, ``iban``,
    ``email``, ``phone``, ``custom:<name>``); empty: the text is unchanged."""


def check_settings(settings: RedactionSettings) -> RedactionSettings:
    """The settings if they can be used; ``InvalidInput`` naming the first problem."""
    if settings.phone_region is not None and not REGION_RE.fullmatch(settings.phone_region):
        raise InvalidInput(
            f"phone_region must be a two-letter ISO 3166 country code such as DE, "
            f"not {settings.phone_region!r}"
        )
    if len(settings.patterns) > MAX_PATTERNS:
        raise InvalidInput(f"at most {MAX_PATTERNS} custom patterns, not {len(settings.patterns)}")
    seen: set[str] = set()
    for pattern in settings.patterns:
        if not PATTERN_NAME_RE.fullmatch(pattern.name):
            raise InvalidInput(
                f"pattern name {pattern.name!r}: lower-case letters, digits, '-' and '_', "
                "starting with a letter, at most 40 characters"
            )
        if pattern.name in seen:
            raise InvalidInput(f"two patterns are named {pattern.name!r}")
        seen.add(pattern.name)
        _compile(pattern)
    return settings


def _compile(pattern: CustomPattern) -> re.Pattern[str]:
    if not pattern.regex or len(pattern.regex) > MAX_PATTERN_LENGTH:
        raise InvalidInput(
            f"pattern {pattern.name!r} must be 1 to {MAX_PATTERN_LENGTH} characters long"
        )
    check_storable(pattern.regex, f"pattern {pattern.name!r}")
    try:
        compiled = re.compile(pattern.regex)
    except re.error as exc:
        raise InvalidInput(f"pattern {pattern.name!r} is no regular expression: {exc}") from None
    if compiled.fullmatch(""):
        # It would match between every two characters and mask nothing useful.
        raise InvalidInput(f"pattern {pattern.name!r} matches the empty text")
    return compiled


# -- detectors ------------------------------------------------------------------------

_MAYBE = re.compile(r"[0-9@]")
_CARD_START = re.compile(r"(?<![0-9])[0-9]")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

Span = tuple[int, int]


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def iban_valid(compact: str) -> bool:
    """ISO 13616: letters A..Z count 10..35, the first four characters move to the end,
    and the number leaves 1 divided by 97."""
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    remainder = 0
    for char in rearranged.upper():
        if "0" <= char <= "9":
            remainder = (remainder * 10 + ord(char) - 48) % 97
        else:
            remainder = (remainder * 100 + ord(char) - 55) % 97
    return remainder == 1


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _is_alnum(char: str) -> bool:
    return _is_digit(char) or "a" <= char <= "z" or "A" <= char <= "Z"


def _group_ends(
    text: str,
    start: int,
    separators: str,
    shortest: int,
    longest: int,
    is_char: Callable[[str], bool],
) -> list[tuple[int, str]]:
    """(end, separator-free form) of each span from ``start`` that ends on a group
    boundary and holds ``shortest`` to ``longest`` characters, shortest first. Groups are
    joined by single separators; the scan stops past ``longest``, so a candidate costs
    at most that many characters whatever the text."""
    found: list[tuple[int, str]] = []
    chars: list[str] = []
    index = start
    size = len(text)
    while index < size:
        char = text[index]
        if is_char(char):
            chars.append(char)
            if len(chars) > longest:
                return found
            index += 1
            continue
        if len(chars) >= shortest:
            found.append((index, "".join(chars)))
        if char in separators and index + 1 < size and is_char(text[index + 1]):
            index += 1
            continue
        return found
    if len(chars) >= shortest:
        found.append((size, "".join(chars)))
    return found


def _find(
    text: str,
    starts: re.Pattern[str],
    separators: str,
    shortest: int,
    longest: int,
    is_char: Callable[[str], bool],
    valid: Callable[[str], bool],
) -> list[Span]:
    """The longest valid span at each possible start, left to right, not overlapping."""
    spans: list[Span] = []
    position = 0
    for match in starts.finditer(text):
        first = match.start()
        if first < position:
            continue
        for last, compact in reversed(
            _group_ends(text, first, separators, shortest, longest, is_char)
        ):
            if valid(compact):
                spans.append((first, last))
                position = last
                break
    return spans


_CARD_DIGITS = (13, 19)
_DIGIT = re.compile(r"[0-9]")


def find_cards(text: str) -> list[Span]:
    shortest, longest = _CARD_DIGITS
    if len(_DIGIT.findall(text)) < shortest:
        return []  # fewer digits than any card has: most texts, about four times as fast
    return _find(text, _CARD_START, " -", shortest, longest, _is_digit, luhn_valid)


def find_ibans(text: str) -> list[Span]:
    return _find(text, _IBAN_START, " ", 15, 34, _is_alnum, iban_valid)


def find_emails(text: str) -> list[Span]:
    return [m.span() for m in _EMAIL.finditer(text)]


# -- masking --------------------------------------------------------------------------


def _mask(segment: str, keep_last: int = 0) -> str:
    """Letters and digits to ``*`` except the last ``keep_last`` of them."""
    kept = 0
    out: list[str] = []
    for char in reversed(segment):
        if char.isalnum():
            if kept < keep_last:
                kept += 1
                out.append(char)
            else:
                out.append("*")
        else:
            out.append(char)
    return "".join(reversed(out))


def _apply(text: str, spans: Sequence[Span], keep_last: int) -> str:
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end in spans:
        parts.append(text[position:start])
        parts.append(_mask(text[start:end], keep_last))
        position = end
    parts.append(text[position:])
    return "".join(parts)


class Redactor:
    """Masks one tenant's PII in message texts (see the module's docstring)."""

    def __init__(self, settings: RedactionSettings, phones: PhoneFinder | None = None) -> None:
        check_settings(settings)
        if settings.phones and phones is None:
            raise ValueError("phone redaction needs a PhoneFinder")
        self.settings = settings
        self._phones = phones if settings.phones else None
        self._patterns = [(f"custom:{p.name}", _compile(p)) for p in settings.patterns]

    def redact(self, text: str) -> Redacted:
        settings = self.settings
        kinds: list[str] = []
        if _MAYBE.search(text) is not None:
            if settings.cards:
                text = self._step(text, find_cards(text), CARD, 4, kinds)
            if settings.ibans:
                text = self._step(text, find_ibans(text), IBAN, 4, kinds)
            if settings.emails and "@" in text:
                text = self._step(text, find_emails(text), EMAIL, 0, kinds)
            if self._phones is not None:
                spans = list(self._phones.find(text, settings.phone_region))
                text = self._step(text, spans, PHONE, 0, kinds)
        for kind, compiled in self._patterns:
            spans = [m.span() for m in compiled.finditer(text) if m.end() > m.start()]
            text = self._step(text, spans, kind, 0, kinds)
        return Redacted(text, tuple(kinds))

    @staticmethod
    def _step(text: str, spans: Sequence[Span], kind: str, keep: int, kinds: list[str]) -> str:
        if spans:
            kinds.append(kind)
        return _apply(text, spans, keep)


NO_REDACTION = RedactionSettings(cards=False, ibans=False)
