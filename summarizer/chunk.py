"""Chunk stage: sentences, their token counts, and token-bounded chunks.

Sentences come from :func:`summarizer.segment.segment`; token counts from the pipeline
model's tokenizer (or a model-free estimate, ``chunk.tokenizer = "words"``). Consecutive
sentences are packed into chunks of at most ``chunk.max_chunk_tokens`` tokens, so a
document of any length can be processed piece by piece without cutting a sentence.
"""

from __future__ import annotations

import re

from .records import Record
from .segment import segment
from .stages import STAGES, Context, per_record


def pack_chunks(token_counts: list[int], max_tokens: int) -> list[list[int]]:
    """Greedy packing of consecutive sentences: ``[first, end, n_tokens]`` per chunk.

    >>> pack_chunks([3, 4, 5, 9], max_tokens=8)
    [[0, 2, 7], [2, 3, 5], [3, 4, 9]]
    """
    chunks: list[list[int]] = []
    first, total = 0, 0
    for i, n in enumerate(token_counts):
        if i > first and total + n > max_tokens:
            chunks.append([first, i, total])
            first, total = i, 0
        total += n
    if token_counts:
        chunks.append([first, len(token_counts), total])
    return chunks


# Full stops, question and exclamation marks of the scripts the segmenter knows best.
_SENTENCE_END = re.compile(r"[.!?。！？…؟।]")


def chunk_record(record: Record, ctx: Context) -> dict:
    cfg = ctx.config.chunk
    record.sentences = segment(record.text, cfg.language, cfg.max_sentence_chars)
    if record.text and not _SENTENCE_END.search(record.text):
        # Still summarizable, but the "sentences" are lines or arbitrary cuts: say so.
        record.warnings.append(
            "chunk: no sentence punctuation in the text; its sentences are its lines, cut at "
            f"spaces every {cfg.max_sentence_chars} characters (chunk.max_sentence_chars)"
        )
    record.sentence_tokens = ctx.count_tokens([record.text[s:e] for s, e in record.sentences])
    record.chunks = pack_chunks(record.sentence_tokens, cfg.max_chunk_tokens)
    if not record.sentences:
        raise ValueError("the document has no text to summarize")
    return {
        "sentences": len(record.sentences),
        "tokens": sum(record.sentence_tokens),
        "chunks": len(record.chunks),
    }


chunk = STAGES.register("chunk")(per_record("chunk", chunk_record))
