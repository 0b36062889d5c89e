"""Map-reduce stage for documents far longer than a prompt (pipeline ``long``).

    chunk groups --map--> partial summaries --reduce--> one summary

The document's chunks are packed into groups of at most ``map_reduce.group_tokens``
tokens. Each group is summarized like a short document by the pipeline's own extract,
prompt, generate and filter stages (batched across groups); the partial summaries are
joined, in document order, into a new text that is summarized again, level after level,
until it fits one group. So every part of a book-length input can reach the final summary,
while the model only ever reads ``extract.budget_tokens`` at a time and memory stays bounded.

The final text to summarize becomes the record's ``prompt`` (and ``generation`` once the
``generate`` stage that follows has run); the partial summaries of every level are kept
in ``meta["partial_summaries"]``.
"""

from __future__ import annotations

from .chunk import chunk_record, pack_chunks
from .records import Record
from .stages import STAGES, Context, per_record


def _groups(record: Record, max_tokens: int) -> list[tuple[int, int]]:
    """Sentence ranges [first, end) of consecutive chunks packed up to ``max_tokens``."""
    packed = pack_chunks([c[2] for c in record.chunks], max_tokens)
    return [(record.chunks[first][0], record.chunks[end - 1][1]) for first, end, _ in packed]


def _part(record: Record, first: int, end: int, number: int) -> Record:
    """A sub-record holding sentences [first, end) of ``record``, spans shifted to its text."""
    offset = record.sentences[first][0]
    stop = record.sentences[end - 1][1]
    return Record(
        id=f"{record.id}#part{number}",
        text=record.text[offset:stop],
        sentences=[[s - offset, e - offset] for s, e in record.sentences[first:end]],
        sentence_tokens=record.sentence_tokens[first:end],
        chunks=[[0, end - first, sum(record.sentence_tokens[first:end])]],
    )


def summarize_parts(parts: list[Record], ctx: Context) -> list[str]:
    """Run extract -> prompt -> generate -> filter on sub-records; their summaries, in order."""
    records = iter(parts)
    for name in ("extract", "prompt", "generate", "filter"):
        records = STAGES.get(name)(records, ctx)
    return [r.summary or "" for r in records if r.summary]


def map_reduce_record(record: Record, ctx: Context) -> dict:
    if record.chunks is None:
        raise ValueError("the record has no chunks: run the chunk stage first")
    cfg = ctx.config.map_reduce
    current = record
    levels: list[list[str]] = []
    while sum(c[2] for c in current.chunks) > cfg.group_tokens and len(levels) < cfg.max_levels:
        groups = _groups(current, cfg.group_tokens)
        if len(groups) < 2:
            break
        summaries = summarize_parts([_part(current, f, e, k) for k, (f, e) in enumerate(groups, 1)], ctx)
        levels.append(summaries)
        current = Record(id=f"{record.id}#level{len(levels)}", text="\n".join(summaries))
        chunk_record(current, ctx)
    record.meta["partial_summaries"] = levels
    # What is left fits one group: the usual extract and prompt, then the pipeline's generate.
    for name in ("extract", "prompt"):
        current = next(STAGES.get(name)([current], ctx))
    if current.error:
        raise ValueError(current.error)
    record.prompt = current.prompt
    if current is not record:
        # The fallback summary of a long document: its opening sentences that fit the budget.
        record.extract = _opening(record, ctx.config.extract.budget_tokens)
    return {"levels": len(levels), "parts": [len(level) for level in levels]}


def _opening(record: Record, budget: int) -> list[int]:
    chosen, used = [], 0
    for i, n in enumerate(record.sentence_tokens):
        if chosen and budget and used + n > budget:
            break
        chosen.append(i)
        used += n
    return chosen


map_reduce = STAGES.register("map_reduce")(per_record("map_reduce", map_reduce_record))
map_reduce.uses_model = True  # the Ray engine runs it in its model actors
