"""Tokenization for ROUGE: rouge-score's own on English-like text, every language's words elsewhere.

    >>> RougeScoreTokenizer(use_stemmer=True).tokenize("The cats sat in the café.")
    ['the', 'cat', 'sat', 'in', 'the', 'caf']
    >>> UnicodeTokenizer(use_stemmer=True).tokenize("The cats sat in the café.")
    ['the', 'cat', 'sat', 'in', 'the', 'café']
    >>> UnicodeTokenizer().tokenize("北京欢迎你 iPhone")
    ['北', '京', '欢', '迎', '你', 'iphone']
    >>> choose_tokenization(["可穿戴技术十大设计原则"]).name
    'cjk'

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
(``tests/test_evaluation_tokens.py`` checks this). On English text with a few accented or
mojibake letters ("café", "Â£" in XSum) they are not: rouge-score's ``caf`` against ``café``
moved XSum's ROUGE-1 by 0.01. So published figures stay comparable, :func:`choose_tokenization`
picks, once per set of references (one report, so every system and document of a dataset is
tokenized alike):

- ``cjk`` when Chinese and Japanese characters are at least :data:`CJK_SHARE` of the
  references' letters (LCSTS: 98%): :class:`UnicodeTokenizer`, one token per character;
- ``rouge-score`` when at most :data:`NON_ASCII_SHARE` of the letters are non-ASCII:
  :class:`RougeScoreTokenizer`, token for token rouge-score's default tokenizer. Measured on
  the dev sets' references: CNN/DM 0.001%, XSum 0.005%, BBC, DialogSum and SciTLDR 0; a
  news paragraph in French 6.3%, Spanish 4.3%, German 1.5%, where rouge-score's tokenizer
  would cut words apart ("été" becomes "t");
- ``unicode`` otherwise (other scripts, accented languages): :class:`UnicodeTokenizer`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import regex
from rouge_score.tokenizers import Tokenizer

from ..errors import ConfigError

# The pattern, and the unstemmed words that lengths and n-gram rates count, live in .words,
# which imports neither rouge-score nor nltk (summarizer run measures its summaries with them).
from .words import TOKEN as _TOKEN
from .words import words  # noqa: F401  (re-exported: the tokens' public name)

# The standard library's engine: three times as fast as regex's on this pattern.
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}]")

TOKENIZATIONS = ("rouge-score", "unicode", "cjk")
CJK_SHARE = 0.25
NON_ASCII_SHARE = 0.01


def _stemmer(use_stemmer: bool):
    if not use_stemmer:
        return None
    from nltk.stem import porter

    # The same words recur across thousands of documents; stemming is the slow part.
    return lru_cache(maxsize=200_000)(porter.PorterStemmer().stem)


class RougeScoreTokenizer(Tokenizer):
    """rouge-score's default tokenizer (``rouge_score.tokenize.tokenize``), token for token:
    lowercase, runs of ``[a-z0-9]`` (everything else, accented letters too, separates), the
    Porter stemmer on tokens longer than three characters; with the stems cached."""

    def __init__(self, use_stemmer: bool = False):
        self.use_stemmer = use_stemmer
        self._stem = _stemmer(use_stemmer)

    def tokenize(self, text: str) -> list[str]:
        # rouge-score replaces [^a-z0-9]+ by a space and splits: the same runs as findall.
        tokens = _ASCII_TOKEN.findall(text.lower())
        if self._stem is None:
            return tokens
        stemmed = (self._stem(token) if len(token) > 3 else token for token in tokens)
        return [token for token in stemmed if _ASCII_TOKEN.fullmatch(token)]


class UnicodeTokenizer(Tokenizer):
    """A rouge-score tokenizer (pass it as ``RougeScorer(..., tokenizer=...)``) that keeps
    non-ASCII words and splits Chinese and Japanese text into characters."""

    def __init__(self, use_stemmer: bool = False):
        self.use_stemmer = use_stemmer
        self._stem = _stemmer(use_stemmer)

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


@lru_cache(maxsize=6)
def tokenizer(use_stemmer: bool = False, tokenization: str = "unicode") -> Tokenizer:
    """A shared tokenizer of ``tokenization`` (one of :data:`TOKENIZATIONS`), so that its stem
    cache is shared too."""
    if tokenization not in TOKENIZATIONS:
        raise ConfigError(f"tokenization {tokenization!r} is not one of {', '.join(TOKENIZATIONS)}; "
                          "give one of them (or 'auto' where a choice is made from the references).")
    if tokenization == "rouge-score":
        return RougeScoreTokenizer(use_stemmer)
    return UnicodeTokenizer(use_stemmer)


@dataclass
class Tokenization:
    """Which tokenization ROUGE uses for a set of references, and why."""

    name: str  # one of TOKENIZATIONS
    reason: str
    letters: int = 0  # letters in the references
    non_ascii_letters: int = 0
    cjk_characters: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "reason": self.reason, "letters": self.letters,
                "non_ascii_letters": self.non_ascii_letters, "cjk_characters": self.cjk_characters}


def choose_tokenization(references: Iterable[str], forced: str | None = None) -> Tokenization:
    """The tokenization for these references: by their letters (see the module's text), or
    ``forced`` (one of :data:`TOKENIZATIONS`; "auto" or None chooses)."""
    letters = non_ascii = cjk = 0
    for text in references:
        if text.isascii():
            letters += sum(c.isalpha() for c in text)
            continue
        alpha = [c for c in text if c.isalpha()]
        letters += len(alpha)
        non_ascii += sum(not c.isascii() for c in alpha)
        cjk += len(_CJK.findall(text))
    counts = {"letters": letters, "non_ascii_letters": non_ascii, "cjk_characters": cjk}
    shares = (f"{_percent(non_ascii, letters)} of the references' {letters:,} letters are non-ASCII, "
              f"{_percent(cjk, letters)} Chinese or Japanese")
    if forced not in (None, "auto"):
        if forced not in TOKENIZATIONS:
            raise ConfigError(f"tokenization {forced!r} is not one of auto, {', '.join(TOKENIZATIONS)}; "
                              "give one of them, or 'auto' to choose from the references' letters.")
        return Tokenization(forced, f"set by the user ({shares})", **counts)
    if letters and cjk >= CJK_SHARE * letters:
        return Tokenization("cjk", f"{shares} (at least {CJK_SHARE:.0%} Chinese or Japanese)", **counts)
    if non_ascii <= NON_ASCII_SHARE * letters:
        return Tokenization("rouge-score", f"{shares} (at most {NON_ASCII_SHARE:.0%} non-ASCII)", **counts)
    return Tokenization("unicode", f"{shares} (over {NON_ASCII_SHARE:.0%} non-ASCII, under {CJK_SHARE:.0%} "
                        "Chinese or Japanese)", **counts)


def _percent(part: int, whole: int) -> str:
    if not whole:
        return "0%"
    share = 100 * part / whole
    return f"{share:.3g}%" if share >= 0.01 or not part else "<0.01%"

