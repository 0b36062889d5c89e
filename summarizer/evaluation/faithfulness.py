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

What the model did, against copying sentences (a pipeline whose model rewrites the extract can
keep the extract's sentences unchanged, wholly or in part, and its ROUGE then says nothing of
the model):

- **sentences**, **verbatim sentences** and **verbatim share**: the summary's sentences
  (:func:`summarizer.segment.segment`), how many of them occur in the source as they are, and
  that share. Sentences are compared with white space collapsed and case folded, without
  surrounding quotes or a final full stop; a summary sentence that is part of a source
  sentence counts as verbatim (cutting a sentence short is copying too), but not a part of a
  word ("Yes." is not in "yesterday"). An extractive summary has a share of 1.
- **repeated sentences**: summary sentences that repeat an earlier one of the same summary
  (compared the same way): a model stuck in a loop.
- **extract words** and **extract ratio**: the length of the extract the model was given (the
  record's extracted sentences, :func:`record_extract`) and summary words / extract words;
  below 1 the model shortened, near 1 it copied or paraphrased, above 1 it added.

Name precision is **entities in source** (per span) and number precision **numbers in source**,
above. :func:`model_summary` aggregates the copy measures over documents, for the reports and
for a run's ``.summarizer-run`` file (:mod:`summarizer.outputs`).

A measure that has nothing to count (a summary without numbers, an empty summary, no source
text, no extract) is None, never 0, so it does not pull averages down.
"""

from __future__ import annotations

import re
import statistics
from typing import Any, Iterable, Mapping

from ..facts import numbers
from ..segment import CJK_CHARS, segment
from .words import word_blocks, words

NGRAM_SIZES = (1, 2, 3)
_WORD = re.compile(r"\S+")
# Characters that may surround a word without being part of it.
_EDGE_PUNCT = "\"'“”‘’«»()[]{}<>.,;:!?…-–—*/"
_OPENING = "\"'“‘«([{"
_SPACES = re.compile(r"\s+")
# Quotes that may surround a sentence that is copied all the same.
_QUOTES = "\"'“”‘’«»「」『』"
# A letter or digit of a script written with spaces: a copied sentence must not start or end
# inside one of its words. Chinese and Japanese have no such boundaries to respect.
_WORD_CHAR = re.compile(rf"[^\W_{CJK_CHARS}]")


def entity_spans(text: str) -> list[str]:
    """Runs of capitalised words that do not start a sentence (a heuristic, see above)."""
    spans: list[str] = []
    for start, end in segment(text):
        run: list[str] = []
        for position, (raw, word, capitalised, ends_span) in enumerate(_name_words(text[start:end])):
            # A sentence's first word, or one after an opening quote, is capitalised anyway.
            starts_clause = position == 0 or raw[0] in _OPENING
            if capitalised and not starts_clause:
                run.append(word)
            elif run:
                spans.append(" ".join(run))
                run = []
            if run and ends_span:
                spans.append(" ".join(run))
                run = []
        if run:
            spans.append(" ".join(run))
    return spans


def _name_words(sentence: str):
    """Each word of a sentence as (raw, word, capitalised, ends_span): the word without edge
    punctuation or a possessive "'s"; punctuation after a word ends a span ("Paris, London"
    are two), and so does a possessive ("the Prosecutor General's Office"); a full stop does
    not, since inside a sentence it ends an abbreviation ("Mr. Joss Hale")."""
    for match in _WORD.finditer(sentence):
        raw = match.group()
        word = raw.strip(_EDGE_PUNCT)
        possessive = re.search(r"['’]s$", word) is not None
        word = word[:-2] if possessive else word
        capitalised = bool(word) and word[0].isupper() and word != "I"
        yield raw, word, capitalised, possessive or raw[-1] in ",;:!?)]”\""


def leading_span(sentence: str) -> str | None:
    """The run of capitalised words one sentence starts with, its first word included, when
    it has two words or more ("Alan Gill, 46, took ..." -> "Alan Gill"); None otherwise.
    :func:`entity_spans` leaves a sentence's first word out, as every sentence's first word is
    capitalised, so a name put together at the start of a sentence escapes it; whether the
    first word is a name is the caller's to judge (the filter asks the source)."""
    run: list[str] = []
    for raw, word, capitalised, ends_span in _name_words(sentence):
        if not capitalised or (run and raw[0] in _OPENING):
            break
        run.append(word)
        if ends_span:
            break
    return " ".join(run) if len(run) > 1 else None


def span_in_source(span: str, source: str) -> bool:
    """Whether a span of :func:`entity_spans` occurs in ``source`` (same spelling and case)."""
    # Spans lose the full stops of abbreviations ("Mr. Hale" -> "Mr Hale"): allow them back.
    pattern = r"(?<!\w)" + r"\.?\s+".join(re.escape(w) for w in span.split()) + r"(?!\w)"
    return re.search(pattern, source) is not None


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def _stripped(sentence: str) -> str:
    text = _SPACES.sub(" ", sentence).strip().strip(_QUOTES + " ")
    if text.endswith("."):
        text = text[:-1].rstrip(_QUOTES + " ")
    return text


def sentence_key(sentence: str) -> str:
    """A sentence as repeats are compared: white space collapsed, case folded, without
    surrounding quotes or a final full stop."""
    return _stripped(sentence).casefold()


def occurs(sentence: str, source: str) -> bool:
    """Whether ``sentence`` occurs in ``source`` as it is (white space, case, surrounding
    quotes and a final full stop aside), not starting or ending inside a word. A regular
    expression on the source as it is: no normalized copy of a source of any size."""
    text = _stripped(sentence)
    if not text:
        return False
    before = rf"(?<!{_WORD_CHAR.pattern})" if _WORD_CHAR.match(text[0]) else ""
    after = rf"(?!{_WORD_CHAR.pattern})" if _WORD_CHAR.match(text[-1]) else ""
    pattern = before + r"\s+".join(map(re.escape, text.split(" "))) + after
    return re.search(pattern, source, re.IGNORECASE) is not None


def record_extract(record: Mapping[str, Any]) -> str | None:
    """The extract a record's summary was made from, as
    :meth:`summarizer.records.Record.extract_text` has it (the extracted sentences joined by a
    space), from the record's JSON object; None when the record has no extract, or its
    ``sentences`` and ``extract`` do not fit its text (a hand-made or foreign record)."""
    text, spans, chosen = record.get("text"), record.get("sentences"), record.get("extract")
    if not isinstance(text, str) or not isinstance(spans, list) or not isinstance(chosen, list):
        return None
    parts = []
    for i in chosen:
        if not _is_int(i) or not 0 <= i < len(spans):
            return None
        span = spans[i]
        if not (isinstance(span, list) and len(span) == 2 and all(map(_is_int, span))
                and 0 <= span[0] <= span[1] <= len(text)):
            return None
        parts.append(text[span[0]:span[1]])
    return " ".join(parts)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _source_ngrams(summary_words: list[str], source: str) -> tuple[int, dict[int, float | None]]:
    """The source's word count and the share of the summary's distinct n-grams absent from
    it, reading the source a block of words at a time (memory: a block and the summary's n-grams)."""
    assert NGRAM_SIZES == (1, 2, 3)  # the scan below keeps the two words before each word
    grams = {n: ngrams(summary_words, n) for n in NGRAM_SIZES}
    unigrams, bigrams, trigrams = (set(grams[n]) for n in NGRAM_SIZES)
    vocabulary = {word for (word,) in unigrams}
    count = 0
    before = before_that = None
    for block in word_blocks(source):
        count += len(block)
        if not (unigrams or bigrams or trigrams):
            continue  # every n-gram found: only counting now
        for word in block:
            if word in vocabulary:  # else no summary n-gram ends here
                unigrams.discard((word,))
                bigrams.discard((before, word))
                trigrams.discard((before_that, before, word))
            before_that, before = before, word
    missing = dict(zip(NGRAM_SIZES, (unigrams, bigrams, trigrams)))
    return count, {n: len(missing[n]) / len(grams[n]) if grams[n] else None for n in NGRAM_SIZES}


def _copies(summary: str, source: str | None) -> dict[str, int | float | None]:
    sentences = [summary[start:end] for start, end in segment(summary)] if summary.strip() else []
    if not sentences:
        return {"sentences": None, "verbatim_sentences": None, "verbatim_share": None, "repeated_sentences": None}
    keys = [sentence_key(sentence) for sentence in sentences]
    seen: set[str] = set()
    repeated = 0
    for key in keys:
        repeated += key in seen
        seen.add(key)
    verbatim = None if source is None else sum(occurs(sentence, source) for sentence in sentences)
    return {"sentences": len(sentences), "verbatim_sentences": verbatim,
            "verbatim_share": None if verbatim is None else verbatim / len(sentences),
            "repeated_sentences": repeated}


def measure(summary: str | None, source: str | None, extract: str | None = None) -> dict[str, float | int | None]:
    """Every measure of one summary against its ``source`` and, when given, the ``extract``
    (the extracted text the model was given); keys are the ``per_document.csv`` columns."""
    summary = summary or ""
    summary_words = words(summary)
    out: dict[str, float | int | None] = {"summary_words": len(summary_words)}
    if source is None:
        out.update({"source_words": None, "compression": None, "numbers": None, "numbers_found": None,
                    "numbers_share": None, "entities": None, "entities_found": None, "entities_share": None})
        out.update({f"novel_{n}": None for n in NGRAM_SIZES})
    else:
        source_words, novel = _source_ngrams(summary_words, source)
        out["source_words"] = source_words
        out["compression"] = source_words / len(summary_words) if summary_words else None

        summary_numbers = numbers(summary)
        source_numbers = set(numbers(source))
        found = sum(n in source_numbers for n in summary_numbers)
        out["numbers"], out["numbers_found"] = len(summary_numbers), found
        out["numbers_share"] = found / len(summary_numbers) if summary_numbers else None

        spans = entity_spans(summary) if summary.strip() else []
        found = sum(span_in_source(span, source) for span in spans)
        out["entities"], out["entities_found"] = len(spans), found
        out["entities_share"] = found / len(spans) if spans else None

        out.update({f"novel_{n}": novel[n] for n in NGRAM_SIZES})
    out.update(_copies(summary, source))
    extract_words = None if extract is None else len(words(extract))
    out["extract_words"] = extract_words
    out["extract_ratio"] = len(summary_words) / extract_words if extract_words and summary_words else None
    return out


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def model_summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What the model did over documents, from their :func:`measure` rows: ``documents``
    (summaries with a sentence), ``sentences`` (in all) and ``sentences_per_summary``;
    ``verbatim_share`` (the mean of the documents' shares) and ``sentences_verbatim`` (verbatim
    sentences of all / sentences of all), both over the ``documents_with_source``;
    ``repeated_sentences`` (in all) and ``documents_with_repeats``; ``extract_ratio`` (the mean
    of summary words / extract words) over ``documents_with_extract``."""
    rows = [row for row in rows if row.get("sentences") is not None]
    known = [row for row in rows if row.get("verbatim_sentences") is not None]
    known_sentences = sum(row["sentences"] for row in known)
    ratios = [row.get("extract_ratio") for row in rows if row.get("extract_ratio") is not None]
    return {
        "documents": len(rows),
        "sentences": sum(row["sentences"] for row in rows),
        "sentences_per_summary": _mean(row["sentences"] for row in rows),
        "verbatim_share": _mean(row.get("verbatim_share") for row in known),
        "sentences_verbatim": (sum(row["verbatim_sentences"] for row in known) / known_sentences
                               if known_sentences else None),
        "documents_with_source": len(known),
        "repeated_sentences": sum(row.get("repeated_sentences") or 0 for row in rows),
        "documents_with_repeats": sum(bool(row.get("repeated_sentences")) for row in rows),
        "extract_ratio": _mean(ratios),
        "documents_with_extract": len(ratios),
    }
