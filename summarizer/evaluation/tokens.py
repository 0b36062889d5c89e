"""Tokenization for ROUGE that keeps every language's words.

    >>> UnicodeTokenizer(use_stemmer=True).tokenize("The cats sat on 2 mats.")
    ['the', 'cat', 'sat', 'on', '2', 'mat']
    >>> UnicodeTokenizer().tokenize("北京欢迎你 iPhone")
    ['北', '京', '欢', '迎', '你', 'iphone']

rouge-score's default tokenizer (``rouge_score.tokenize.tokenize``, after Chin-Yew Lin's
ROUGE-1.5.5) lowercases, replaces everything outside ``[a-z0-9]`` by a space and stems
tokens longer than three characters with NLTK's Porter stemmer. Everything that is not
ASCII is dropped, so Chinese, Hindi or even "café" lose their letters and non-English
text scores 0. :class:`UnicodeTokenizer` differs only outside ASCII:

- words are runs of Unicode letters, digits and combining marks (so Devanagari vowel signs
  stay inside their word), after NFKC normalization (full-width ``ＡＢ１２`` becomes ``AB12``);
- Chinese characters, kana and the marks that go with them are one token each
  (character-level ROUGE, the convention for LCSTS); Hangul words stay whole;
- the Porter stemmer is applied exactly as rouge-score applies it, and only to ASCII
  tokens: it is an English stemmer.

On pure-ASCII text the tokens are identical to rouge-score's, so the scores are too
(``tests/test_evaluation_tokens.py`` checks this).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import regex
from rouge_score.tokenizers import Tokenizer

# The pattern, and the unstemmed words that lengths and n-gram rates count, live in .words,
# which imports neither rouge-score nor nltk (summarizer run measures its summaries with them).
from .words import TOKEN as _TOKEN
from .words import words  # noqa: F401  (re-exported: the tokens' public name)

_ASCII_TOKEN = regex.compile(r"[a-z0-9]+")


class UnicodeTokenizer(Tokenizer):
    """A rouge-score tokenizer (pass it as ``RougeScorer(..., tokenizer=...)``) that keeps
    non-ASCII words and splits Chinese and Japanese text into characters."""

    def __init__(self, use_stemmer: bool = False):
        self.use_stemmer = use_stemmer
        if use_stemmer:
            from nltk.stem import porter

            stemmer = porter.PorterStemmer()
            # The same words recur across thousands of documents; stemming is the slow part.
            self._stem = lru_cache(maxsize=200_000)(stemmer.stem)
        else:
            self._stem = None

    def tokenize(self, text: str) -> list[str]:
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        tokens = _TOKEN.findall(text.lower())
        if self._stem is None:
            return tokens
        out = []
        for token in tokens:
            if _ASCII_TOKEN.fullmatch(token):
                # rouge-score: "Only stem words more than 3 characters long", then drop any
                # token that is no longer [a-z0-9]+.
                if len(token) > 3:
                    token = self._stem(token)
                if not _ASCII_TOKEN.fullmatch(token):
                    continue
            out.append(token)
        return out


@lru_cache(maxsize=2)
def tokenizer(use_stemmer: bool = False) -> UnicodeTokenizer:
    """A shared tokenizer, so its stem cache is shared too."""
    return UnicodeTokenizer(use_stemmer)

