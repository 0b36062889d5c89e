"""The words that lengths and n-gram rates count: Unicode words, unstemmed, without rouge-score.

    >>> words("The cats sat on 2 mats. 北京")
    ['the', 'cats', 'sat', 'on', '2', 'mats', '北', '京']

Words are runs of Unicode letters, digits and combining marks after NFKC normalization,
lowercased; a Chinese character, a kana and the marks that go with them are one word each;
punctuation is none. :class:`summarizer.evaluation.tokens.UnicodeTokenizer` tokenizes with the
same pattern (and stems, for ROUGE on text that is not English-like); the counts are the same
whichever tokenization ROUGE uses, so lengths compare across datasets. This module imports
neither rouge-score nor nltk, so that
``summarizer run`` can measure its summaries (:mod:`summarizer.outputs`) without loading them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterator

import regex

# One token per character for scripts written without spaces between words; U+3005 (々)
# and U+30FC (ー) are "Common" script but only ever occur inside such text.
CJK_CLASS = r"\p{Han}\p{Hiragana}\p{Katakana}\u3005\u30fc"
TOKEN = regex.compile(
    rf"[{CJK_CLASS}]|[[\p{{L}}\p{{N}}\p{{M}}]--[{CJK_CLASS}]]+",
    regex.V1,
)

# The same words in ASCII text (no marks, no CJK; lowercased): the standard library's engine
# reads it three times as fast as the set operations of TOKEN.
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")


def words(text: str | None) -> list[str]:
    """The unstemmed, lowercased tokens of ``text``: words, numbers, and single
    Chinese/Japanese characters; no punctuation."""
    text = text or ""
    if text.isascii():
        return _ASCII_TOKEN.findall(text.lower())
    return TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


# Where a text may be cut without cutting a word: before a character that is in no word, or
# before a Chinese or Japanese character (a word of its own, which no other word runs into).
_CUT = regex.compile(rf"[^\p{{L}}\p{{N}}\p{{M}}]|[{CJK_CLASS}]", regex.V1)
BLOCK_CHARS = 1 << 20


def word_blocks(text: str | None, block_chars: int | None = None) -> Iterator[list[str]]:
    """:func:`words`, a block of about ``block_chars`` characters' words at a time: what a
    source of any size is scanned with, so that its words are never all held in one list (a
    50 MB document has millions) and each block is still read by the regular expression in
    one go. The blocks' words, one after another, are exactly ``words(text)``."""
    text = text or ""
    size = block_chars or BLOCK_CHARS
    start = 0
    while start < len(text):
        end = start + size
        if end < len(text):
            cut = _CUT.search(text, end)
            end = cut.start() if cut else len(text)
        yield words(text[start:end])
        start = end
