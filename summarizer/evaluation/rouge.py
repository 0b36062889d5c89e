"""ROUGE through rouge-score, with the settings published tables use.

    >>> scores = Rouge().score("The cat sat on the mat.", "A cat sat on a mat.")
    >>> round(scores["rouge1"].fmeasure, 2)
    66.67

The scoring is Google Research's ``rouge_score.rouge_scorer.RougeScorer`` (a Python
re-implementation of ROUGE-1.5.5, checked against it); nothing here recomputes ROUGE.
What this module fixes, so every system in a table gets the same settings:

- rouge1, rouge2, rougeL and rougeLsum; Porter stemming on;
- rougeLsum on one sentence per line on both sides (sentences from
  :func:`summarizer.segment.segment`): without the newlines rougeLsum is plain rougeL, which
  on CNN/DailyMail is about 9 points lower than the "ROUGE-L" papers report;
- the tokenization of :mod:`summarizer.evaluation.tokens`: ``"rouge-score"`` (its default
  tokenizer, token for token, so English figures equal published ones), ``"unicode"`` (words
  of every script, so that non-English text does not score 0) or ``"cjk"`` (one token per
  Chinese or Japanese character). ``summarizer eval`` chooses once per report from all the
  references (:func:`~summarizer.evaluation.tokens.choose_tokenization`); ``"auto"``, the
  default here, chooses per pair from its reference;
- precision, recall and F1 scaled by 100, as published tables print them.

``score(reference, prediction)`` takes the reference first, like rouge-score.
"""

from __future__ import annotations

from typing import NamedTuple

from ..segment import segment

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


class Score(NamedTuple):
    precision: float
    recall: float
    fmeasure: float


class Rouge:
    def __init__(self, use_stemmer: bool = True, tokenization: str = "auto"):
        # rouge_score and nltk (.tokens imports them at its top): only when ROUGE is scored
        from .tokens import choose_tokenization

        if tokenization != "auto":
            choose_tokenization([], tokenization)  # refuses an unknown name, with the choices
        self.use_stemmer = use_stemmer
        self.tokenization = tokenization
        self._scorers: dict[str, tuple] = {}

    def _pair(self, tokenization: str) -> tuple:
        if tokenization not in self._scorers:
            from rouge_score.rouge_scorer import RougeScorer

            from .tokens import tokenizer

            tok = tokenizer(self.use_stemmer, tokenization)
            # Two scorers: rougeLsum reads the sentence-per-line text, the others the text as
            # is (their tokens are the same either way, but that way no character can be lost).
            self._scorers[tokenization] = (RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=tok),
                                           RougeScorer(["rougeLsum"], tokenizer=tok))
        return self._scorers[tokenization]

    def score(self, reference: str | None, prediction: str | None) -> dict[str, Score]:
        """Scores (x100) of ``prediction`` against ``reference``; None counts as empty."""
        reference, prediction = reference or "", prediction or ""
        tokenization = self.tokenization
        if tokenization == "auto":
            from .tokens import choose_tokenization

            tokenization = choose_tokenization([reference]).name
        plain, lsum = self._pair(tokenization)
        result = dict(plain.score(reference, prediction))
        result.update(lsum.score(sentence_lines(reference), sentence_lines(prediction)))
        return {t: Score(*(100 * v for v in result[t])) for t in ROUGE_TYPES}


def sentence_lines(text: str) -> str:
    """One sentence per line, the input rougeLsum expects."""
    return "\n".join(text[start:end] for start, end in segment(text))
