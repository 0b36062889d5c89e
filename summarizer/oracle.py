"""Oracle labels: the sentences whose extract scores best against a reference summary.

    >>> oracle(["The dam burst on Monday.", "Lunch was served.", "Three towns were flooded."],
    ...        "The dam burst and flooded three towns.")
    [0, 2]

The greedy oracle of extractive summarization (Nallapati et al., SummaRuNNer, 2017; the
labels BertSumExt trains on): start with nothing, add the sentence that raises ROUGE-1 F +
ROUGE-2 F of the extract against the reference the most, and stop when no sentence raises it
or ``max_sentences`` are taken. The learned extract strategy (:mod:`summarizer.learned`) is
trained to predict these labels.

The tokens are ROUGE's own (:mod:`summarizer.evaluation.tokens`: rouge-score's tokenizer on
English-like text, one token per character on Chinese, stemmed), so the labels follow what
the evaluation rewards. ROUGE is counted here directly from n-gram counts, not through
rouge-score: a document of 40 sentences asks for a few hundred candidate scores, and each
is a sum over one sentence's n-grams. One approximation: the bigrams of an extract are those
inside its sentences (a bigram across the join of two sentences is not counted).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

ORDERS = (1, 2)
DEFAULT_MAX_SENTENCES = 5


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """Counts of the ``n``-grams of ``tokens``.

    >>> sorted(ngrams(["a", "b", "a", "b"], 2).items())
    [(('a', 'b'), 2), (('b', 'a'), 1)]
    """
    if n == 1:
        return Counter(tokens)
    return Counter(zip(*(tokens[i:] for i in range(n))))


def f_measure(overlap: int, predicted: int, reference: int) -> float:
    """F1 of ``overlap`` matched n-grams out of ``predicted`` and ``reference`` ones (0 when
    either side is empty), as rouge-score computes it."""
    if not overlap or not predicted or not reference:
        return 0.0
    precision, recall = overlap / predicted, overlap / reference
    return 2 * precision * recall / (precision + recall)


class Grams:
    """The n-gram counts of one text (a sentence, a reference), with their totals."""

    __slots__ = ("counts", "sizes")

    def __init__(self, tokens: Sequence[str]):
        self.counts = {n: ngrams(tokens, n) for n in ORDERS}
        self.sizes = {n: sum(c.values()) for n, c in self.counts.items()}


class Extract:
    """A growing extract scored against one reference: its n-gram counts, how many of them
    the reference matches, and the score of adding one more sentence (without adding it)."""

    def __init__(self, reference: Grams):
        self.reference = reference
        self.counts = {n: Counter() for n in ORDERS}
        self.overlap = {n: 0 for n in ORDERS}
        self.size = {n: 0 for n in ORDERS}

    def _gain(self, sentence: Grams, n: int) -> int:
        ref, have = self.reference.counts[n], self.counts[n]
        return sum(min(have[g] + k, ref[g]) - min(have[g], ref[g]) for g, k in sentence.counts[n].items() if g in ref)

    def score_with(self, sentence: Grams) -> float:
        """ROUGE-1 F + ROUGE-2 F (0..2) of the extract with ``sentence`` added."""
        return sum(f_measure(self.overlap[n] + self._gain(sentence, n), self.size[n] + sentence.sizes[n],
                             self.reference.sizes[n]) for n in ORDERS)

    def score(self) -> float:
        return sum(f_measure(self.overlap[n], self.size[n], self.reference.sizes[n]) for n in ORDERS)

    def add(self, sentence: Grams) -> None:
        for n in ORDERS:
            self.overlap[n] += self._gain(sentence, n)
            self.counts[n].update(sentence.counts[n])
            self.size[n] += sentence.sizes[n]


def greedy_oracle(sentence_tokens: Sequence[Sequence[str]], reference_tokens: Sequence[str],
                  max_sentences: int = DEFAULT_MAX_SENTENCES) -> list[int]:
    """The greedy oracle over sentences already tokenized; indices in document order."""
    if not reference_tokens:
        return []
    reference = Grams(reference_tokens)
    sentences = [Grams(tokens) for tokens in sentence_tokens]
    extract = Extract(reference)
    chosen: list[int] = []
    best = 0.0
    while len(chosen) < max_sentences:
        # Ties go to the earlier sentence: the lead is the safer guess.
        scored = [(extract.score_with(s), -i) for i, s in enumerate(sentences) if i not in chosen]
        if not scored:
            break
        value, negative = max(scored)
        if value <= best + 1e-12:
            break
        chosen.append(-negative)
        extract.add(sentences[-negative])
        best = value
    return sorted(chosen)


def rouge_tokenizer(reference: str, tokenization: str = "auto"):
    """ROUGE's stemmed tokenizer for this reference (``auto``: chosen from its letters, as
    :func:`summarizer.evaluation.tokens.choose_tokenization` chooses for a report)."""
    from .evaluation.tokens import choose_tokenization, tokenizer

    name = choose_tokenization([reference], None if tokenization == "auto" else tokenization).name
    return tokenizer(True, name)


def oracle(sentences: Sequence[str], reference: str, max_sentences: int = DEFAULT_MAX_SENTENCES,
           tokenization: str = "auto") -> list[int]:
    """The greedy ROUGE oracle of ``sentences`` against ``reference`` (see the module's text)."""
    tok = rouge_tokenizer(reference, tokenization)
    return greedy_oracle([tok.tokenize(s) for s in sentences], tok.tokenize(reference), max_sentences)


def extract_score(sentence_tokens: Sequence[Sequence[str]], chosen: Sequence[int],
                  reference_tokens: Sequence[str]) -> float:
    """ROUGE-1 F + ROUGE-2 F (0..2) of the extract ``chosen``: what the selection length is
    tuned on in training, counted the oracle's way."""
    extract = Extract(Grams(reference_tokens))
    for i in chosen:
        extract.add(Grams(sentence_tokens[i]))
    return extract.score()
