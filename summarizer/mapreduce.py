"""Map-reduce stage for documents far longer than a prompt (pipeline ``long``).

    chunk groups --map--> partial summaries --reduce--> one summary

The document's chunks are packed into groups of at most ``map_reduce.group_tokens``
tokens. Each group is summarized like a short document by the stages ``map_reduce.stages``
(extract, prompt, generate, filter: their own sections' settings, batched across groups);
the partial summaries are
joined, in document order, into a new text that is summarized again, level after level,
until it fits one group. So every part of a book-length input can reach the final summary,
while the model only ever reads ``extract.budget_tokens`` at a time and memory stays bounded.

The final text to summarize goes through those stages up to the one that calls the model,
and becomes the record's ``prompt`` (and ``generation`` once the ``generate`` stage that
follows has run); the partial summaries of every level are kept in
``meta["partial_summaries"]``, and the map calls' generate entries join the record's trace.
"""

from __future__ import annotations

from dataclasses import dataclass

from .chunk import chunk_record, pack_chunks
from .config import setting
from .records import Record
from .stages import STAGES, Context, model_stage, per_record, run_chain, run_parts, stage


def _chain_problem(names: list[str]) -> str | None:
    unknown = [name for name in names if name not in STAGES]
    if unknown:
        return f"names the unknown stage {unknown[0]!r}; valid stages: {', '.join(STAGES.names())}"
    if model_stage(names) is None:
        return "has no stage that calls the model (e.g. generate): nothing would summarize a group"
    return None


@dataclass
class MapReduceSettings:
    # Text covered by one map call; each call reads only its extract (extract.budget_tokens).
    # 0 would make every chunk a group of its own at every level.
    group_tokens: int = setting(8192, min=1)
    # Levels of summaries of summaries before the rest is left to the extract's budget; 0 works
    # too: no map step, the extract picks from the whole document at once.
    max_levels: int = setting(3, min=0, note="0 = no map step")
    # What summarizes one group; the final text goes through those before the model stage.
    stages: list[str] = setting(["extract", "prompt", "generate", "filter"], check=_chain_problem)


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


def summarize_parts(record: Record, parts: list[Record], level: int, ctx: Context) -> list[str]:
    """Run ``map_reduce.stages`` on sub-records of ``record``; their summaries, in order."""
    run_parts(ctx.config.map_reduce.stages, [(record, part, {"level": level, "part": number})
                                             for number, part in enumerate(parts, 1)], ctx)
    return [part.summary for part in parts if part.summary]


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
        summaries = summarize_parts(record, [_part(current, f, e, k) for k, (f, e) in enumerate(groups, 1)],
                                    len(levels) + 1, ctx)
        levels.append(summaries)
        current = Record(id=f"{record.id}#level{len(levels)}", text="\n".join(summaries))
        chunk_record(current, ctx)
    record.meta["partial_summaries"] = levels
    # What is left fits one group: the stages before the model (extract, prompt), then the pipeline's generate.
    current = next(run_chain(cfg.stages[: model_stage(cfg.stages)], [current], ctx))
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


# uses_model: the Ray engine runs it in its model actors
map_reduce = stage("map_reduce", settings=MapReduceSettings, reads=("extract", "prompt", "generate", "filter"),
                   uses_model=True)(per_record("map_reduce", map_reduce_record))
