"""Filter stage: turn a raw generation into the final summary, and never return nothing.

The candidate is the model's generation, or the extract when the pipeline has no
generate stage (``extractive``, ``lead3``). The filters named in ``filter.steps`` run in
order; each is ``filter(text, record, ctx) -> (text, note)`` and registers in
:data:`FILTERS`. Every filter that changes the text leaves its note in the record's trace.
If nothing is left, the summary falls back to the first ``filter.fallback_sentences``
extracted sentences and the record is marked ``fallback: true``.
"""

from __future__ import annotations

import re
from typing import Callable

from .records import Record
from .registry import Registry
from .segment import segment
from .stages import STAGES, Context, per_record

Filter = Callable[[str, Record, Context], "tuple[str, str | None]"]

FILTERS: Registry[Filter] = Registry("filter")

# Where a base model starts a new document or prompt section instead of ending its summary.
_NEW_SECTION = re.compile(r"\n\s*\n|\b(?:Article|TL;DR|Summary|Text|Question|Answer)\s*:", re.IGNORECASE)
_LEADING_JUNK = re.compile(r"^(?:\s|[-*•>#:]|(?:TL;DR|Summary)\s*:)+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?。！？…]['\"”’)\]」』]*$")


@FILTERS.register("strip_echo")
def strip_echo(text: str, record: Record, ctx: Context) -> tuple[str, str | None]:
    """Drop template words the model repeated and anything after it starts a new section."""
    cleaned = _LEADING_JUNK.sub("", text)
    for echo in _template_pieces(ctx):
        cleaned = cleaned.replace(echo, " ")
    match = _NEW_SECTION.search(cleaned)
    if match and match.start() > 0:
        cleaned = cleaned[: match.start()]
    elif match:
        cleaned = ""
    cleaned = " ".join(cleaned.split())
    return cleaned, None if cleaned == text else f"{len(text) - len(cleaned)} characters of echo or markup removed"


@FILTERS.register("cut_unfinished")
def cut_unfinished(text: str, record: Record, ctx: Context) -> tuple[str, str | None]:
    """Drop a last sentence that stops mid-way (generation hit its token limit)."""
    sentences = _sentences(text)
    if sentences and not _SENTENCE_END.search(sentences[-1]):
        return " ".join(sentences[:-1]), f"unfinished sentence removed: {sentences[-1][:60]!r}"
    return text, None


@FILTERS.register("dedupe")
def dedupe(text: str, record: Record, ctx: Context) -> tuple[str, str | None]:
    """Keep the first of sentences that say (nearly) the same words: the base model loops,
    often changing only a word or two ("It is ..." / "The river is ...")."""
    kept: list[str] = []
    kept_words: list[set[str]] = []
    sentences = _sentences(text)
    for sentence in sentences:
        words = set(re.findall(r"\w+", sentence.lower()))
        if any(_similar(words, other) for other in kept_words):
            continue
        kept.append(sentence)
        kept_words.append(words)
    removed = len(sentences) - len(kept)
    return (" ".join(kept), f"{removed} repeated sentence(s) removed") if removed else (text, None)


def _similar(a: set[str], b: set[str], threshold: float = 0.7) -> bool:
    """Jaccard overlap of word sets; 0.7 lets two sentences differ in a word or two of ten."""
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= threshold


def filter_record(record: Record, ctx: Context) -> dict:
    cfg = ctx.config.filter
    if record.generation is not None:
        text, source = record.generation, "generation"
    elif record.extract is not None:
        text, source = record.extract_text(), "extract"
    else:
        raise ValueError("the record has neither a generation nor an extract: run the earlier stages first")
    decisions = []
    for name in cfg.steps:
        text, note = FILTERS.get(name)(text, record, ctx)
        if note:
            decisions.append({"filter": name, "note": note})
    record.fallback = not text.strip()
    if record.fallback:
        text = " ".join(record.extract_sentences()[: max(cfg.fallback_sentences, 1)])
        decisions.append({"filter": "fallback", "note": "nothing acceptable left: extractive summary used"})
    record.summary = text.strip()
    if not record.summary:
        raise ValueError("no summary could be made: the document has no usable sentence")
    return {"source": source, "decisions": decisions, "fallback": record.fallback}


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in segment(text)]


def _template_pieces(ctx: Context) -> list[str]:
    pieces = [p.strip() for p in ctx.config.prompt.template.split("{text}")]
    return [p for p in pieces + [ctx.config.prompt.instruction.strip()] if len(p) >= 4]


filter_stage = STAGES.register("filter")(per_record("filter", filter_record))
