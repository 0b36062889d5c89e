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
from .segment import ENDS_SENTENCE, segment
from .stages import STAGES, Context, per_record

Filter = Callable[[str, Record, Context], "tuple[str, str | None]"]

FILTERS: Registry[Filter] = Registry("filter")

# Where a base model starts a new document or prompt section instead of ending its summary.
_NEW_SECTION = re.compile(r"\n\s*\n|\b(?:Article|TL;DR|Summary|Text|Question|Answer)\s*:", re.IGNORECASE)
_LEADING_JUNK = re.compile(r"^(?:\s|[-*•>#:]|(?:TL;DR|Summary)\s*:)+", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•>#]+|\(?\d{1,2}[.)])\s+")


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
    cleaned = " ".join(_lines_as_sentences(cleaned).split())
    return cleaned, None if cleaned == text else f"{len(text) - len(cleaned)} characters of echo or markup removed"


def _lines_as_sentences(text: str) -> str:
    """A list ("- ...", "1. ...") or headline-style lines become sentences: markers dropped,
    a full stop added to each finished line that has none (the last line may be unfinished:
    cut_unfinished decides)."""
    lines = text.split("\n")
    out = []
    for index, line in enumerate(lines):
        line = _LIST_MARKER.sub("", line).strip()
        if line and index < len(lines) - 1 and not ENDS_SENTENCE.search(line):
            line = line.rstrip(":;,") + "."
        if line:
            out.append(line)
    return " ".join(out)


@FILTERS.register("cut_unfinished")
def cut_unfinished(text: str, record: Record, ctx: Context) -> tuple[str, str | None]:
    """Drop a last sentence that stops mid-way (generation hit its token limit)."""
    sentences = _sentences(text)
    if sentences and not ENDS_SENTENCE.search(sentences[-1]):
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


@FILTERS.register("unsupported_facts")
def unsupported_facts(text: str, record: Record, ctx: Context) -> tuple[str, str | None]:
    """Drop sentences with a number or a name-like word that the source does not contain
    (the "misleading output" risk: a small model invents places, dates and figures)."""
    from .facts import source_index, unsupported

    words, nums = source_index(record.text)

    def reason(sentence: str) -> str | None:
        missing = unsupported(sentence, record.text, words, nums)
        return ", ".join(missing[:4]) if missing else None

    return _drop_sentences(text, reason, "with facts not in the source")


@FILTERS.register("low_support")
def low_support(text: str, record: Record, ctx: Context) -> tuple[str, str | None]:
    """Drop sentences most of whose content words (stemmed, stop words aside) the source does
    not contain: a base model's generic filler ("It is a popular destination for tourists")
    or invented claims that carry no number or name for ``unsupported_facts`` to catch."""
    from .facts import source_stems_of, support

    stems = source_stems_of(record.text)
    threshold = ctx.config.filter.min_support

    def reason(sentence: str) -> str | None:
        score = support(sentence, stems)
        return f"{score:.0%}" if score < threshold else None

    return _drop_sentences(text, reason, "mostly not in the source")


def _drop_sentences(text: str, reason, what: str) -> tuple[str, str | None]:
    """Drop the sentences for which ``reason(sentence)`` gives a reason; note them all."""
    kept, dropped = [], []
    for sentence in _sentences(text):
        why = reason(sentence)
        if why is None:
            kept.append(sentence)
        else:
            dropped.append(f"{sentence[:50]!r} ({why})")
    if not dropped:
        return text, None
    return " ".join(kept), f"{len(dropped)} sentence(s) {what} dropped: {'; '.join(dropped)}"


@FILTERS.register("redact_pii")
def redact_pii(text: str, record: Record, ctx: Context) -> tuple[str, str | None]:
    """Replace e-mail addresses, phone, card and ID numbers and street addresses that the
    source does not contain (all of them with ``filter.redact_all_pii``) by ``[kind]``
    (the "information leakage" risk: a model can reproduce personal data it was trained on)."""
    from .pii import redact

    cleaned, kinds = redact(text, record.text, ctx.config.filter.redact_all_pii)
    return cleaned, f"redacted: {', '.join(kinds)}" if kinds else None


@FILTERS.register("max_length")
def max_length(text: str, record: Record, ctx: Context) -> tuple[str, str | None]:
    """Keep whole sentences up to ``filter.max_words`` words (0: no limit); the first
    sentence is kept even when it alone is longer."""
    limit = ctx.config.filter.max_words
    sentences = _sentences(text)
    if not limit or len(text.split()) <= limit:
        return text, None
    kept, used = [], 0
    for sentence in sentences:
        n = len(sentence.split())
        if kept and used + n > limit:
            break
        kept.append(sentence)
        used += n
    return " ".join(kept), f"cut to {used} words ({len(sentences) - len(kept)} sentence(s) dropped)"


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
