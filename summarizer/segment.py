"""Sentence segmentation with sentencex (rule-based, ~300 languages, abbreviations, numbers,
quotes; hundreds of times faster than pySBD on news text, with similar boundaries).

Lines are segmented one at a time, so a headline or a dialogue turn on its own line is
its own sentence, and the result is a list of ``[start, end)`` character spans into the
original text:

    >>> text = "Dr. Smith arrived at 9 a.m. on Monday. He left."
    >>> [text[s:e] for s, e in segment(text)]
    ['Dr. Smith arrived at 9 a.m. on Monday.', 'He left.']
"""

from __future__ import annotations

import re

# The characters of scripts written without spaces between words (kana, CJK ideographs and
# compatibility ideographs), each one a word for token estimates and extractive similarity.
# A regex character-class body: use it as f"[{CJK_CHARS}]". The ROUGE tokenizer
# (evaluation/tokens.py) has its own, Unicode-script definition, which the metric is fixed to.
CJK_CHARS = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_OR_PIECES = re.compile(rf"[{CJK_CHARS}]|[^\W\d_]+|\d+|[^\w\s]", re.UNICODE)

# Marks that end a sentence, as character-class bodies. The spaced ones (Latin, Arabic ؟,
# Devanagari ।) end it only before white space, since "4.5" and "U.S." go on; CJK text has no
# spaces, so its full stops and marks end a sentence wherever they stand.
_SPACED_SENTENCE_END = ".!?…؟।"
_CJK_SENTENCE_END = "。！？"
SENTENCE_END_CHARS = _SPACED_SENTENCE_END + _CJK_SENTENCE_END
# What may follow the mark and still belong to the sentence: closing quotes and brackets.
_CLOSERS = "'\"”’)\\]」』"
# Text that ends in a finished sentence: terminal punctuation, then only closing quotes/brackets.
ENDS_SENTENCE = re.compile(rf"[{SENTENCE_END_CHARS}][{_CLOSERS}]*$")
# A piece ending in a short capitalised word with a full stop ("Sat.", "Ltd.", "Sept."): maybe an abbreviation.
_ABBREVIATION_END = re.compile(r"(?:^|[\s(])[A-Z][a-z]{0,3}\.$")
# Segmenting bounded pieces keeps time and memory linear on files without line breaks.
_MAX_LINE_CHARS = 20_000


def detect_language(text: str) -> str:
    """The sentence splitter's language: 'zh' for CJK text (:func:`summarizer.language.detect`), else 'en'."""
    from .language import detect, is_cjk

    return "zh" if is_cjk(detect(text)) else "en"


def segment(text: str, language: str = "auto", max_sentence_chars: int = 1500) -> list[list[int]]:
    """Split ``text`` into sentences, returned as ``[start, end)`` spans without surrounding
    whitespace. Sentences longer than ``max_sentence_chars`` are split at whitespace."""
    if language == "auto":
        language = detect_language(text)
    spans: list[list[int]] = []
    for line in re.finditer(r"[^\n]+", text):
        if not line.group().strip():
            continue
        for piece_start, piece in _bounded_pieces(line.start(), line.group(), _MAX_LINE_CHARS):
            for start, end in _segment_line(piece, language):
                for s, e in _split_long(piece, start, end, max_sentence_chars):
                    spans.append([piece_start + s, piece_start + e])
    return spans


def _segment_line(line: str, language: str) -> list[tuple[int, int]]:
    from sentencex import segment as sentencex_segment

    pieces = sentencex_segment(language, line)
    out: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        stripped = piece.strip()
        if not stripped:
            continue
        start = line.find(stripped, cursor)
        if start < 0:  # the segmenter altered the text: keep the rest whole rather than lose it
            rest = line[cursor:].strip()
            if rest:
                start = line.index(rest, cursor)
                out.append((start, start + len(rest)))
            return out
        if out and _ABBREVIATION_END.search(line[out[-1][0]:out[-1][1]]) and stripped[0].islower():
            # "... the first Sat. | of June": the segmenter took an abbreviation it does not
            # know for a sentence end; a sentence does not start in lower case after one
            out[-1] = (out[-1][0], start + len(stripped))
        else:
            out.append((start, start + len(stripped)))
        cursor = start + len(stripped)
    return out


def _bounded_pieces(offset: int, text: str, limit: int):
    """Cut very long lines at whitespace so no piece is longer than ``limit``."""
    start = 0
    while len(text) - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        if cut <= start:
            cut = start + limit
        yield offset + start, text[start:cut]
        start = cut
    yield offset + start, text[start:]


def _split_long(text: str, start: int, end: int, limit: int):
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        if cut <= start:
            cut = start + limit
        piece_end = cut
        while text[piece_end - 1].isspace():  # a run of spaces: the piece must not end on one
            piece_end -= 1
        yield start, piece_end
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def estimate_tokens(text: str) -> int:
    """A model-free token count: word pieces, numbers and punctuation marks, one per CJK
    character (close to what subword tokenizers give for news text)."""
    return len(_CJK_OR_PIECES.findall(text))


# A sentence is finished at terminal punctuation followed by white space (not after a single
# capital or a title: "U.S. officials", "Mr. Smith"), at CJK punctuation, or at the end of a
# non-empty line (list items and headline-style lines often have no full stop).
_FINISHED_SENTENCE = re.compile(
    rf"(?<!\b[A-Z])(?<!\bM[rs])(?<!\bMrs)(?<!\bDr)(?<!\bSt)[{_SPACED_SENTENCE_END}]+[{_CLOSERS}]*(?=\s)"
    rf"|[{_CJK_SENTENCE_END}]+[{_CLOSERS}]*"
)


def finished_sentences(text: str) -> int:
    """How many sentences of ``text`` are complete (its last one may still be growing)."""
    lines = text.split("\n")
    count = 0
    for index, line in enumerate(lines):
        complete = index < len(lines) - 1
        count += len(_FINISHED_SENTENCE.findall(line + ("\n" if complete else "")))
        if complete and line.strip() and not ENDS_SENTENCE.search(line.strip()):
            count += 1
    return count


# A news agency's dateline opening an article: "(CNN)", "LONDON (Reuters) -", "Beijing (CNN)".
_DATELINE = re.compile(
    r"^(?:[A-Z][\w.'-]*(?:[ ,]+[A-Z][\w.'-]*){0,4}\s*)?\((?:CNN|AP|AFP|Reuters|UPI|PA|dpa)\)\s*(?:--|[-\u2013\u2014:])?\s*"
)
# ... or a place in capitals, maybe a date, then a dash: "PORT KESSEL, Nov. 3 - ", "LONDON — ".
_PLACE_DATELINE = re.compile(
    r"^[A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+){0,3}(?:, [\w. ]{1,20})?\s+(?:--|[-\u2013\u2014])\s+(?=[A-Z0-9\"\u201c])"
)


def strip_dateline(sentence: str) -> str:
    """The sentence without a leading dateline (which no summary repeats)."""
    stripped = _PLACE_DATELINE.sub("", _DATELINE.sub("", sentence, count=1), count=1)
    return stripped if stripped.strip() else sentence
