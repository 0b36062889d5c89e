"""Fine-tuning: a LoRA adapter for the pipeline's model, trained on the pipeline's own prompts.

    >>> result = finetune("train.jsonl", "build/adapter", eval_path="heldout.jsonl",
    ...                   config=FinetuneConfig(max_steps=200))          # doctest: +SKIP
    >>> summarize(text, adapter="build/adapter")                         # doctest: +SKIP

:func:`finetune` reads as its steps::

    read_pairs -> check_overlap -> build_prompts -> encode -> train -> save

- **Input**: what the pipeline's own stages before ``generate`` (chunk, extract, prompt; run
  through :data:`summarizer.stages.STAGES`) make of the article, so the model learns on
  exactly the prompts it will be given. **Target**: the reference summary, then the
  end-of-sequence token; the loss counts the target tokens only (prompt labels are -100).
- **The output layer only where it counts.** Gemma 3's head is 262,144 x 640, tied to the
  embedding: logits for a whole 450-token prompt would be 450 x 262k floats (470 MB, and most
  of the step's time) for the ~40 target positions that carry a loss. :func:`summary_loss`
  runs the decoder body to hidden states and applies the head at the target positions only.
- **LoRA** (``peft``) on every Linear layer of the decoder (attention and MLP projections),
  never on the tied embedding/head: about 1% of the weights train, and the adapter is a few MB.
- **transformers' Trainer** does the rest: AdamW, linear schedule with warm-up, gradient
  accumulation, a seeded data order, mixed precision on a GPU, and checkpoints in
  ``OUT/checkpoints`` every ``save_steps``; running the same command again resumes from the
  last one and ends with the same weights as an uninterrupted run.
- **Output**: ``OUT/adapter_model.safetensors`` + ``adapter_config.json`` (peft) and
  ``OUT/summarizer-adapter.json`` (base model, pipeline settings, seed, data counts, losses),
  written last: its presence means the training finished.

Data hygiene: a training pair that is also in the ``eval_path`` set (same id, or the same
article text after case and whitespace normalization) stops the run with
:class:`~summarizer.errors.InputError` naming them; pairs that cannot be used (not JSON, no
text, no reference, a stage error) are left out, counted, logged and listed in the metadata.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .adapters import CHECKPOINTS, METADATA, PEFT_CONFIG, WEIGHT_FILES, is_adapter_folder, weights_digest
from .errors import ConfigError, InputError, ModelError, OutputError
from .records import Record

log = logging.getLogger("summarizer")

RUN_FILE = "finetune-run.json"  # the run's identity, written when training starts: resume checks it
LOCK = ".finetune.lock"
IGNORE = -100  # label of positions without a loss (prompt, padding)


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
class Pairs:
    """Training (or held-out) pairs read from one file: the usable records, and the rest."""

    source: str
    records: list[Record] = field(default_factory=list)
    # One entry per pair left out: {"line": row number or None, "id": ..., "problem": ...}.
    problems: list[dict[str, Any]] = field(default_factory=list)

    def problem_summary(self, examples: int = 5) -> str:
        shown = "; ".join(_describe(p) for p in self.problems[:examples])
        more = f"; and {len(self.problems) - examples} more" if len(self.problems) > examples else ""
        return f"{shown}{more}"


@dataclass
class FinetuneResult:
    output: Path
    metadata: dict[str, Any]
    # False when the folder already held this run's finished adapter (nothing was trained).
    trained: bool = True


# ---------------------------------------------------------------------------------------------
# The orchestration


def finetune(
    pairs_path: str | Path,
    output: str | Path,
    pipeline: str = "abstractive",
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
    from filelock import FileLock, Timeout

    from .pipeline import Pipeline

    config = config or FinetuneConfig()
    config.check()
    output = Path(output)
    pipe = Pipeline.load(pipeline, model=model, overrides=overrides)
    _check_trainable(pipe.config)
    _check_output_folder(output)
    train = read_pairs(pairs_path, text_field, reference_field, limit=config.limit)
    held = read_pairs(eval_path, text_field, reference_field) if eval_path else None
    if held is not None:
        check_overlap(train, held)
    train = build_prompts(train, pipe)
    examples = encode(train, pipe, config)
    if not examples:
        raise InputError(f"no usable training pairs in {str(pairs_path)!r}"
                         + (f" ({len(train.problems)} left out: {train.problem_summary()})." if train.problems
                            else "."))
    _report(train, "training")
    held_examples: list[dict] = []
    if held is not None:
        _report(held, "held-out")
        if config.eval_docs:
            held.records = held.records[: config.eval_docs]
            held = build_prompts(held, pipe)
            held_examples = encode(held, pipe, config)
    identity = _identity(pipe.config, config, examples)

    output.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(output / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputError(f"adapter folder {str(output)!r} is in use by another 'summarizer finetune'; wait for it "
                          "to finish, or give another folder.") from None
    try:
        done = _finished(output, identity, force)
        if done is not None:
            log.info("%s already holds the finished adapter of this run; nothing to do (--force trains again).", output)
            return FinetuneResult(output, done, trained=False)
        return train_adapter(output, pipe, config, identity, examples, held_examples, train, held,
                             force=force, progress=progress, callbacks=list(callbacks))
    finally:
        lock.release()


def _check_trainable(config) -> None:
    if "generate" not in config.stages:
        raise ConfigError(
            f"pipeline {config.name!r} has no generate stage (stages: {', '.join(config.stages)}), so it has no "
            "prompt for a model to learn; use a pipeline with prompt and generate stages, e.g. --pipeline abstractive."
        )
    if config.generate.adapter or is_adapter_folder(config.generate.model):
        raise ConfigError(
            "fine-tuning starts from a base model, not from an adapter; give the base model with --model "
            "(an adapter folder's summarizer-adapter.json names its base) and no --adapter / generate.adapter."
        )


def _check_output_folder(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise OutputError(f"adapter folder {str(output)!r} is a file; give a folder (created if missing).")
    if output.is_dir():
        ours = {METADATA, PEFT_CONFIG, CHECKPOINTS, RUN_FILE, LOCK, "README.md", *WEIGHT_FILES}
        foreign = sorted(p.name for p in output.iterdir() if p.name not in ours)
        if foreign:
            raise OutputError(
                f"folder {str(output)!r} is not empty and is not an adapter folder (it holds {', '.join(foreign[:5])}); "
                "give a new or empty folder for the adapter."
            )


# ---------------------------------------------------------------------------------------------
# Data


def read_pairs(path: str | Path, text_field: str | None = None, reference_field: str | None = None,
               limit: int | None = None) -> Pairs:
    """The article/summary pairs of a table (read by :func:`summarizer.ingest.ingest`, which
    finds the text and reference fields); those that cannot be used are kept in
    ``problems`` with their line and id, not dropped silently."""
    from .ingest import ingest

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


def _report(pairs: Pairs, what: str) -> None:
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


def build_prompts(pairs: Pairs, pipe) -> Pairs:
    """Run the pipeline's stages before ``generate`` on the pairs (the registered stage code
    itself, so training prompts are exactly the prompts the pipeline will give the model);
    a pair a stage fails on joins the problems."""
    from .stages import STAGES

    stages = pipe.config.stages[: pipe.config.stages.index("generate")]
    records: Iterable[Record] = iter(pairs.records)
    for name in stages:
        records = STAGES.get(name)(records, pipe.ctx)
    kept = []
    for record in records:
        if record.error is None and record.prompt is None:
            record.error = f"the pipeline's stages before generate ({', '.join(stages)}) made no prompt"
        if record.error is not None:
            pairs.problems.append(_problem(record, record.error))
        else:
            kept.append(record)
    pairs.records = kept
    return pairs


def encode(pairs: Pairs, pipe, config: FinetuneConfig) -> list[dict[str, Any]]:
    """Token ids and labels per pair: the prompt exactly as the generate stage encodes it,
    then the reference and the end token; labels are the target ids, and ``IGNORE`` on the
    prompt (no loss there)."""
    from .generate import encode_prompt
    from .prompt import resolve_format

    tokenizer = pipe.ctx.tokenizer
    end = end_token_id(tokenizer, chat=resolve_format(pipe.ctx) == "chat")
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


def collate(examples: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Pad on the right (training: every row starts at position 0; positions past a row's
    end have no attention and no loss)."""
    import torch

    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[row, :n] = torch.tensor(e["input_ids"])
        labels[row, :n] = torch.tensor(e["labels"])
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


