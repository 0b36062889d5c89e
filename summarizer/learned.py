"""The ``learned`` extract strategy: a trained model scores each sentence and picks the length.

    >>> from summarizer import Pipeline
    >>> pipe = Pipeline.load("extractive", overrides=["extract.strategy=learned", "extract.max_sentences=1"])
    >>> pipe("Rain flooded the town on Monday. Roads were closed. Schools stay shut until Friday.")
    'Rain flooded the town on Monday.'

The model (``extract.scorer``: ``"builtin"``, the one shipped in the package, or the path of a
file written by ``summarizer train-extractor``; see :mod:`summarizer.scorer`) gives every
candidate sentence the probability that it belongs in the summary, from the features of
:mod:`summarizer.features`; selection then works as for every strategy (score order within
``extract.budget_tokens``, redundancy control, document order). Its length head says how
many sentences this document gets; ``extract.max_sentences`` (``--sentences``) overrides it
when it is not 0.
"""

from __future__ import annotations

from .config import PipelineConfig
from .extract import STRATEGIES, ExtractSettings
from .records import Record
from .scorer import Scorer, digest


class Scores(list):
    """Salience scores with the number of sentences the strategy recommends for the document
    (``length``; extract_record uses it where ``extract.max_sentences`` is 0)."""

    def __init__(self, scores=(), length: int = 0):
        super().__init__(scores)
        self.length = length


@STRATEGIES.register("learned")
def learned(record: Record, candidates: list[int], cfg: ExtractSettings) -> Scores:
    model = Scorer.load(cfg.scorer)
    probabilities, features = model.probabilities(record, candidates)
    tokens = [record.sentence_tokens[i] for i in candidates]
    return Scores(probabilities.tolist(), model.sentences(probabilities, tokens, cfg.budget_tokens, features))


def scorer_digest(config: PipelineConfig) -> str | None:
    """The digest of the model file a pipeline's extract uses, or None when it uses none."""
    if config.extract.strategy != "learned":
        return None
    return digest(config.extract.scorer)
