"""Surface fact checks of a sentence against its source: numbers and name-like words.

A small model invents details: a county, a date, a percentage. These checks find the
numbers and capitalised words of a generated sentence that its source does not contain.

    >>> unsupported("Prices rose 15 percent in Lindenvale, Kent.", "Bread prices in Lindenvale rose by 15%.")
    ['Kent']

Numbers are compared as digit strings with separators removed (``1,000`` = ``1000``);
a capitalised word is supported when the source contains the word in any case. The first
word of a sentence is not checked: its capital says nothing about it being a name. Text
without case (Chinese) is checked for numbers only.
"""

from __future__ import annotations

import re
from functools import lru_cache

_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def numbers(text: str) -> set[str]:
    return {re.sub(r"[,]", "", n).rstrip(".") for n in _NUMBER.findall(text)}


def unsupported(sentence: str, source: str, source_words: set[str] | None = None,
                source_numbers: set[str] | None = None) -> list[str]:
    """The numbers and capitalised words of ``sentence`` that ``source`` does not contain."""
    if source_words is None:
        source_words = {w.lower() for w in _WORD.findall(source)}
    if source_numbers is None:
        source_numbers = numbers(source)
    missing = [n for n in sorted(numbers(sentence)) if n not in source_numbers]
    for position, match in enumerate(_WORD.finditer(sentence)):
        word = match.group()
        if position == 0 or not word[0].isupper() or word.lower() in source_words:
            continue
        missing.append(word)
    return missing


def source_index(source: str) -> tuple[set[str], set[str]]:
    """Precomputed word and number sets of a source, for many sentences."""
    return {w.lower() for w in _WORD.findall(source)}, numbers(source)


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
