"""Sentence features of the learned extract strategy: what a sentence is, where it stands, and
what kind of document it stands in.

    >>> from summarizer.records import Record
    >>> r = Record(id="a", text="Rain hit Oslo.\\nOslo closed 3 roads.", sentences=[[0, 14], [15, 35]],
    ...            sentence_tokens=[4, 5])
    >>> x = sentence_features(r, [0, 1])
    >>> x.shape == (2, len(FEATURES)), float(x[0, FEATURES.index("rank_inverse")]), bool(x[1, FEATURES.index("numbers")])
    (True, 1.0, True)

One row per candidate sentence, one column per name in :data:`FEATURES`, numpy only (what
inference runs on). The sentence's own features (position, length, centrality, numbers,
names, quotes, the shape of a dialogue turn or a headline) say how likely it is to be in the
summary; the document's (how many sentences and words, whether it is a dialogue, how long its
sentences are, whether it is Chinese), repeated on every row, let one model learn that news,
dialogues and abstracts put their summary in different places.

Similarities are over the TF-IDF vectors of :func:`summarizer.extract.tfidf_vectors` and the
centrality is :func:`summarizer.extract._graph_centrality` on them: the same the ``centrality``
strategy computes. A model file names the features it was trained on, so new features can be
added here without breaking the files written before them (:mod:`summarizer.scorer`).
"""

from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

from .extract import _graph_centrality, is_headline, tfidf_vectors
from .records import Record
from .segment import CJK_CHARS

FEATURES = (
    # where the sentence stands among the candidates
    "rank_inverse", "rank_log", "rank_relative", "first", "line_start",
    # how long it is, also against the document's other sentences
    "tokens_log", "tokens_relative",
    # how much it shares with the rest: graph centrality, similarity to the whole, to the lead
    # and to the first sentence
    "centrality", "centrality_relative", "centroid_similarity", "lead_similarity", "first_similarity",
    # what it holds
    "numbers", "names", "quote", "question", "headline_shape", "ends_sentence",
    # dialogue: a speaker's turn, the first turn of its speaker, a turn of who opens the dialogue
    "turn", "speaker_first", "speaker_opener",
    # how often its words are in the summaries of the training documents (the model's lexicon)
    "lexicon_mean", "lexicon_max", "lexicon_positive", "lexicon_known",
    # the document it stands in (the same on every row)
    "doc_sentences_log", "doc_tokens_log", "doc_sentence_tokens_log", "doc_dialogue", "doc_headline", "doc_cjk",
    "doc_lines_share",
)

# The lead the similarity is measured to: the first lines of a document (its other ones, for
# a sentence among them).
LEAD_SENTENCES = 3
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_][^\W_]*")
_QUOTES = frozenset("\"“”„«»「」『』")
# "#Person1#: ...", "Anna: ...", "Dr. Lee: ...": a speaker's name, a colon, the turn.
_TURN = re.compile(r"^\s*(#[^#\s]{1,30}#|[A-Z][\w.'-]{0,20}(?: [A-Z][\w.'-]{0,20}){0,2})\s*[:：]\s")
# The lexicon's terms: lower-cased words, one per CJK character (as TF-IDF splits them).
_TERM = re.compile(rf"[{CJK_CHARS}]|[^\W_]+")
_END = re.compile(r"[.!?。！？…][\"'”’)\]」』]*$")
_CJK = re.compile(f"[{CJK_CHARS}]")


def terms(text: str) -> list[str]:
    """The words a lexicon weighs: lower-cased, one per CJK character."""
    return _TERM.findall(text.lower())


