"""Filter stage: turn a raw generation into the final summary, and never return nothing.

The candidate is the model's generation, or the extract when the pipeline has no
generate stage (``extractive``, ``lead3``). The filters named in ``filter.steps`` run in
order (:func:`apply_filters`, also what ``rewrite`` runs on each rewritten sentence); each
is ``filter(text, record, ctx, options) -> (text, note)`` and registers in :data:`FILTERS`
with :func:`filter_step`. A filter with parameters declares them as a dataclass, and they
stand where the filter is listed: ``steps = ["dedupe", {name = "low_support", min_support
= 0.6}]`` (a name alone takes the defaults). Every filter that changes the text leaves its
note in the record's trace. If nothing is left, the summary falls back to the first
``filter.fallback_sentences`` extracted sentences and the record is marked ``fallback: true``.
A summary from a generation gets ``meta["model"]``: what the model did (:func:`what_the_model_did`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from .config import problems, set_field, setting
from .errors import ConfigError
from .evaluation.faithfulness import entity_spans, leading_span, measure, span_in_source
from .language import (CJK_SHARE, cjk_bigrams, cjk_share, is_cjk, join_sentences, language_of, length, table_code,
                       tables_problem, tidy_spaces)
from .facts import source_index, source_stems_of, support, unsupported
from .pii import redact
from .prompt import echo_pieces
from .records import Record
from .registry import Registry
from .segment import ENDS_SENTENCE, segment
from .stages import Context, per_record, stage

Filter = Callable[[str, Record, Context, Any], "tuple[str, str | None]"]

FILTERS: Registry[Filter] = Registry("filter")


def filter_step(name: str, options: type | None = None):
    """Register a filter under ``name``; ``options``: the dataclass of its parameters, given
    where the filter is listed in ``filter.steps``."""

    def register(function: Filter) -> Filter:
        function.options = options
        return FILTERS.register(name)(function)

    return register


def _step_problem(step: Any) -> str | None:
    """What is wrong with one entry of ``filter.steps`` (a name, or a table with ``name`` and
    the filter's parameters), or None."""
    try:
        resolve_step(step)
    except ConfigError as exc:
        return str(exc).rstrip(".")
    return None


def resolve_step(step: Any) -> tuple[str, Filter, Any]:
    """One entry of ``filter.steps``: its name, the filter, and its options (None when it has none)."""
    if isinstance(step, str):
        name, values = step, {}
    elif isinstance(step, dict) and isinstance(step.get("name"), str):
        name, values = step["name"], {k: v for k, v in step.items() if k != "name"}
    else:
        raise ConfigError('is not a filter: give its name, or a table {name = "...", <parameter> = ...}')
    if name not in FILTERS:
        raise ConfigError(f"is not a filter; valid filters: {', '.join(FILTERS.names())}")
    function = FILTERS.get(name)
    cls = getattr(function, "options", None)
    if cls is None:
        if values:
            raise ConfigError(f"gives parameters ({', '.join(values)}) to the filter {name}, which has none")
        return name, function, None
    options = cls()
    for key, value in values.items():
        set_field(options, name, key, value, "filter.steps")
    found = problems(options, name, fixes=False)
    if found:
        raise ConfigError(f"gives the filter {name} a bad parameter: {found[0].rstrip('.')}")
    return name, function, options


@dataclass
class FilterSettings:
    # Names, or tables with a name and the filter's parameters, run in order.
    steps: list[str | dict] = setting(["strip_echo", "cut_unfinished", "dedupe"], item={"check": _step_problem})
    # When no filtered text is left, the summary is this many extracted sentences (the filter
    # never returns nothing, so it would read 0 as 1).
    fallback_sentences: int = setting(3, min=1)
    # Per language (summarizer/language.py), a fallback of its own length ([filter.languages.zh]
    # fallback_sentences = 1: a Chinese summary is a headline, one sentence at most).
    languages: dict = setting({}, check=lambda value: _languages_problem(value))


def _languages_problem(value: Any) -> str | None:
    problem = tables_problem(value, ("fallback_sentences",), "filter")
    if problem is None:
        for code, table in value.items():
            number = table.get("fallback_sentences", 1)
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                return f"has {code}.fallback_sentences = {number!r}; give a whole number of at least 1"
    return problem


def fallback_sentences(cfg: "FilterSettings", language: str | None) -> int:
    code = table_code(cfg.languages, language)
    return cfg.languages[code].get("fallback_sentences", cfg.fallback_sentences) if code else cfg.fallback_sentences


@dataclass
class LowSupportOptions:
    # A sentence needs at least this share of its content words in the source.
    min_support: float = setting(0.5, min=0, max=1, note="0 = keep every sentence")


@dataclass
class RedactOptions:
    # Redact all personal data, not only what the source does not contain.
    all: bool = False


@dataclass
class MaxLengthOptions:
    # At most this many words, in whole sentences (0: no limit).
    max_words: int = setting(0, min=0, note="0 = no limit")
    # A first sentence longer than the limit on its own is cut at the limit and ends in "…"
    # (--max-words: a hard cap); without it that sentence is kept whole.
    cut: bool = False


def apply_filters(text: str, record: Record, ctx: Context) -> tuple[str, list[dict]]:
    """``text`` through ``filter.steps`` in order, checked against ``record``'s source; the
    text left and a decision ``{"filter", "note"}`` for each filter that changed it."""
    decisions = []
    for step in ctx.config.filter.steps:
        name, function, options = resolve_step(step)
        text, note = function(text, record, ctx, options)
        if note:
            decisions.append({"filter": name, "note": note})
    return text, decisions

# Where a base model starts a new document or prompt section instead of ending its summary.
_NEW_SECTION = re.compile(r"\n\s*\n|\b(?:Article|TL;DR|Summary|Text|Question|Answer)\s*:", re.IGNORECASE)
# A marker only before a space: "#Person1#" (DialogSum's speakers) and "-5" are words.
_LEADING_JUNK = re.compile(r"^(?:\s|[-*•>#]+(?=\s|$)|:|(?:TL;DR|Summary)\s*:)+", re.IGNORECASE)
_LIST_MARKER = re.compile(r"^\s*(?:[-*•>#]+|\(?\d{1,2}[.)])\s+")
_LETTERS = re.compile(r"[^\W\d_]+")


@filter_step("strip_echo")
def strip_echo(text: str, record: Record, ctx: Context, options: None) -> tuple[str, str | None]:
    """Drop template words the model repeated and anything after it starts a new section."""
    cleaned = _LEADING_JUNK.sub("", text)
    for echo in echo_pieces(ctx.config):
        cleaned = cleaned.replace(echo, " ")
    match = _NEW_SECTION.search(cleaned)
    if match and match.start() > 0:
        # A Chinese summary is a headline, without a full stop: the blank line after it is
        # what says that it is finished, so it stays a finished line.
        ended = not match.group().strip() and (cjk_share(cleaned[: match.start()]) or 0) >= CJK_SHARE
        cleaned = cleaned[: match.start()] + ("\n" if ended else "")
    elif match:
        cleaned = ""
    cleaned = tidy_spaces(_lines_as_sentences(cleaned))
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
            cjk = (cjk_share(line) or 0) >= CJK_SHARE
            line = line.rstrip(":;,：；，、") + ("。" if cjk else ".")
        if line:
            out.append(line)
    return join_sentences(out)


@filter_step("cut_unfinished")
def cut_unfinished(text: str, record: Record, ctx: Context, options: None) -> tuple[str, str | None]:
    """Drop a last sentence that stops mid-way (generation hit its token limit)."""
    sentences = _sentences(text)
    if sentences and not ENDS_SENTENCE.search(sentences[-1]):
        return join_sentences(sentences[:-1]), f"unfinished sentence removed: {sentences[-1][:60]!r}"
    return text, None


@filter_step("dedupe")
def dedupe(text: str, record: Record, ctx: Context, options: None) -> tuple[str, str | None]:
    """Keep the first of sentences that say (nearly) the same words: the base model loops,
    often changing only a word or two ("It is ..." / "The river is ...")."""
    kept: list[str] = []
    kept_words: list[set[str]] = []
    sentences = _sentences(text)
    for sentence in sentences:
        words = _word_set(sentence)
        if any(_similar(words, other) for other in kept_words):
            continue
        kept.append(sentence)
        kept_words.append(words)
    removed = len(sentences) - len(kept)
    return (join_sentences(kept), f"{removed} repeated sentence(s) removed") if removed else (text, None)


@filter_step("unsupported_facts")
def unsupported_facts(text: str, record: Record, ctx: Context, options: None) -> tuple[str, str | None]:
    """Drop sentences with a number or a name-like word that the source does not contain
    (the "misleading output" risk: a small model invents places, dates and figures), or a
    name of several words that it does not contain as one: "York University" put together
    from "York Herald" and "university", whose words the source has, but not the name. The
    name is the reports' own (:func:`summarizer.evaluation.faithfulness.entity_spans`), so
    a summary this step passes has every name of several words counted found there. A name
    that starts a sentence, which the reports cannot tell from any capitalised first word, is
    checked too when the source uses its first word as a name (``leading_span``)."""
    words, nums = source_index(record.text)
    names = None

    def reason(sentence: str) -> str | None:
        nonlocal names
        missing = unsupported(sentence, record.text, words, nums)
        missing += [span for span in entity_spans(sentence) if " " in span and not span_in_source(span, record.text)]
        leading = leading_span(sentence)
        if leading and not span_in_source(leading, record.text):
            if names is None:
                names = _name_only_words(record.text)
            if leading.split()[0] in names:
                missing.append(leading)
        return ", ".join(missing[:4]) if missing else None

    return _drop_sentences(text, reason, "with facts not in the source")


def _name_only_words(source: str) -> set[str]:
    """Words the source uses only as names (capitalised inside a sentence, never in lower
    case): a sentence that starts with one starts with a name, which must be in the source as
    a whole ("Alan Gill" from "Alan Richmond" and "Gill"); another first word ("The" of a
    title, "Former", "Professor" beside "professor") may just be capitalised."""
    lower = {word for word in _LETTERS.findall(source) if word[0].islower()}
    return {word for span in entity_spans(source) for word in span.split() if word.lower() not in lower}


@filter_step("low_support", options=LowSupportOptions)
def low_support(text: str, record: Record, ctx: Context, options: LowSupportOptions) -> tuple[str, str | None]:
    """Drop sentences most of whose content words (stemmed, stop words aside) the source does
    not contain: a base model's generic filler ("It is a popular destination for tourists")
    or invented claims that carry no number or name for ``unsupported_facts`` to catch."""
    stems = source_stems_of(record.text)
    threshold = options.min_support
    pairs = None

    def reason(sentence: str) -> str | None:
        nonlocal pairs
        if (cjk_share(sentence) or 0) >= CJK_SHARE:
            # no spaces, no stems: the share of its character pairs that the source has
            if pairs is None:
                pairs = cjk_bigrams(record.text)
            own = cjk_bigrams(sentence)
            score = len(own & pairs) / len(own) if own else 1.0
        else:
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
    return join_sentences(kept), f"{len(dropped)} sentence(s) {what} dropped: {'; '.join(dropped)}"


@filter_step("redact_pii", options=RedactOptions)
def redact_pii(text: str, record: Record, ctx: Context, options: RedactOptions) -> tuple[str, str | None]:
    """Replace e-mail addresses, phone, card and ID numbers and street addresses that the
    source does not contain (all of them with ``{name = "redact_pii", all = true}``) by ``[kind]``
    (the "information leakage" risk: a model can reproduce personal data it was trained on)."""
    cleaned, kinds = redact(text, record.text, options.all)
    return cleaned, f"redacted: {', '.join(kinds)}" if kinds else None


@filter_step("max_length", options=MaxLengthOptions)
def max_length(text: str, record: Record, ctx: Context, options: MaxLengthOptions) -> tuple[str, str | None]:
    """Keep whole sentences up to ``max_words`` words (characters for CJK text; 0: no
    limit); the first sentence is kept even when it alone is longer, unless ``cut``: then it
    is cut to ``max_words`` words and ends in an ellipsis, so the summary never has more
    words than the limit."""
    limit = options.max_words
    language = language_of(record, text)
    unit = "characters" if is_cjk(language) else "words"
    sentences = _sentences(text)
    if not limit or length(text, language) <= limit:
        return text, None
    kept, used = [], 0
    for sentence in sentences:
        n = length(sentence, language)
        if kept and used + n > limit:
            break
        kept.append(sentence)
        used += n
    if options.cut and used > limit:
        if is_cjk(language):
            first = "".join(kept[0].split())[:limit]
        else:
            first = " ".join(kept[0].split()[:limit])
        return first.rstrip(",;:，、；：") + "…", (f"cut to {limit} {unit}, inside the first sentence "
                                                 f"({len(sentences) - 1} sentence(s) dropped)")
    return join_sentences(kept), f"cut to {used} {unit} ({len(sentences) - len(kept)} sentence(s) dropped)"


@filter_step("wrong_language")
def wrong_language(text: str, record: Record, ctx: Context, options: None) -> tuple[str, str | None]:
    """Reject a generation mostly in another script than its source: a small model given a
    Chinese post often answers in English (a translation, a remark about the article), and
    one given English text can drift into another script. The whole text goes: a summary in
    the wrong language is no summary, and the fallback stands in."""
    share = cjk_share(text)
    if share is None or record is None:
        return text, None
    source = language_of(record)
    if is_cjk(source) and share < CJK_SHARE:
        return "", f"generation in another script ({share:.0%} CJK letters) than its {source} source"
    if source == "en" and share >= CJK_SHARE:
        return "", f"generation in a CJK script ({share:.0%} CJK letters) for a Latin-script source"
    return text, None


def _word_set(sentence: str) -> set[str]:
    """The words of a sentence, for comparing two; character pairs for CJK text, which has
    no spaces between its words."""
    words = set(re.findall(r"\w+", sentence.lower()))
    if (cjk_share(sentence) or 0) >= CJK_SHARE:
        letters = "".join(re.findall(r"\w", sentence))
        words = {letters[i:i + 2] for i in range(len(letters) - 1)} or words
    return words


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
    text, decisions = apply_filters(text, record, ctx)
    record.fallback = not text.strip()
    if record.fallback:
        text = join_sentences(record.extract_sentences()[: max(fallback_sentences(cfg, language_of(record)), 1)])
        decisions.append({"filter": "fallback", "note": "nothing acceptable left: extractive summary used"})
    record.summary = text.strip()
    if not record.summary:
        raise ValueError("no summary could be made: the document has no usable sentence")
    if source == "generation":
        record.meta["model"] = what_the_model_did(record)
    return {"source": source, "decisions": decisions, "fallback": record.fallback}


def what_the_model_did(record: Record) -> dict:
    """The summary against the article and the extract the model was given: its sentences,
    how many are article sentences word for word, repeats, its novel bigrams, its length
    against the extract's, and the shares of its numbers and name-like spans the article
    holds (:func:`summarizer.evaluation.faithfulness.measure`)."""
    extract = record.extract_text() if record.extract is not None else None
    m = measure(record.summary, record.text, extract)
    keys = ("sentences", "verbatim_sentences", "repeated_sentences", "novel_2", "extract_ratio",
            "numbers_share", "entities_share")
    return {key: round(m[key], 3) if isinstance(m[key], float) else m[key] for key in keys}


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in segment(text)]


filter_stage = stage("filter", settings=FilterSettings)(per_record("filter", filter_record))
