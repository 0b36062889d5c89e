"""Cheap faithfulness and shape measures of one summary against its source text.

    >>> m = measure("Lee said the bridge will cost 4.5 million crowns, opening in 2031.",
    ...             "The council of Elmsford approved a bridge. Dr. Ana Lee said it would cost 4.5 million crowns.")
    >>> m["numbers"], m["numbers_found"], m["entities"], m["entities_found"]
    (2, 1, 0, 0)

These are surface checks, not a judgement of truth:

- **numbers in source**: the share of the summary's numbers (digit strings such as ``4.5``,
  ``1,000``, ``9:30`` or ``2019``) that occur among the source's numbers. Numbers are read by
  :func:`summarizer.facts.numbers`, the post-filter's own definition, so a number the filter
  keeps as supported is never counted missing here ("4,500" = "4500"; "4,5" = "4.5").
  A number the source spells out ("five") counts as missing; words for numbers are not read.
- **entities in source**: the share of *named-entity-like spans* found in the source. A span
  is a run of capitalised words that does not start a sentence (the sentence's first word is
  skipped, as is "I"). This is a heuristic, not named-entity recognition: it misses entities
  at the start of a sentence and in lowercase or uncased scripts (Chinese has no capitals,
  so it gives nothing there), and takes capitalised non-entities ("Monday", titles) as
  entities. A span is found when it occurs in the source with the same spelling and case.
- **novel n-grams**: the share of the summary's distinct 1-, 2- and 3-grams (lowercased,
  unstemmed words) that never occur in the source. Abstractive summaries have more; a high
  rate is not an error in itself, but invented facts show up there.
- **words** and **compression**: summary length in words (ROUGE's tokens: a Chinese or
  Japanese character counts as one, punctuation as none) and source words / summary words.

A measure that has nothing to count (a summary without numbers, an empty summary, no source
text) is None, never 0, so it does not pull averages down.
"""

from __future__ import annotations

import re

from ..facts import numbers
from ..segment import segment
from .tokens import words

NGRAM_SIZES = (1, 2, 3)
_WORD = re.compile(r"\S+")
# Characters that may surround a word without being part of it.
_EDGE_PUNCT = "\"'“”‘’«»()[]{}<>.,;:!?…-–—*/"
_OPENING = "\"'“‘«([{"


def entity_spans(text: str) -> list[str]:
    """Runs of capitalised words that do not start a sentence (a heuristic, see above)."""
    spans: list[str] = []
    for start, end in segment(text):
        run: list[str] = []
        for position, match in enumerate(_WORD.finditer(text[start:end])):
            raw = match.group()
            word = raw.strip(_EDGE_PUNCT)
            possessive = re.search(r"['’]s$", word) is not None
            word = word[:-2] if possessive else word
            capitalised = bool(word) and word[0].isupper() and word != "I"
            # A sentence's first word, or one after an opening quote, is capitalised anyway.
            starts_clause = position == 0 or raw[0] in _OPENING
            if capitalised and not starts_clause:
                run.append(word)
            elif run:
                spans.append(" ".join(run))
                run = []
            # Punctuation after a word ends the span ("Paris, London" are two), and so does a
            # possessive ("the Prosecutor General's Office"); a full stop does not, since inside
            # a sentence it ends an abbreviation ("Mr. Joss Hale").
            if run and (possessive or raw[-1] in ",;:!?)]”\""):
                spans.append(" ".join(run))
                run = []
        if run:
            spans.append(" ".join(run))
    return spans


def _in_source(span: str, source: str) -> bool:
    # Spans lose the full stops of abbreviations ("Mr. Hale" -> "Mr Hale"): allow them back.
    pattern = r"(?<!\w)" + r"\.?\s+".join(re.escape(w) for w in span.split()) + r"(?!\w)"
    return re.search(pattern, source) is not None


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def measure(summary: str | None, source: str | None) -> dict[str, float | int | None]:
    """Every measure of one summary; keys are the ``per_document.csv`` columns."""
    summary = summary or ""
    summary_words = words(summary)
    out: dict[str, float | int | None] = {"summary_words": len(summary_words)}
    if source is None:
        out.update({"source_words": None, "compression": None, "numbers": None, "numbers_found": None,
                    "numbers_share": None, "entities": None, "entities_found": None, "entities_share": None})
        out.update({f"novel_{n}": None for n in NGRAM_SIZES})
        return out
    source_words = words(source)
    out["source_words"] = len(source_words)
    out["compression"] = len(source_words) / len(summary_words) if summary_words else None

    summary_numbers = numbers(summary)
    source_numbers = set(numbers(source))
    found = sum(n in source_numbers for n in summary_numbers)
    out["numbers"], out["numbers_found"] = len(summary_numbers), found
    out["numbers_share"] = found / len(summary_numbers) if summary_numbers else None

    spans = entity_spans(summary) if summary.strip() else []
    found = sum(_in_source(span, source) for span in spans)
    out["entities"], out["entities_found"] = len(spans), found
    out["entities_share"] = found / len(spans) if spans else None

    for n in NGRAM_SIZES:
        grams = ngrams(summary_words, n)
        out[f"novel_{n}"] = len(grams - ngrams(source_words, n)) / len(grams) if grams else None
    return out
