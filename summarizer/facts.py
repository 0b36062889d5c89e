"""Surface fact checks of a sentence against its source: numbers and name-like words.

A small model invents details: a county, a date, a percentage. These checks find the
numbers and capitalised words of a generated sentence that its source does not contain.

    >>> unsupported("Prices rose 15 percent in Lindenvale, Kent.", "Bread prices in Lindenvale rose by 15%.")
    ['Kent']

Numbers are compared as normalized digit strings (see :func:`numbers`, which the
faithfulness metric shares, so the filter and the metric agree on what a number is);
a capitalised word is supported when the source contains the word in any case. The first
word of a sentence is not checked: its capital says nothing about it being a name. Text
without case (Chinese) is checked for numbers only.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# A colon joins digit groups too: "9:30" and "3:1" are one fact each, not two numbers.
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
# A number of one comma and then one or two digits ("4,5", "29,7km") has a decimal comma, as
# in German, French or Spanish: a thousands separator is always followed by three digits. Any
# other comma separates digit groups ("4,500", the Indian "12,34,567"). A full stop is always
# a decimal point ("1.234" stays 1.234), as in English.
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def numbers(text: str) -> list[str]:
    """The numbers of ``text`` in order, repeats included, normalized so that a summary and
    its source that write the same number differently still match:

    >>> numbers("4,500 or 4500, 4,5 or 4.5, ３ at 9:30")
    ['4500', '4500', '4.5', '4.5', '3', '9:30']

    Digits of any script become ASCII ones (full-width "３" in Chinese text is 3). Full NFKC
    is not used: it turns "10½" into "101⁄2" (101) and the Chinese comma "，" into ",",
    which would glue "5，6" into one number. Words for numbers ("five") are not read.
    """
    found = []
    for match in _NUMBER.finditer(text):
        value = match.group()
        if not value.isascii():
            value = "".join(str(unicodedata.decimal(c)) if c.isdigit() else c for c in value)
        if _DECIMAL_COMMA.fullmatch(value):
            value = value.replace(",", ".")
        found.append(value.replace(",", ""))
    return found


def unsupported(sentence: str, source: str, source_words: set[str] | None = None,
                source_numbers: set[str] | None = None) -> list[str]:
    """The numbers and capitalised words of ``sentence`` that ``source`` does not contain."""
    if source_words is None:
        source_words = {w.lower() for w in _WORD.findall(source)}
    if source_numbers is None:
        source_numbers = set(numbers(source))
    missing = [n for n in sorted(set(numbers(sentence))) if n not in source_numbers]
    for position, match in enumerate(_WORD.finditer(sentence)):
        word = match.group()
        if position == 0 or not word[0].isupper() or word.lower() in source_words:
            continue
        missing.append(word)
    return missing


def source_index(source: str) -> tuple[set[str], set[str]]:
    """Precomputed word and number sets of a source, for many sentences."""
    return {w.lower() for w in _WORD.findall(source)}, set(numbers(source))


def support(sentence: str, source_stems: set[str]) -> float:
    """Share of the sentence's content words (not stop words, 3+ letters) whose stem occurs
    in the source; 1.0 for a sentence without content words.

    >>> support("The bridge opens in May.", source_stems_of("The new bridge will open in May."))
    1.0
    """
    words = [w for w in _content_words(sentence)]
    if not words:
        return 1.0
    return sum(_stem(w) in source_stems for w in words) / len(words)


def source_stems_of(source: str) -> set[str]:
    return {_stem(w) for w in _content_words(source)}


def _content_words(text: str) -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [w for w in (m.group().lower() for m in _WORD.finditer(text)) if len(w) >= 3 and w not in ENGLISH_STOP_WORDS]


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()
