"""Chunk stage: sentences, their token counts, and token-bounded chunks.

Sentences come from :func:`summarizer.segment.segment`; token counts from the pipeline
model's tokenizer (or a model-free estimate, ``chunk.tokenizer = "words"``). Consecutive
sentences are packed into chunks of at most ``chunk.max_chunk_tokens`` tokens, so a
document of any length can be processed piece by piece without cutting a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .config import setting
from .records import Record
from .language import detect, is_cjk
from .segment import estimate_tokens, segment
from .segment import SENTENCE_END_CHARS
from .stages import Context, per_record, stage

# What count_tokens knows; any other name would silently count words.
TOKENIZERS = ("model", "words")


@dataclass
class ChunkSettings:
    # "auto" picks Chinese rules for mostly-CJK text and English rules otherwise. sentencex
    # takes any code (falling back to a related language's rules), so only the form is checked.
    language: str = setting("auto", pattern=r"auto|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*",
                            note="auto or a language code such as en, de, zh")
    # "model": token counts from the pipeline model's tokenizer; "words": a model-free
    # estimate (word and punctuation pieces, one per CJK character) for pipelines without a model.
    tokenizer: str = setting("model", choices=TOKENIZERS)
    # 0 would not loop, but would make every sentence a chunk of its own.
    max_chunk_tokens: int = setting(1024, min=1)
    # Longer "sentences" (tables, text without punctuation) are split at whitespace. 0 never
    # shortens a piece, so the splitting loop would run forever; 1 (a character a piece) works.
    max_sentence_chars: int = setting(1500, min=1)


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
_SENTENCE_END = re.compile(f"[{SENTENCE_END_CHARS}]")


def chunk_record(record: Record, ctx: Context) -> dict:
    cfg = ctx.config.chunk
    if cfg.language == "auto":  # detected once: the splitter takes what it needs of it
        record.language = detect(record.text)
        splitter = "zh" if is_cjk(record.language) else "en"
    else:
        record.language = splitter = cfg.language
    record.sentences = segment(record.text, splitter, cfg.max_sentence_chars)
    if record.text and not _SENTENCE_END.search(record.text):
        # Still summarizable, but the "sentences" are lines or arbitrary cuts: say so.
        record.warnings.append(
            "chunk: no sentence punctuation in the text; its sentences are its lines, cut at "
            f"spaces every {cfg.max_sentence_chars} characters (chunk.max_sentence_chars)"
        )
    record.sentence_tokens = count_tokens([record.text[s:e] for s, e in record.sentences], ctx)
    record.chunks = pack_chunks(record.sentence_tokens, cfg.max_chunk_tokens)
    if not record.sentences:
        raise ValueError("the document has no text to summarize")
    return {
        "sentences": len(record.sentences),
        "tokens": sum(record.sentence_tokens),
        "chunks": len(record.chunks),
    }


def count_tokens(texts: list[str], ctx: Context) -> list[int]:
    """Token counts by ``chunk.tokenizer``: the model's own, or the model-free estimate."""
    if ctx.config.chunk.tokenizer == "model":
        if not texts:
            return []
        tokenizer = ctx.tokenizer
        if getattr(tokenizer, "estimates", False):  # a server's tokenizer is out of reach (openai backend)
            return tokenizer.count(texts)
        encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]
    return [estimate_tokens(t) for t in texts]


chunk = stage("chunk", settings=ChunkSettings)(per_record("chunk", chunk_record))
