"""Training examples of the learned extractor: (article, summary) pairs -> features and labels.

    >>> from summarizer.config import load_pipeline
    >>> from summarizer.records import Record
    >>> pair = Record(id="a", text="Rain hit Oslo. Cats slept. Oslo closed roads.", reference="Rain closed Oslo roads.")
    >>> [example] = prepare([pair], load_pipeline("extractive"))
    >>> example.oracle, example.features.shape[0]
    ([0, 2], 3)

Each pair runs through the pipeline's chunk stage and candidate rules (the sentences the
extract stage may select, so the model is trained on what it will be asked about). An
:class:`Example` keeps the candidates' features (:mod:`summarizer.features`), their ROUGE
tokens, and two labels: the greedy oracle (:mod:`summarizer.oracle`) and each sentence's own
ROUGE-1 + ROUGE-2 F against the reference, relative to the document's best (a sentence
close to the oracle's but not in it still counts for something).

The lexicon (:func:`learn_lexicon`) weighs every term by how much more often the summaries
keep it than they keep the average term of their article. In training, an example's lexicon
features come from a lexicon learned without its own fold (:func:`cross_fit_lexicon`):
learned with it, they would give its own summary away.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from .config import PipelineConfig
from .extract import candidates
from .features import fill_lexicon, sentence_features, terms
from .oracle import DEFAULT_MAX_SENTENCES, Extract, Grams, greedy_oracle, rouge_tokenizer
from .records import Record
from .stages import Context, run_chain

log = logging.getLogger("summarizer")


@dataclass
class Example:
    id: str
    group: str  # where the pair came from (its file): groups weigh alike in training
    features: Any  # candidates x FEATURES
    texts: list[str]
    tokens: list[int]  # the pipeline's token counts (what the budget counts)
    rouge_tokens: list[list[str]]
    reference_tokens: list[str]
    term_sets: list[set[str]]
    reference_terms: set[str]
    oracle: list[int]
    gains: Any  # each sentence's own ROUGE-1 + ROUGE-2 F, relative to the document's best

    def target(self, oracle_share: float):
        """The training target of each sentence: ``oracle_share`` of the oracle label, the
        rest of its own relative score."""
        import numpy as np

        label = np.zeros(len(self.texts))
        label[self.oracle] = 1.0
        return oracle_share * label + (1 - oracle_share) * self.gains


def prepare(records: Iterable[Record], config: PipelineConfig, max_oracle: int = DEFAULT_MAX_SENTENCES,
            progress=None) -> Iterator[Example]:
    """The examples of the pairs among ``records`` (those with a reference and some text; the
    others are left out, with a log line). ``progress`` is called once per record read."""
    ctx = Context(config)
    for record in run_chain(["chunk"], _pairs_only(records), ctx):
        if progress is not None:
            progress()
        if record.error is not None:
            log.info("train-extractor: pair %s left out: %s", record.id, record.error)
            continue
        example = make_example(record, config, max_oracle)
        if example is not None:
            yield example


def _pairs_only(records: Iterable[Record]) -> Iterator[Record]:
    for record in records:
        if not (record.reference or "").strip():
            log.info("train-extractor: pair %s left out: it has no reference summary", record.id)
            continue
        yield record


def make_example(record: Record, config: PipelineConfig, max_oracle: int = DEFAULT_MAX_SENTENCES) -> Example | None:
    """The example of one chunked record with a reference (None without candidates)."""
    import numpy as np

    pool = candidates(record, config.extract)
    if not pool:
        return None
    texts = [record.sentence_text(i) for i in pool]
    tokenizer = rouge_tokenizer(record.reference)
    rouge_tokens = [tokenizer.tokenize(text) for text in texts]
    reference_tokens = tokenizer.tokenize(record.reference)
    reference = Grams(reference_tokens)
    own = []
    for tokens in rouge_tokens:
        alone = Extract(reference)
        alone.add(Grams(tokens))
        own.append(alone.score())
    own = np.asarray(own)
    return Example(
        id=record.id, group=str(record.meta.get("source", "")), features=sentence_features(record, pool),
        texts=texts, tokens=[record.sentence_tokens[i] for i in pool], rouge_tokens=rouge_tokens,
        reference_tokens=reference_tokens, term_sets=[set(terms(text)) for text in texts],
        reference_terms=set(terms(record.reference)),
        oracle=greedy_oracle(rouge_tokens, reference_tokens, max_oracle) if reference_tokens else [],
        gains=own / own.max() if own.max() > 0 else own,
    )


def learn_lexicon(examples: Sequence[Example], min_documents: int = 3, smoothing: float = 2.0) -> dict[str, float]:
    """Term -> log-odds that a summary keeps the term when its article has it, less the
    log-odds of the average term; terms in fewer than ``min_documents`` articles are left out
    (what they would say is noise). ``smoothing`` pseudo-documents at the average rate."""
    seen, kept = Counter(), Counter()
    for example in examples:
        article = set().union(*example.term_sets)
        seen.update(article)
        kept.update(article & example.reference_terms)
    total = sum(seen.values())
    if not total:
        return {}
    rate = min(max(sum(kept.values()) / total, 1e-6), 1 - 1e-6)
    base = math.log(rate / (1 - rate))
    return {term: math.log((kept[term] + smoothing * rate) / (n - kept[term] + smoothing * (1 - rate))) - base
            for term, n in seen.items() if n >= min_documents}


def assign_folds(examples: Sequence[Example], folds: int, seed: int) -> list[int]:
    """A fold for each example, seeded, each group spread evenly over the folds."""
    import numpy as np

    rng = np.random.default_rng(seed)
    fold_of = [0] * len(examples)
    by_group: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        by_group.setdefault(example.group, []).append(i)
    offset = 0
    for group in sorted(by_group):
        for rank, i in enumerate(rng.permutation(by_group[group])):
            fold_of[int(i)] = (offset + rank) % folds
        offset += len(by_group[group])
    return fold_of


def cross_fit_lexicon(examples: Sequence[Example], fold_of: Sequence[int], folds: int, min_documents: int) -> None:
    """Fill every example's lexicon features from a lexicon learned on the other folds."""
    for fold in range(folds):
        lexicon = learn_lexicon([e for e, f in zip(examples, fold_of) if f != fold], min_documents)
        for example, f in zip(examples, fold_of):
            if f == fold:
                fill_lexicon(example.features, example.term_sets, lexicon)