# ---------------------------------------------------------------------------------------------
# The loss


def summary_loss(model, batch: dict[str, Any]):
    """(sum of the target tokens' negative log-likelihoods, number of target tokens).

    The decoder body gives hidden states for every position; the output layer is applied
    only where the next token is a target token (``labels[:, 1:] != IGNORE``), never to the
    whole sequence.
    """
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    where = targets != IGNORE
    logits = causal.get_output_embeddings()(hidden[:, :-1][where])  # [target tokens, vocab]
    cap = getattr(causal.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    total = torch.nn.functional.cross_entropy(logits.float(), targets[where], reduction="sum")
    return total, where.sum()


def check_loss(model, example: dict[str, Any], tokens: int = 96) -> None:
    """Compare :func:`summary_loss` with the model's own loss (full logits) on the end of one
    example: a model whose output layer does more than the head (and softcapping) would be
    trained on a wrong loss, so it is refused."""
    import torch

    batch = collate([{"input_ids": example["input_ids"][-tokens:], "labels": example["labels"][-tokens:]}], 0)
    batch = {k: v.to(next(model.parameters()).device) for k, v in batch.items()}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            total, count = summary_loss(model, batch)
            own = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    finally:
        model.train(was_training)
    ours = float(total / count)
    if not math.isclose(ours, float(own), rel_tol=1e-3, abs_tol=1e-3):
        raise ModelError(
            f"the target-only loss ({ours:.4f}) differs from the model's own loss ({float(own):.4f}): this model's "
            "output layer does more than a linear head with softcapping, which the fine-tuning does not reproduce; "
            "use another model (Llama- and Gemma-style causal LMs work)."
        )


def mean_loss(model, examples: list[dict[str, Any]], pad_id: int, batch_size: int = 4) -> float | None:
    """Mean negative log-likelihood per target token over ``examples`` (None for none)."""
    import torch

    if not examples:
        return None
    device = next(model.parameters()).device
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(examples), batch_size):
                batch = {k: v.to(device) for k, v in collate(examples[start:start + batch_size], pad_id).items()}
                loss, n = summary_loss(model, batch)
                total, count = total + float(loss), count + int(n)
    finally:
        model.train(was_training)
    return total / max(count, 1)


