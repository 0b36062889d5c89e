"""Training data: article/summary pairs, made into the prompts the pipeline gives its model.

    >>> train = read_pairs("train.jsonl")                          # doctest: +SKIP
    >>> check_overlap(train, read_pairs("heldout.jsonl"))          # doctest: +SKIP
    >>> examples = encode(build_prompts(train, pipe), pipe, config)  # doctest: +SKIP

- **Input**: what the pipeline's own stages before its model stage (the first whose function
  has ``uses_model``; chunk, extract, prompt in ``abstractive``) make of the article, run
  through :func:`summarizer.stages.run_chain`, so the model learns on exactly the prompts it
  will be given. **Target**: the reference summary, then the end token; the labels are
  :data:`~summarizer.finetune_loss.IGNORE` on the prompt, so the loss counts the target only.
- **Hygiene**: a training pair that is also held out (same id, or the same article after case
  and whitespace folding) stops the run; a pair that cannot be used (not JSON, no text, no
  reference, a stage error) is left out and kept in :attr:`Pairs.problems`, never dropped
  silently.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .adapters import METADATA
from .errors import ConfigError, InputError, ModelError
from .finetune_derive import COMPRESSION, FUSION, Derivation, compression, derivation_of, fusion, length_prompts
from .finetune_loss import IGNORE
from .generate import encode_prompt
from .ingest import ingest
from .prompt import resolve_format
from .records import Record
from .stages import model_stage, run_chain

if TYPE_CHECKING:
    from pathlib import Path

    from .finetune import FinetuneConfig

log = logging.getLogger("summarizer")


@dataclass
class Pairs:
    """Training (or held-out) pairs read from one file: the usable records, and the rest."""

    source: str
    records: list[Record] = field(default_factory=list)
    # One entry per pair left out: {"line": row number or None, "id": ..., "problem": ...}.
    problems: list[dict[str, Any]] = field(default_factory=list)
    # What build_prompts' derivation kept and dropped (None before it ran).
    derivation: Derivation | None = None

    def problem_summary(self, examples: int = 5) -> str:
        shown = "; ".join(_describe(p) for p in self.problems[:examples])
        more = f"; and {len(self.problems) - examples} more" if len(self.problems) > examples else ""
        return f"{shown}{more}"


def read_pairs(path: str | Path, text_field: str | None = None, reference_field: str | None = None,
               limit: int | None = None) -> Pairs:
    """The article/summary pairs of a table (read by :func:`summarizer.ingest.ingest`, which
    finds the text and reference fields); those that cannot be used are kept in
    ``problems`` with their line and id, not dropped silently."""
    pairs = Pairs(source=str(path))
    for record in ingest([str(path)], text_field, reference_field):
        if limit is not None and len(pairs.records) >= limit:
            break
        if record.error is not None:
            pairs.problems.append(_problem(record, record.error.removeprefix("ingest: ")))
        elif not record.reference:
            pairs.problems.append(_problem(record, "no reference summary (a 'summary', 'reference' or 'highlights' "
                                                   "field; or name it with --reference-field)"))
        else:
            pairs.records.append(record)
    return pairs


def _problem(record: Record, problem: str) -> dict[str, Any]:
    return {"line": record.meta.get("row"), "id": record.id, "problem": problem}


def _describe(problem: dict[str, Any]) -> str:
    where = f"line {problem['line']}" if problem.get("line") else "record"
    return f"{where} (id {problem['id']}): {problem['problem']}"


def report(pairs: Pairs, what: str) -> None:
    """Log the pairs left out (``what``: "training" or "held-out")."""
    if pairs.problems:
        total = len(pairs.records) + len(pairs.problems)
        log.warning("%d of %d %s pair(s) in %s cannot be used and are left out (listed in %s): %s",
                    len(pairs.problems), total, what, pairs.source, METADATA, pairs.problem_summary())


def normalized_text(text: str) -> str:
    """Case and whitespace folded: the same article copied twice compares equal."""
    return " ".join(text.casefold().split())


def check_overlap(train: Pairs, held: Pairs, examples: int = 5) -> None:
    """Refuse training pairs that are also held-out pairs (same id, or the same article)."""
    held_ids = {r.id for r in held.records}
    held_texts = {hashlib.sha256(normalized_text(r.text).encode()).hexdigest(): r.id for r in held.records}
    clashes = []
    for r in train.records:
        twin = held_texts.get(hashlib.sha256(normalized_text(r.text).encode()).hexdigest())
        if r.id in held_ids:
            clashes.append(f"id {r.id}" + (" (same article)" if twin is not None else ""))
        elif twin is not None:
            clashes.append(f"id {r.id} has the article of held-out id {twin}")
    if clashes:
        shown = "; ".join(clashes[:examples]) + (f"; and {len(clashes) - examples} more" if len(clashes) > examples else "")
        raise InputError(
            f"{len(clashes)} of {len(train.records)} training pair(s) in {train.source} are also in the held-out set "
            f"{held.source} ({shown}). Training on held-out articles makes their evaluation meaningless: remove them "
            "from the training file (or hold out other articles)."
        )


def prompt_stages(config) -> list[str]:
    """The pipeline's stages before its model stage: what makes the prompts its model is given.
    A pipeline without a model stage has nothing to fine-tune, and is refused."""
    at = model_stage(config.stages)
    if at is None:
        raise ConfigError(
            f"pipeline {config.name!r} has no model stage (stages: {', '.join(config.stages)}), so it has no "
            "prompt for a model to learn; use a pipeline with a prompt stage before its model stage, e.g. "
            "--pipeline abstractive."
        )
    return list(config.stages[:at])


def build_prompts(pairs: Pairs, pipe, check_facts: bool = True) -> Pairs:
    """Run the pipeline's :func:`prompt_stages` on the pairs (the registered stage code
    itself, so training prompts are exactly the prompts the pipeline will give the model),
    then derive the training examples of its model stage (:mod:`summarizer.finetune_derive`:
    compression for ``rewrite``, fusion for ``generate`` and any other); a pair a stage fails
    on joins the problems, and what the derivation drops is counted in ``pairs.derivation``.
    A fusion pipeline whose stages before the model stage make no prompt is refused."""
    stages = prompt_stages(pipe.config)
    model = pipe.config.stages[len(stages)]
    kind = derivation_of(pipe.config)
    kept = []
    for record in run_chain(stages, pairs.records, pipe.ctx):
        if record.error is None and kind == FUSION and record.prompt is None:
            if not kept:
                raise ConfigError(
                    f"pipeline {pipe.config.name!r} (stages: {', '.join(pipe.config.stages)}) cannot be fine-tuned: its "
                    f"stages before the model stage {model!r} ({', '.join(stages) or 'none'}) make no prompt, so there "
                    "is no model input to learn from; use a pipeline with a prompt stage before its model stage, "
                    "e.g. --pipeline abstractive."
                )
            record.error = f"the pipeline's stages before {model} ({', '.join(stages)}) made no prompt"
        if record.error is not None:
            pairs.problems.append(_problem(record, record.error))
        else:
            kept.append(record)
    if kind == FUSION:
        pairs.records, pairs.derivation = fusion(kept, check_facts, length_prompts(pipe.ctx))
    else:
        pairs.records, pairs.derivation = compression(kept, pipe.ctx)
    log.info("%s pairs, %s", pairs.source, pairs.derivation.describe())
    return pairs


def encode(pairs: Pairs, pipe, config: FinetuneConfig) -> list[dict[str, Any]]:
    """Token ids and labels per pair: the prompt exactly as the generate stage encodes it,
    then the reference and the end token; labels are the target ids, and ``IGNORE`` on the
    prompt (no loss there)."""
    tokenizer = pipe.ctx.tokenizer
    section = pipe.config.rewrite if derivation_of(pipe.config) == COMPRESSION else pipe.config.prompt
    end = end_token_id(tokenizer, chat=resolve_format(section, pipe.ctx) == "chat")
    limit = config.max_target_tokens or pipe.config.generate.max_new_tokens
    examples = []
    for record in pairs.records:
        prompt_ids = encode_prompt(tokenizer, record.prompt)
        target = record.reference.strip()
        # The model continues the prompt: after "TL;DR:" its first word comes with a space.
        if record.prompt and not record.prompt[-1].isspace():
            target = " " + target
        target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
        truncated = len(target_ids) >= limit
        target_ids = target_ids[:limit] if truncated else target_ids + [end]
        examples.append({
            "id": record.id,
            "input_ids": prompt_ids + target_ids,
            "labels": [IGNORE] * len(prompt_ids) + target_ids,
            "truncated": truncated,
        })
    return examples


def end_token_id(tokenizer, chat: bool) -> int:
    """What ends a summary: a chat model's end-of-turn token, else end-of-sequence (both
    stop the generate stage)."""
    if chat:
        vocab = tokenizer.get_vocab()
        for token in ("<end_of_turn>", "<|im_end|>", "<|eot_id|>"):
            if token in vocab:
                return vocab[token]
    if tokenizer.eos_token_id is None:
        raise ModelError("the model's tokenizer has no end-of-sequence token, so a summary's end cannot be taught; "
                         "use another model.")
    return tokenizer.eos_token_id
