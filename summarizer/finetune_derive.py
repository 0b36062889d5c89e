"""Training pairs for what the pipeline asks of its model, derived from (article, summary) pairs.

A reference summary is not always something the pipeline's model could have written from
what it is given: a human abstract names people and numbers from anywhere in the article,
and the model sees only the extract (or one sentence). Taught on such targets, a model
learns to invent. So each pair is turned into the task of the pipeline's model stage, and
the targets keep only what its input supports:

- **fusion** (a ``generate`` stage after a prompt stage, as in ``default`` and
  ``abstractive``): input = the pipeline's own prompt of the extract; target = the reference
  sentences whose numbers and name-like words all occur in what the prompt was made of (the
  extract when there is one, else the article). A pair none of whose sentences pass is
  dropped. A prompt that states the length (``{sentences}``) states the target's own.
- **compression** (the ``rewrite`` stage, one sentence in, a shorter one out): each reference
  sentence is aligned to the article sentence it draws from (the one holding most of its
  content-word stems); the pair (that sentence's rewrite prompt, the reference sentence) is
  kept when the sentence holds at least :data:`~summarizer.rewrite.SENTENCE_SUPPORT` of the
  reference's content words, the reference is shorter, and its numbers and names are in the
  sentence.

:class:`Derivation` counts what each derivation kept and why it dropped the rest; it goes
into the adapter's metadata and the log. ``check_facts=False`` (``finetune --keep-unsupported``)
keeps fusion targets whole, for a user's own pairs whose references are known to be
faithful to their inputs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from .facts import source_index, source_stems_of, support, unsupported
from .language import language_of
from .prompt import make_prompt, resolve_format
from .records import Record
from .rewrite import SENTENCE_SUPPORT
from .segment import segment, strip_dateline
from .stages import model_stage

FUSION = "fusion"
COMPRESSION = "compression"
# What each model stage asks of its model.
DERIVATIONS = {"generate": FUSION, "rewrite": COMPRESSION}

# " ." and " ," of tokenized references (CNN/DM highlights): the model should not learn them.
_SPACED_PUNCT = re.compile(r" +([.,;:!?])(?=\s|$)")


@dataclass
class Derivation:
    """What one derivation made of a set of pairs."""

    name: str
    pairs_in: int = 0
    examples: int = 0
    pairs_used: int = 0
    reference_sentences: int = 0
    sentences_kept: int = 0
    # Why reference sentences (fusion: and whole pairs) were left out, with counts.
    dropped: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"derivation": self.name, "pairs_in": self.pairs_in, "pairs_used": self.pairs_used,
                "examples": self.examples, "reference_sentences": self.reference_sentences,
                "sentences_kept": self.sentences_kept, "dropped": dict(self.dropped.most_common())}

    def describe(self) -> str:
        why = "; ".join(f"{n} {reason}" for reason, n in self.dropped.most_common())
        return (f"{self.name}: {self.pairs_used} of {self.pairs_in} pair(s) used, {self.examples} training "
                f"example(s); {self.sentences_kept} of {self.reference_sentences} reference sentence(s) kept"
                + (f" (left out: {why})" if why else ""))


def derivation_of(config) -> str:
    """The derivation of the pipeline's model stage; any stage but ``rewrite`` (a user's own
    too) is given its prompt stages' prompt, so fusion."""
    return DERIVATIONS.get(config.stages[model_stage(config.stages)], FUSION)


def reference_sentences(reference: str) -> list[str]:
    """The reference's sentences (a highlight per line counts as one), tokenization spaces
    before punctuation removed."""
    text = _SPACED_PUNCT.sub(r"\1", reference.strip())
    return [text[a:b].strip() for a, b in segment(text) if text[a:b].strip()]


def fusion(records: list[Record], check_facts: bool = True,
           prompt_for: Callable[[Record, int], str] | None = None) -> tuple[list[Record], Derivation]:
    """Records with a prompt become (prompt, supported reference sentences) examples.
    ``prompt_for(record, n)``, when given, makes the record's prompt again for a target of
    ``n`` sentences (see :func:`length_prompts`)."""
    report = Derivation(FUSION, pairs_in=len(records))
    kept = []
    for record in records:
        sentences = reference_sentences(record.reference)
        report.reference_sentences += len(sentences)
        if check_facts:
            source = record.extract_text() if record.extract is not None else record.text
            words, nums = source_index(source)
            supported = [s for s in sentences if not unsupported(s, source, words, nums)]
            report.dropped["reference sentence(s) with a number or name the model's input lacks"] += (
                len(sentences) - len(supported))
        else:
            supported = sentences
        if not supported:
            report.dropped["pair(s) left without a reference sentence"] += 1
            continue
        report.sentences_kept += len(supported)
        record.reference = " ".join(supported)
        if prompt_for is not None:
            record.prompt = prompt_for(record, len(supported))
        kept.append(record)
    report.pairs_used = report.examples = len(kept)
    return kept, report


def length_prompts(ctx) -> Callable[[Record, int], str] | None:
    """For a pipeline whose ``prompt`` stage states the length (``{sentences}`` in its
    template or instruction): the prompt of a record with ``{sentences}`` set to its target's
    own sentence count, so that the model learns to write as many sentences as the prompt
    asks for, and ``prompt.sentences`` (``--set prompt.sentences=N``) sets the length of
    what it writes. None when the prompt does not mention the length."""
    cfg = ctx.config.prompt
    if "prompt" not in ctx.config.stages or "{sentences}" not in cfg.template + cfg.instruction:
        return None
    fmt = resolve_format(cfg, ctx)
    return lambda record, n: make_prompt(record.extract_text(), replace(cfg, sentences=n), ctx, fmt, language_of(record))


def compression(records: list[Record], ctx) -> tuple[list[Record], Derivation]:
    """Each reference sentence aligned to the article sentence it draws from becomes a
    (rewrite prompt of that sentence, reference sentence) example, when it is a shorter,
    supported rewrite of it."""
    cfg = ctx.config.rewrite
    fmt = resolve_format(cfg, ctx)
    report = Derivation(COMPRESSION, pairs_in=len(records))
    examples = []
    for record in records:
        article = [strip_dateline(record.text[a:b].strip()) for a, b in (record.sentences or segment(record.text))]
        article = [s for s in article if s]
        stems = [source_stems_of(s) for s in article]
        used = False
        for j, target in enumerate(reference_sentences(record.reference)):
            report.reference_sentences += 1
            scores = [support(target, s) for s in stems]
            best = max(range(len(article)), key=scores.__getitem__, default=None)
            if best is None or scores[best] < SENTENCE_SUPPORT:
                report.dropped[f"no article sentence holds {SENTENCE_SUPPORT:.0%} of its content words"] += 1
                continue
            sentence = article[best]
            if len(target.split()) >= len(sentence.split()):
                report.dropped["not shorter than its article sentence"] += 1
                continue
            if unsupported(target, sentence):
                report.dropped["a number or name its article sentence lacks"] += 1
                continue
            report.sentences_kept += 1
            used = True
            examples.append(Record(id=f"{record.id}#sentence{j + 1}", text=sentence, reference=target,
                                   language=language_of(record), prompt=make_prompt(sentence, cfg, ctx, fmt, language_of(record)),
                                   meta={"row": record.meta.get("row")}))
        report.pairs_used += used
    report.examples = len(examples)
    return examples, report
