"""Personal data patterns: e-mail addresses, phone numbers, card and ID numbers, street addresses.

    >>> find("Write to ana.lee@example.org or call +44 20 7946 0958.")
    [('email', 'ana.lee@example.org'), ('phone', '+44 20 7946 0958')]

Regular expressions, tuned to find rather than to miss: a generated summary has no business
containing any of these unless its source does, so a false alarm costs little (the text is
replaced by a placeholder such as ``[email]``). Card numbers must pass the Luhn check so
that ordinary long numbers are not taken for them.

Chinese text has mainland mobile numbers (11 digits from 13 to 19, with or without +86, in
3-4-4 groups or not; kind ``phone``) and resident ID card numbers (18 characters: a birth date
in the 7th to 14th, the last a check digit, ISO 7064 MOD 11-2, or X; kind ``id_card``, placeholder
``[id_card]``). Chinese is written without spaces, and a Chinese character is a word character
to a regular expression: the patterns see Chinese and Japanese characters as spaces, so that
data written against them is found all the same:

    >>> find("请致电13812345678联系，或+86 139-0000-1234。")
    [('phone', '13812345678'), ('phone', '+86 139-0000-1234')]
"""

from __future__ import annotations

import re
from datetime import date

# A pattern's name is the kind of data it finds, except "mobile_cn", a kind of "phone".
# find() tries them in this order, and a span found is not found again: an ID card number is
# not also a card number, a Chinese mobile number with its +86 not also a card number.
PATTERNS: dict[str, re.Pattern] = {
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    "id_card": re.compile(r"(?<![\w+])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
                          r"[0-9]{3}[0-9Xx](?!\w)"),
    "mobile_cn": re.compile(r"(?<![\w+])(?:(?:\+|00)?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?!\w)"),
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
_KINDS = {"mobile_cn": "phone"}

# Chinese and Japanese characters (and 〇), which the patterns see as \x01: not a word
# character, not a space, nothing any pattern matches; one character for one, so that the
# spans found are the text's own.
_CJK = re.compile(r"[\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")

# Dates (12.05.2020, 2020-05-12, as Chinese text writes them too) and runs of years
# (2019 2020) have a phone number's shape.
_DATE_OR_YEARS = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|(?:19|20)\d\d[./-]\d{1,2}[./-]\d{1,2}"
                            r"|(?:(?:19|20)\d\d[ ,/-]*)+")
# A Chinese mobile number with its country code, as digits.
_MOBILE_CN_DIGITS = re.compile(r"(?:00)?86(1[3-9]\d{9})")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def id_check_character(first17: str) -> str:
    """The check character of a Chinese resident ID card number from its first 17 digits
    (GB 11643, ISO 7064 MOD 11-2): a digit, or X for 10.

    >>> id_check_character("11010519491231002")
    'X'
    """
    remainder = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11
    value = (12 - remainder) % 11
    return "X" if value == 10 else str(value)


def _valid_id_card(value: str) -> bool:
    """Whether an 18-character number (the pattern's shape) has the right check character and
    a real birth date."""
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False  # 0230: no 30 February
    return id_check_character(value[:17]) == value[17].upper()


def find(text: str) -> list[tuple[str, str]]:
    """``(kind, matched text)`` for every piece of personal data in ``text``, in order."""
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    seen = _CJK.sub("\x01", text)
    for name, pattern in PATTERNS.items():
        kind = _KINDS.get(name, name)
        for match in pattern.finditer(seen):
            span = match.span()
            if any(s < span[1] and span[0] < e for s, e in taken):
                continue  # a card number is not also a phone number
            value = text[span[0]:span[1]]
            digits = re.sub(r"\D", "", value)
            if name == "id_card" and not _valid_id_card(value):
                continue
            if name == "card" and not _luhn(digits):
                continue
            if name == "phone" and (not 7 <= len(digits) <= 15 or _DATE_OR_YEARS.fullmatch(value)):
                continue
            taken.append(span)
            found.append((span[0], kind, value))
    return [(kind, value) for _, kind, value in sorted(found)]


def _digits_or_text(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    mobile = _MOBILE_CN_DIGITS.fullmatch(digits)
    if mobile:
        return mobile.group(1)  # +86 138 1234 5678 is 13812345678
    return digits if len(digits) >= 6 else value.lower()


def redact(text: str, source: str = "", redact_all: bool = False) -> tuple[str, list[str]]:
    """Replace personal data not found in ``source`` (all of it with ``redact_all``) by
    ``[kind]``; returns the new text and the kinds redacted. Numbers are compared by their
    digits, so a phone number written differently in the source still counts as found (a
    Chinese mobile number with or without its +86)."""
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
