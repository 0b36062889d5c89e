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
from collections.abc import MutableSet
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
    # A word of the source itself has its stem among the source's: no stemmer needed for it.
    literal = source_stems.words if isinstance(source_stems, SourceStems) else ()
    return sum(w in literal or _stem(w) in source_stems for w in words) / len(words)


def source_stems_of(source: str) -> "SourceStems":
    return SourceStems(_content_words(source))


class SourceStems(MutableSet):
    """The set of the stems of a source's content words, stemmed on first use. Importing the
    stemmer (nltk) takes about a second of a one-document run, and :func:`support` needs no
    stems while every word it checks is one of the source's own words (what a summary
    copied): about half of the summaries of news articles. A set like any other otherwise
    (the rewrite stage adds a stem to it)."""

    def __init__(self, words):
        # words whose stems are all in the set, for support()'s shortcut
        self.words = frozenset(words)
        self._stems: set[str] | None = None
        self._added: set[str] = set()

    @property
    def stems(self) -> set[str]:
        if self._stems is None:
            self._stems = {_stem(w) for w in self.words} | self._added
        return self._stems

    def __contains__(self, stem) -> bool:
        return stem in self._added or stem in self.stems

    def __iter__(self):
        return iter(self.stems)

    def __len__(self) -> int:
        return len(self.stems)

    def add(self, stem) -> None:
        self._added.add(stem)
        if self._stems is not None:
            self._stems.add(stem)

    def discard(self, stem) -> None:
        self.stems.discard(stem)
        self._added.discard(stem)
        self.words = frozenset()  # a word's stem may be gone: no shortcut any more


def _content_words(text: str) -> list[str]:
    from .stopwords import english_stop_words  # scikit-learn's list, without importing scikit-learn

    stop_words = english_stop_words()
    return [w for w in (m.group().lower() for m in _WORD.finditer(text)) if len(w) >= 3 and w not in stop_words]


@lru_cache(maxsize=100_000)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()
