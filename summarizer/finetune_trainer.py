"""Training: a LoRA adapter for the pipeline's model, trained by transformers' Trainer.

    >>> metadata = train_adapter(folder, pipe, config, identity, examples, held_examples,
    ...                          train, held)                               # doctest: +SKIP

- **LoRA** (``peft``) on every Linear layer of the decoder (attention and MLP projections),
  never on the tied embedding/head: about 1% of the weights train, and the adapter is a few MB.
- **transformers' Trainer** with the target-only loss of :mod:`summarizer.finetune_loss` does
  the rest: AdamW, linear schedule with warm-up, gradient accumulation, a seeded data order,
  mixed precision on a GPU, and checkpoints in ``OUT/checkpoints`` every ``save_steps``; a run
  resumed from the last one ends with the same weights as an uninterrupted run.
- **Output**: the peft adapter and its metadata (base model, pipeline settings, seed, data
  counts, losses), written into the :class:`~summarizer.finetune_folder.AdapterFolder`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .adapters import base_digest, weights_digest
from .errors import ConfigError
from .finetune_folder import AdapterFolder, portable_spec
from .finetune_loss import IGNORE, check_loss, collate, mean_loss, summary_loss
from .finetune_pairs import Pairs
from .models import load_base_model, pick_device

if TYPE_CHECKING:
    from .finetune import FinetuneConfig

log = logging.getLogger("summarizer")


def train_adapter(folder: AdapterFolder, pipe, config: FinetuneConfig, identity: dict[str, Any],
                  examples: list[dict], held_examples: list[dict], train: Pairs, held: Pairs | None,
                  force: bool = False, progress: bool | None = None, callbacks: list | None = None) -> dict[str, Any]:
    """Train (or resume training) into ``folder``; return the metadata written there."""
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import PrinterCallback, set_seed

    resume = folder.resume_point(identity, force)
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
        folder.start(identity, eval_loss_before=mean_loss(model, held_examples, pad_id))
    run_state = folder.run_state()

    args = _arguments(config, folder.checkpoints, device)
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
    model.save_pretrained(str(folder.path))
    history = [entry for entry in trainer.state.log_history if "loss" in entry]
    losses = [round(entry["loss"], 4) for entry in history]
    tail = losses[-max(1, len(losses) // 10):]
    metadata = {
        "format": 1,
        "base_model": portable_spec(gen.model),
        "base_sha256": base_digest(gen.model),
        "pipeline": pipe.config.name,
        "pipeline_fingerprint": pipe.config.fingerprint(),
        "pipeline_settings": pipe.config.to_dict(),
        "settings": dataclasses.asdict(config),
        "lora_target_modules": targets,
        "trainable_parameters": trainable,
        "data": _data_summary(examples, held_examples, train, held),
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
        "weights_sha256": weights_digest(folder.path),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": _version("peft"), "summarizer": _version("summarizer")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    folder.complete(metadata)
    return metadata


def _arguments(config: FinetuneConfig, checkpoints: Path, device: str):
    """The Trainer's settings: ``config``'s, checkpoints every ``save_steps``, and the
    seeded data order that makes a resumed run end with the same weights."""
    import torch
    from transformers import TrainingArguments

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
    return args


def _checkpointing_arguments(enabled: bool) -> dict[str, Any]:
    """TrainingArguments for gradient checkpointing (renamed activation checkpointing in
    transformers 5.x; the old names still work there, with a deprecation warning)."""
    from transformers import TrainingArguments

    prefix = "activation" if "activation_checkpointing" in TrainingArguments.__dataclass_fields__ else "gradient"
    if not enabled:
        return {}
    return {f"{prefix}_checkpointing": True, f"{prefix}_checkpointing_kwargs": {"use_reentrant": False}}


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


def _data_summary(examples: list[dict], held_examples: list[dict], train: Pairs, held: Pairs | None) -> dict[str, Any]:
    """The metadata's account of the data: what was used, what was left out and why, lengths."""
    return {
        "train": str(Path(train.source).resolve()),
        "pairs_used": len(examples),
        "pairs_left_out": len(train.problems),
        "derivation": train.derivation.as_dict() if train.derivation else None,
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
    }


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None
