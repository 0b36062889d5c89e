"""Rewrite stage: the model shortens each extracted sentence (extract, then compress).

    extract: [s1, s2, s3] --prompt + generate, one per sentence--> [r1, r2, r3] --filters--> summary

The ``default`` pipeline's design: the extract stage picks the salient sentences, and the
causal LM rewrites each of them shorter, in the manner of the few-shot examples of its own
``[rewrite]`` section (drop the dateline, the attribution, the side clause). Every rewrite goes
through the pipeline's ``filter.steps`` on its own, against the whole article; a rewrite
that is dropped (an invented name or number, an echo, an unfinished sentence), fails, is no
shorter than its sentence or brings in words its sentence lacks is replaced by the sentence
itself. So a small base model
cannot make the summary worse than the extract it was given, while a better model makes it
shorter and closer to a human abstract. Each sentence's outcome is kept in
``meta["rewrites"]``; the joined text becomes the record's ``generation`` (for the
``filter`` stage that follows, which removes what repeats across sentences).

The sentences of a window of records are batched together through the ``generate`` stage
(same decoder, stops and ``[generate]`` settings); a one-line prompt per sentence ends at
``generate.stop``.
A document's trace holds a ``generate`` entry per sentence (tokens, batch timings) and a
``rewrite`` entry for the stage's own work (prompts, filters) and its outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator

from .config import setting
from .facts import source_stems_of, support
from .generate import window_size
from .filter import apply_filters
from .prompt import TEMPLATE_PLACEHOLDERS, PromptSettings, example_problem, make_prompt, resolve_format
from .language import join_sentences, language_of
from .records import Record
from .segment import strip_dateline
from .stages import Context, in_windows, run_parts, stage

# Shortening adds nothing: most content words of a rewrite must come from its own sentence,
# not just from somewhere in the article ("sinking four vessels" must not become "four
# vessels were damaged in the worst storm in the town's history"). 75% leaves room for a
# word the stemmer does not join to its sentence's ("takes" / "take", a stop word).
SENTENCE_SUPPORT = 0.75


@dataclass
class RewriteSettings(PromptSettings):
    """The ``[rewrite]`` section: the prompt of one sentence, whose worked examples are a
    sentence and its shorter form (``sentence = "..."``, ``short = "..."``)."""

    section: ClassVar[str] = "rewrite"
    example_keys: ClassVar[tuple[str, str]] = ("sentence", "short")

    template: str = setting("Sentence: {text}\nShort:", placeholders=TEMPLATE_PLACEHOLDERS, requires=("text",))
    instruction: str = setting("Rewrite this sentence shorter, keeping its key facts.",
                               placeholders=TEMPLATE_PLACEHOLDERS)
    examples: list[dict] = setting([], item={"check": example_problem(("sentence", "short"))})
    # Between the examples and the sentence (base format).
    example_separator: str = "\n\n"


@stage("rewrite", settings=RewriteSettings, reads=("generate", "filter"), uses_model=True)
def rewrite(records: Iterable[Record], ctx: Context) -> Iterator[Record]:
    for window, todo in in_windows(records, window_size(ctx.config.generate), "extract",
                                   "rewrite: the record has no extract: run the extract stage first"):
        if todo:
            _rewrite_window(todo, ctx)
        yield from window


def _rewrite_window(records: list[Record], ctx: Context) -> None:
    start = time.perf_counter()
    cfg = ctx.config.rewrite
    fmt = resolve_format(cfg, ctx)
    parts: list[tuple[Record, Record, dict]] = []  # (record, sentence record, its trace tag)
    for record in records:
        for j, sentence in enumerate(record.extract_sentences()):
            sentence = strip_dateline(sentence)
            part = Record(id=f"{record.id}#sentence{j + 1}", text=sentence, sentences=[[0, len(sentence)]],
                          extract=[0], language=language_of(record),
                          prompt=make_prompt(sentence, cfg, ctx, fmt, language_of(record)))
            parts.append((record, part, {"sentence": j + 1}))
    # The window's sentences as one stream: batched, sorted by length, in one generate pass;
    # each sentence's generate entry (tokens, batch timings) joins its document's trace.
    prepared = time.perf_counter()
    run_parts(["generate"], parts, ctx)
    generated = time.perf_counter()
    outcomes: dict[int, list[dict]] = {id(r): [] for r in records}
    for record, part, _ in parts:
        outcomes[id(record)].append(_choose(part, record, ctx))
    # the stage's own time (prompts, filters); the model's is in the generate entries
    seconds = (prepared - start + time.perf_counter() - generated) / max(len(records), 1)
    for record in records:
        chosen = outcomes[id(record)]
        record.meta["rewrites"] = chosen
        record.generation = join_sentences(c["text"] for c in chosen)
        before = sum(len(c["sentence"].split()) for c in chosen)
        after = sum(len(c["text"].split()) for c in chosen)
        record.add_trace("rewrite", seconds, format=fmt, sentences=len(chosen),
                         rewritten=sum(c["kept"] == "rewrite" for c in chosen),
                         words_before=before, words_after=after)


def _choose(part: Record, record: Record, ctx: Context) -> dict:
    """The rewrite of one sentence after the filters, or the sentence itself, and why."""
    sentence = part.text
    outcome = {"sentence": sentence, "generation": part.generation}
    if part.error is not None:
        return outcome | {"text": sentence, "kept": "sentence", "why": part.error}
    text, decisions = apply_filters(part.generation or "", record, ctx)  # checked against the whole article
    notes = [f"{d['filter']}: {d['note']}" for d in decisions]
    text = text.strip()
    if not text:
        return outcome | {"text": sentence, "kept": "sentence", "why": "; ".join(notes) or "empty rewrite"}
    if len(text.split()) >= len(sentence.split()):
        return outcome | {"text": sentence, "kept": "sentence", "why": "rewrite not shorter"}
    stems = source_stems_of(sentence)
    if "said" in stems:
        stems.add("say")  # headline tense: "..., she said" -> "She says ..."
    own = support(text, stems)
    if own < SENTENCE_SUPPORT:
        return outcome | {"text": sentence, "kept": "sentence",
                          "why": f"{own:.0%} of its content words are in its sentence"}
    return outcome | {"text": text, "kept": "rewrite", "why": "; ".join(notes)}
