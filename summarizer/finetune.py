"""Fine-tuning: a LoRA adapter for the pipeline's model, trained on the pipeline's own prompts.

    >>> result = finetune("train.jsonl", "build/adapter", eval_path="heldout.jsonl",
    ...                   config=FinetuneConfig(max_steps=200))          # doctest: +SKIP
    >>> summarize(text, adapter="build/adapter")                         # doctest: +SKIP

:func:`finetune` reads as its steps::

    read_pairs -> check_overlap -> build_prompts (+ derive) -> encode -> train -> save

one module per job:

- ``finetune_pairs``: **input** is what the pipeline's own stages before its model stage
  (chunk, extract, prompt in ``abstractive``) make of the article, so the model learns on
  exactly the prompts it will be given; **target** is the reference summary, then the
  end-of-sequence token.
- ``finetune_derive``: the **targets** of the model stage's task, from the reference: fusion
  (the extract's prompt, the reference sentences the extract supports) for ``generate``,
  compression (one article sentence, the shorter reference sentence drawn from it) for
  ``rewrite``; what each keeps and drops is counted in the metadata.
- ``finetune_loss``: the loss counts the target tokens only (prompt labels are -100), and the
  output layer is applied only where it counts: Gemma 3's head is 262,144 x 640, so logits for
  a whole 450-token prompt would be 470 MB and most of the step's time.
- ``finetune_trainer``: LoRA (``peft``) on every Linear layer of the decoder, trained by
  transformers' Trainer with checkpoints in ``OUT/checkpoints`` every ``save_steps``; running
  the same command again resumes from the last one and ends with the same weights as an
  uninterrupted run.
- ``finetune_folder``: the output folder, one run at a time: ``OUT/adapter_model.safetensors``
  + ``adapter_config.json`` (peft) and ``OUT/summarizer-adapter.json`` (base model, pipeline
  settings, seed, data counts, losses), written last: its presence means the training finished.

Nothing heavy (torch, transformers, peft) is imported by these modules themselves.

Data hygiene: a training pair that is also in the ``eval_path`` set (same id, or the same
article text after case and whitespace normalization) stops the run with
:class:`~summarizer.errors.InputError` naming them; pairs that cannot be used (not JSON, no
text, no reference, a stage error) are left out, counted, logged and listed in the metadata.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .adapters import BUILTIN, is_adapter_folder
from .errors import ConfigError, InputError
from .finetune_folder import AdapterFolder, run_identity
from .finetune_pairs import build_prompts, check_overlap, encode, prompt_stages, read_pairs, report
from .finetune_trainer import train_adapter
from .pipeline import Pipeline

log = logging.getLogger("summarizer")


@dataclass
class FinetuneConfig:
    """Training settings (the pipeline's own settings are the pipeline's)."""

    epochs: float = 1.0
    # Optimizer steps; 0 = as many as ``epochs`` take.
    max_steps: int = 0
    learning_rate: float = 2e-4
    # Pairs per forward pass, and passes per optimizer step (the effective batch is the product).
    batch_size: int = 1
    grad_accum: int = 8
    # Share of the steps with a linear warm-up of the learning rate.
    warmup: float = 0.05
    weight_decay: float = 0.0
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    seed: int = 0
    # Target tokens kept per pair (longer references are cut and get no end token; the model
    # will not write more than generate.max_new_tokens anyway); 0 = generate.max_new_tokens.
    max_target_tokens: int = 0
    # A checkpoint every this many optimizer steps (what an interrupted run resumes from).
    save_steps: int = 25
    # Recompute activations in the backward pass instead of keeping them: on the default
    # model and news prompts 1.38x the time for ~1 GB less peak memory (bench/finetune_step.py),
    # so off unless memory is short.
    gradient_checkpointing: bool = False
    # Held-out pairs (the first N of eval_path) whose loss is measured before and after training.
    eval_docs: int = 64
    # Only the first N usable training pairs (None: all).
    limit: int | None = None
    # Keep only the reference sentences whose numbers and names the model's input holds
    # (finetune_derive): False keeps fusion targets whole.
    check_facts: bool = True

    def check(self) -> None:
        for name in ("batch_size", "grad_accum", "lora_r", "save_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"finetune: {name} must be at least 1, got {getattr(self, name)}.")
        if self.max_steps < 0 or self.epochs <= 0 and not self.max_steps:
            raise ConfigError("finetune: give a positive number of epochs or --max-steps N.")
        if not 0 <= self.warmup < 1 or not 0 <= self.lora_dropout < 1:
            raise ConfigError("finetune: warmup and lora_dropout must be in [0, 1).")
        if self.learning_rate <= 0:
            raise ConfigError(f"finetune: learning_rate must be positive, got {self.learning_rate}.")


@dataclass
class FinetuneResult:
    """What :func:`finetune` returns: the adapter folder and the metadata written there."""

    output: Path
    metadata: dict[str, Any]
    # False when the folder already held this run's finished adapter (nothing was trained).
    trained: bool = True


# ---------------------------------------------------------------------------------------------
# The orchestration


def finetune(
    pairs_path: str | Path,
    output: str | Path,
    pipeline: str = "default",
    model: str | None = None,
    overrides: Sequence[str] = (),
    eval_path: str | Path | None = None,
    config: FinetuneConfig | None = None,
    text_field: str | None = None,
    reference_field: str | None = None,
    force: bool = False,
    progress: bool | None = None,
    callbacks: Iterable = (),
) -> FinetuneResult:
    """Train a LoRA adapter for ``pipeline``'s model on the pairs in ``pairs_path`` and
    save it in ``output``; an interrupted run in ``output`` is resumed (``force``: start
    over). ``callbacks`` are extra ``transformers.TrainerCallback`` objects."""

    config = config or FinetuneConfig()
    config.check()
    folder = AdapterFolder(output)
    pipe = Pipeline.load(pipeline, model=model, overrides=overrides)
    _check_trainable(pipe.config)
    folder.check()
    train = read_pairs(pairs_path, text_field, reference_field, limit=config.limit)
    held = read_pairs(eval_path, text_field, reference_field) if eval_path else None
    if held is not None:
        check_overlap(train, held)
    train = build_prompts(train, pipe, config.check_facts)
    examples = encode(train, pipe, config)
    if not examples:
        raise InputError(f"no usable training pairs in {str(pairs_path)!r}"
                         + (f" ({len(train.problems)} left out: {train.problem_summary()})." if train.problems
                            else "."))
    report(train, "training")
    held_examples: list[dict] = []
    if held is not None:
        report(held, "held-out")
        if config.eval_docs:
            held.records = held.records[: config.eval_docs]
            held = build_prompts(held, pipe, config.check_facts)
            held_examples = encode(held, pipe, config)
    identity = run_identity(pipe.config, config, examples)

    with folder.locked():
        done = folder.finished(identity, force)
        if done is not None:
            log.info("%s already holds the finished adapter of this run; nothing to do (--force trains again).",
                     folder.path)
            return FinetuneResult(folder.path, done, trained=False)
        metadata = train_adapter(folder, pipe, config, identity, examples, held_examples, train, held,
                                 force=force, progress=progress, callbacks=list(callbacks))
        return FinetuneResult(folder.path, metadata)


def _check_trainable(config) -> None:
    prompt_stages(config)  # refuses a pipeline without a model stage
    if config.generate.adapter == BUILTIN:
        # The default pipeline's built-in adapter is what a run trains again: start from its base.
        log.info("Training from the base model %r, without the built-in adapter.", config.generate.model)
        config.generate.adapter = ""
    if config.generate.adapter or is_adapter_folder(config.generate.model):
        raise ConfigError(
            "fine-tuning starts from a base model, not from an adapter; give the base model with --model "
            "(an adapter folder's summarizer-adapter.json names its base) and no --adapter / generate.adapter."
        )