def sentence_features(record: Record, candidates: Sequence[int], lexicon: Mapping[str, float] | None = None):
    """The feature matrix (``len(candidates)`` x ``len(FEATURES)``, float64) of the candidate
    sentences ``candidates`` of a chunked record. ``lexicon`` maps a term to its weight (the
    log-odds that a document's summary has a term of its article, above the average term's);
    without one the lexicon columns are 0."""
    import numpy as np

    m = len(candidates)
    out = np.zeros((m, len(FEATURES)))
    if not m:
        return out
    texts = [record.sentence_text(i) for i in candidates]
    tokens = np.array([max(record.sentence_tokens[i], 1) for i in candidates], dtype=float)
    column = {name: out[:, j] for j, name in enumerate(FEATURES)}  # views: writing fills `out`

    rank = np.arange(m, dtype=float)
    column["rank_inverse"][:] = 1 / (1 + rank)
    column["rank_log"][:] = np.log1p(rank)
    column["rank_relative"][:] = rank / max(m - 1, 1)
    column["first"][0] = 1.0
    column["line_start"][:] = [_starts_line(record.text, record.sentences[i][0]) for i in candidates]

    column["tokens_log"][:] = np.log(tokens)
    column["tokens_relative"][:] = tokens / tokens.mean()

    vectors = tfidf_vectors(texts)
    central = np.asarray(_graph_centrality(vectors), dtype=float)
    column["centrality"][:] = central / (central.max() or 1.0)
    column["centrality_relative"][:] = central * m  # PageRank averages 1/m: 1 is an average sentence
    column["centroid_similarity"][:] = _similarity_to(vectors, np.asarray(vectors.sum(axis=0)).ravel())
    column["lead_similarity"][:] = _lead_similarity(vectors, min(LEAD_SENTENCES, m))
    column["first_similarity"][:] = _lead_similarity(vectors, 1)

    words = [_WORD.findall(text) for text in texts]
    column["numbers"][:] = [math.log1p(len(_NUMBER.findall(text))) for text in texts]
    # Capitalised words after the first: names, places, organisations (not in Chinese).
    column["names"][:] = [sum(w[0].isupper() for w in ws[1:]) / max(len(ws) - 1, 1) for ws in words]
    column["quote"][:] = [any(c in _QUOTES for c in text) for text in texts]
    column["question"][:] = [text.rstrip("\"'”’) ").endswith(("?", "？")) for text in texts]
    speakers = [(found.group(1) if (found := _TURN.match(text)) else None) for text in texts]
    turns = np.array([speaker is not None for speaker in speakers], dtype=float)
    column["turn"][:] = turns
    opener = next((speaker for speaker in speakers if speaker), None)
    seen: set[str] = set()
    for row, speaker in enumerate(speakers):
        if speaker is not None:
            column["speaker_first"][row] = speaker not in seen
            column["speaker_opener"][row] = speaker == opener
            seen.add(speaker)
    if lexicon:
        fill_lexicon(out, [set(terms(text)) for text in texts], lexicon)
    column["headline_shape"][:] = [_headline_shape(record, i) for i in candidates]
    column["ends_sentence"][:] = [bool(_END.search(text)) for text in texts]

    sample = record.text[:4000]
    letters = sum(c.isalpha() for c in sample) or 1
    column["doc_sentences_log"][:] = math.log1p(m)
    column["doc_tokens_log"][:] = math.log1p(tokens.sum())
    column["doc_sentence_tokens_log"][:] = math.log(tokens.mean())
    column["doc_dialogue"][:] = turns.mean()
    column["doc_headline"][:] = float(is_headline(record))
    column["doc_cjk"][:] = len(_CJK.findall(sample)) / letters
    column["doc_lines_share"][:] = np.mean(column["line_start"])
    return out


def fill_lexicon(features, term_sets: Sequence[set[str]], lexicon: Mapping[str, float]) -> None:
    """Write the lexicon columns of ``features`` (one row per sentence, its distinct terms in
    ``term_sets``) in place: training fills them again with each fold's own lexicon."""
    for name in _LEXICON_COLUMNS:
        features[:, FEATURES.index(name)] = 0.0
    for row, words in enumerate(term_sets):
        for name, value in zip(_LEXICON_COLUMNS, _lexicon_row(words, lexicon)):
            features[row, FEATURES.index(name)] = value


_LEXICON_COLUMNS = ("lexicon_mean", "lexicon_max", "lexicon_positive", "lexicon_known")


def _lexicon_row(words: set[str], lexicon: Mapping[str, float]) -> tuple[float, float, float, float]:
    """Mean and largest weight of a sentence's distinct terms (unknown ones weigh 0), the sum
    of the positive weights, and the share of its terms the lexicon knows."""
    if not words:
        return 0.0, 0.0, 0.0, 0.0
    weights = [lexicon.get(word, 0.0) for word in words]
    known = sum(word in lexicon for word in words)
    return sum(weights) / len(words), max(weights), sum(w for w in weights if w > 0), known / len(words)


def _starts_line(text: str, start: int) -> float:
    before = text[:start].rstrip(" \t")
    return float(not before or before.endswith("\n"))


def _headline_shape(record: Record, i: int) -> float:
    """A line of its own without a sentence's end: a headline, a title, a list item."""
    start, end = record.sentences[i]
    text = record.text
    whole_line = _starts_line(text, start) and (end == len(text) or text[end:].lstrip(" \t")[:1] in ("\n", ""))
    return float(whole_line and not _END.search(text[start:end]) and record.sentence_tokens[i] <= 30)


def _similarity_to(vectors, target):
    """Cosine similarity of each (L2-normalised) row to ``target``."""
    import numpy as np

    norm = np.linalg.norm(target)
    if not norm:
        return np.zeros(vectors.shape[0])
    return np.asarray(vectors @ (target / norm)).ravel()


def _lead_similarity(vectors, lead: int):
    """Cosine similarity of each row to the sum of the first ``lead`` rows, leaving a lead row
    itself out of the sum it is compared with (else the lead would only match itself)."""
    import numpy as np

    total = np.asarray(vectors[:lead].sum(axis=0)).ravel()
    dots = np.asarray(vectors @ total).ravel()
    self_norms = np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel() if hasattr(vectors, "multiply") else (
        (np.asarray(vectors) ** 2).sum(axis=1))
    total_sq = float(total @ total)
    in_lead = np.arange(vectors.shape[0]) < lead
    # |total - x|^2 = |total|^2 - 2 x.total + |x|^2 for a lead row; x.(total - x) = x.total - |x|^2
    dots = np.where(in_lead, dots - self_norms, dots)
    norms = np.sqrt(np.maximum(np.where(in_lead, total_sq - 2 * (dots + self_norms) + self_norms, total_sq), 0.0))
    return np.where(norms > 1e-12, dots / np.where(norms > 1e-12, norms, 1.0), 0.0)
