"""Personal data patterns: e-mail addresses, phone numbers, card and ID numbers, street addresses.

    >>> find("Write to ana.lee@example.org or call +44 20 7946 0958.")
    [('email', 'ana.lee@example.org'), ('phone', '+44 20 7946 0958')]

Regular expressions, tuned to find rather than to miss: a generated summary has no business
containing any of these unless its source does, so a false alarm costs little (the text is
replaced by a placeholder such as ``[email]``). Card numbers must pass the Luhn check so
that ordinary long numbers are not taken for them.
"""

from __future__ import annotations

import re

PATTERNS: dict[str, re.Pattern] = {
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    "card": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    "iban": re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"),
    "ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    # Checked afterwards for 7 to 15 digits in all, which real phone numbers have.
    "phone": re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,6}){1,4}(?!\w)"),
    "address": re.compile(
        r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Lane|Ln\.?|Boulevard|Blvd\.?|"
        r"Drive|Dr\.?|Court|Ct\.?|Way|Place|Pl\.?|Square|Sq\.?|Terrace)\b"
    ),
}


# Dates (12.05.2020) and runs of years (2019 2020) have a phone number's shape.
_DATE_OR_YEARS = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|(?:(?:19|20)\d\d[ ,/-]*)+")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def find(text: str) -> list[tuple[str, str]]:
    """``(kind, matched text)`` for every piece of personal data in ``text``, in order."""
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            span = match.span()
            if any(s < span[1] and span[0] < e for s, e in taken):
                continue  # a card number is not also a phone number
            digits = re.sub(r"\D", "", match.group())
            if kind == "card" and not _luhn(digits):
                continue
            if kind == "phone" and (not 7 <= len(digits) <= 15 or _DATE_OR_YEARS.fullmatch(match.group())):
                continue
            taken.append(span)
            found.append((span[0], kind, match.group()))
    return [(kind, value) for _, kind, value in sorted(found)]


def _digits_or_text(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) >= 6 else value.lower()


def redact(text: str, source: str = "", redact_all: bool = False) -> tuple[str, list[str]]:
    """Replace personal data not found in ``source`` (all of it with ``redact_all``) by
    ``[kind]``; returns the new text and the kinds redacted. Numbers are compared by their
    digits, so a phone number written differently in the source still counts as found."""
    known = {_digits_or_text(value) for _, value in find(source)} if not redact_all else set()
    source_lower = source.lower()
    redacted: list[str] = []
    for kind, value in find(text):
        key = _digits_or_text(value)
        if not redact_all and (key in known or value.lower() in source_lower):
            continue
        text = text.replace(value, f"[{kind}]")
        redacted.append(kind)
    return text, redacted