# ---------------------------------------------------------------------------------------------
# Training


def _trainer_class():
    from transformers import Trainer

    class SummaryTrainer(Trainer):
        """The Trainer with the target-only loss. With gradient accumulation the Trainer
        passes the number of target tokens of the whole accumulated batch: the loss is then
        normalised by it (every token weighs the same), otherwise by this batch's count."""

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            total, count = summary_loss(self.accelerator.unwrap_model(model), inputs)
            loss = total / (num_items_in_batch if num_items_in_batch is not None else count.clamp(min=1))
            return (loss, None) if return_outputs else loss

    return SummaryTrainer


def _progress_callback(enabled: bool | None):
    from tqdm import tqdm
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        """A progress bar of optimizer steps showing the latest loss."""

        bar = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, unit="step", desc="fine-tuning",
                            disable=None if enabled is None else not enabled)

        def on_step_end(self, args, state, control, **kwargs):
            self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                self.bar.set_postfix(loss=f"{logs['loss']:.3f}", lr=f"{logs.get('learning_rate', 0):.1e}")

        def on_train_end(self, args, state, control, **kwargs):
            self.bar.close()

    return Progress()


def train_adapter(output: Path, pipe, config: FinetuneConfig, identity: dict[str, Any], examples: list[dict],
                  held_examples: list[dict], train: Pairs, held: Pairs | None, force: bool = False,
                  progress: bool | None = None, callbacks: list | None = None) -> FinetuneResult:
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import PrinterCallback, TrainingArguments, set_seed

    from .models import load_base_model, pick_device

    checkpoints = output / CHECKPOINTS
    resume = _resume_point(output, identity, force)
    gen = pipe.config.generate
    if gen.threads:
        torch.set_num_threads(gen.threads)
    device = pick_device(gen.device)
    if device.startswith("cuda:") and device != "cuda:0":
        raise ConfigError(f"finetune trains on the first visible GPU, not {device}; choose the GPU with "
                          f"CUDA_VISIBLE_DEVICES={device.split(':')[1]} and --device cuda.")
    start = time.perf_counter()

    # The model: the base in fp32 (a GPU trains in bf16 autocast over it), LoRA on every
    # decoder Linear; the tied embedding/output head stay frozen and shared.
    set_seed(config.seed)
    base = load_base_model(gen.model, torch.float32)
    base.config.use_cache = False
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules="all-linear", bias="none", task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft asks transformers a question it has renamed
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        model = get_peft_model(base, lora)
    model.to(device)  # where the Trainer will train it: the held-out loss runs there too
    trainable, total = model.get_nb_trainable_parameters()
    targets = sorted({name.rsplit(".", 1)[-1] for name in model.peft_config["default"].target_modules})
    log.info("LoRA r=%d on %s: %s of %s weights train (%.2f%%)", config.lora_r, ", ".join(targets),
             f"{trainable:,}", f"{total:,}", 100 * trainable / total)
    check_loss(model, examples[0])
    pad_id = pipe.ctx.tokenizer.pad_token_id
    if resume is None:
        _write_json(output / RUN_FILE, {"identity": identity, "eval_loss_before": mean_loss(model, held_examples, pad_id)})
    run_state = json.loads((output / RUN_FILE).read_text(encoding="utf-8"))

    cuda = device.startswith("cuda")
    args = TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        learning_rate=config.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=config.warmup,
        weight_decay=config.weight_decay,
        seed=config.seed,
        data_seed=config.seed,
        logging_steps=1,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        label_names=["labels"],
        dataloader_num_workers=0,
        use_cpu=device == "cpu",
        bf16=cuda and torch.cuda.is_bf16_supported(),
        **_checkpointing_arguments(config.gradient_checkpointing),
    )
    if args.n_gpu > 1:
        # The target-only loss calls the model's body and head directly, which DataParallel
        # cannot split over GPUs; one GPU trains a model of this size quickly anyway.
        args._n_gpu = 1
    trainer = _trainer_class()(
        model=model,
        args=args,
        train_dataset=examples,
        data_collator=lambda batch: collate(batch, pad_id),
        callbacks=[_progress_callback(progress), *(callbacks or [])],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log line; the progress bar shows the loss
    if resume:
        log.info("Resuming from %s", resume)
    steps_before = trainer.state.global_step if resume is None else int(Path(resume).name.rsplit("-", 1)[-1])
    trained_at = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - trained_at
    steps_now = trainer.state.global_step - steps_before

    eval_after = mean_loss(model, held_examples, pad_id)
    transformers.utils.logging.disable_progress_bar()  # a bar for writing one small file
    model.save_pretrained(str(output))
    history = [entry for entry in trainer.state.log_history if "loss" in entry]
    losses = [round(entry["loss"], 4) for entry in history]
    tail = losses[-max(1, len(losses) // 10):]
    metadata = {
        "format": 1,
        "base_model": _portable_spec(gen.model),
        "pipeline": pipe.config.name,
        "pipeline_fingerprint": pipe.config.fingerprint(),
        "pipeline_settings": pipe.config.to_dict(),
        "settings": dataclasses.asdict(config),
        "lora_target_modules": targets,
        "trainable_parameters": trainable,
        "data": {
            "train": str(Path(train.source).resolve()),
            "pairs_used": len(examples),
            "pairs_left_out": len(train.problems),
            "left_out": train.problems,
            "targets_truncated": sum(e["truncated"] for e in examples),
            "tokens_per_pair": {
                "prompt_mean": round(sum(e["labels"].count(IGNORE) for e in examples) / len(examples), 1),
                "target_mean": round(sum(len(e["labels"]) - e["labels"].count(IGNORE) for e in examples)
                                     / len(examples), 1),
                "max": max(len(e["input_ids"]) for e in examples),
            },
            "eval": str(Path(held.source).resolve()) if held is not None else None,
            "eval_pairs_for_loss": len(held_examples),
            "eval_left_out": held.problems if held is not None else [],
        },
        "training": {
            "steps": trainer.state.global_step,
            "epochs": round(trainer.state.epoch or 0, 3),
            "device": device,
            "seconds_this_session": round(time.perf_counter() - start, 1),
            "train_seconds_this_session": round(train_seconds, 1),
            "seconds_per_step": round(train_seconds / steps_now, 2) if steps_now else None,
            "resumed_from": Path(resume).name if resume else None,
            "loss_first": losses[0] if losses else None,
            "loss_last_10pct": round(sum(tail) / len(tail), 4) if losses else None,
            "eval_loss_before": run_state.get("eval_loss_before"),
            "eval_loss_after": eval_after,
            "loss_per_step": losses,
        },
        "run": identity,
        "weights_sha256": weights_digest(output),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": _version("peft"), "summarizer": _version("summarizer")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_json(output / METADATA, metadata)  # last: the folder is now a finished adapter
    shutil.rmtree(checkpoints, ignore_errors=True)
    (output / RUN_FILE).unlink(missing_ok=True)
    return FinetuneResult(output, metadata)


def _checkpointing_arguments(enabled: bool) -> dict[str, Any]:
    """TrainingArguments for gradient checkpointing (renamed activation checkpointing in
    transformers 5.x; the old names still work there, with a deprecation warning)."""
    from transformers import TrainingArguments

    prefix = "activation" if "activation_checkpointing" in TrainingArguments.__dataclass_fields__ else "gradient"
    if not enabled:
        return {}
    return {f"{prefix}_checkpointing": True, f"{prefix}_checkpointing_kwargs": {"use_reentrant": False}}


def _resume_point(output: Path, identity: dict[str, Any], force: bool) -> str | None:
    """The checkpoint to resume from (None: start afresh), after checking that it belongs
    to the same run; ``force`` clears the folder's earlier run instead."""
    from transformers.trainer_utils import get_last_checkpoint

    checkpoints = output / CHECKPOINTS
    if force:
        _clear(output)
        return None
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if last is None:
        return None
    try:
        earlier = json.loads((output / RUN_FILE).read_text(encoding="utf-8"))["identity"]
    except (OSError, ValueError, KeyError):
        earlier = None
    if earlier != identity:
        changed = _differences(earlier or {}, identity)
        raise OutputError(
            f"{output} holds checkpoints of a fine-tuning run with other settings or data "
            f"({changed or 'its settings file is missing'}); run the same command as before to continue it, give "
            "another folder, or add --force to start over here."
        )
    return last


def _finished(output: Path, identity: dict[str, Any], force: bool) -> dict[str, Any] | None:
    if not (output / METADATA).is_file() or force:
        return None
    try:
        metadata = json.loads((output / METADATA).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if metadata.get("run") == identity and weights_digest(output) == metadata.get("weights_sha256"):
        return metadata
    raise OutputError(
        f"{output} already holds a finished adapter trained with other settings or data "
        f"({_differences(metadata.get('run') or {}, identity) or 'its weights changed'}); give another folder, "
        "or add --force to replace it."
    )


def _clear(output: Path) -> None:
    """Remove what an earlier run left in ``output`` (only the files it writes)."""
    shutil.rmtree(output / CHECKPOINTS, ignore_errors=True)
    for name in (METADATA, PEFT_CONFIG, RUN_FILE, "README.md", *WEIGHT_FILES):
        (output / name).unlink(missing_ok=True)


def _identity(pipeline_config, config: FinetuneConfig, examples: list[dict]) -> dict[str, Any]:
    """What the trained weights depend on: a resumed run must match it."""
    settings = dataclasses.asdict(config)
    # Not in it: what changes neither the data nor the arithmetic (limit shows in the data digest).
    for name in ("save_steps", "eval_docs", "limit", "gradient_checkpointing"):
        settings.pop(name)
    data = hashlib.sha256(json.dumps([(e["input_ids"], e["labels"]) for e in examples]).encode()).hexdigest()
    return {"base_model": _portable_spec(pipeline_config.generate.model),
            "pipeline_fingerprint": pipeline_config.fingerprint(), "settings": settings,
            "data_sha256": data, "pairs": len(examples)}


def _differences(before: dict[str, Any], now: dict[str, Any]) -> str:
    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
        return out

    a, b = flat(before), flat(now)
    return ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def _portable_spec(spec: str) -> str:
    """A model spec that still means the same model from another folder."""
    if spec == "default":
        return spec
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() else spec


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None
