"""Extract stage: rank sentences by salience and keep the best within a token budget.

A strategy maps a chunked record to a ranking of sentence indices (best first);
:func:`select` then fills ``extract.budget_tokens`` (and ``extract.max_sentences``)
in ranking order and returns the chosen indices in document order, which is what the
prompt shows the model and what an extractive summary prints. Strategies register in
:data:`STRATEGIES` like stages do.
"""

from __future__ import annotations

from typing import Callable

from .config import ExtractConfig
from .records import Record
from .registry import Registry
from .stages import STAGES, Context, per_record

Strategy = Callable[[Record, ExtractConfig], list[int]]

STRATEGIES: Registry[Strategy] = Registry("extract strategy")


@STRATEGIES.register("lead")
def lead(record: Record, cfg: ExtractConfig) -> list[int]:
    """Document order: the opening sentences first (the classic news baseline)."""
    return list(range(len(record.sentences or [])))


def select(ranking: list[int], token_counts: list[int], budget: int, max_sentences: int) -> list[int]:
    """Take ranked sentences while they fit the budget; return them in document order.

    A sentence that does not fit is skipped (a later, shorter one may still fit), but the
    best sentence is always taken so that no document ends up with an empty extract.

    >>> select([0, 1, 2, 3], [5, 20, 5, 5], budget=12, max_sentences=0)
    [0, 2]
    """
    chosen: list[int] = []
    used = 0
    for i in ranking:
        if max_sentences and len(chosen) >= max_sentences:
            break
        if budget and chosen and used + token_counts[i] > budget:
            continue
        chosen.append(i)
        used += token_counts[i]
    return sorted(chosen)


def extract_record(record: Record, ctx: Context) -> dict:
    cfg = ctx.config.extract
    if record.sentences is None:
        raise ValueError("the record has no sentences: run the chunk stage first")
    ranking = STRATEGIES.get(cfg.strategy)(record, cfg)
    record.extract = select(ranking, record.sentence_tokens, cfg.budget_tokens, cfg.max_sentences)
    return {
        "strategy": cfg.strategy,
        "selected": len(record.extract),
        "tokens": sum(record.sentence_tokens[i] for i in record.extract),
    }


extract = STAGES.register("extract")(per_record("extract", extract_record))
