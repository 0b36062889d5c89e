"""What one fine-tuning pair costs: the target-only loss against the full-logits loss, and
gradient checkpointing, on the default model (Gemma 3 270M) and real CNN/DM + XSum prompts.

    python bench/finetune_step.py [--pairs 6]      (part of neither make target; about 4 min)

Each variant runs in a process of its own (so that its peak memory is its own): load the
model, add LoRA as ``summarizer finetune`` does, then a forward and backward pass per pair
(no optimizer step) over the same pairs from the training file of bench/finetune_news.py
(``build/finetune/train.jsonl``; run ``python bench/finetune_news.py --split-only`` first).
Printed: seconds per pair (the first pair, a warm-up, not counted), peak RSS, and the ratio
to the target-only variant measured in the same run.

- ``target_only``: :func:`summarizer.finetune_loss.summary_loss` (the head at target positions only)
- ``full_logits``: the model's own loss (``model(input_ids, labels=...)``: logits for every position)
- ``target_only_checkpointing``: the first with gradient checkpointing (activations recomputed
  in the backward pass instead of kept)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRAIN = REPO / "build" / "finetune" / "train.jsonl"
VARIANTS = ("target_only", "full_logits", "target_only_checkpointing")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(variant: str, pairs: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model

    from summarizer.finetune import FinetuneConfig
    from summarizer.finetune_loss import collate, summary_loss
    from summarizer.finetune_pairs import build_prompts, encode, read_pairs
    from summarizer.models import load_base_model
    from summarizer.pipeline import Pipeline

    pipe = Pipeline.load("abstractive")  # what `summarizer finetune` trains for by default
    examples = encode(build_prompts(read_pairs(TRAIN, limit=pairs + 1), pipe), pipe, FinetuneConfig())
    model = get_peft_model(load_base_model("default", torch.float32),
                           LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"))
    if variant.endswith("checkpointing"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    loaded = rss_mb()
    times = []
    for example in examples:
        batch = collate([example], pipe.ctx.tokenizer.pad_token_id)
        start = time.perf_counter()
        if variant == "full_logits":
            loss = model(**batch).loss
        else:
            total, count = summary_loss(model, batch)
            loss = total / count
        loss.backward()
        times.append(time.perf_counter() - start)
    tokens = sum(len(e["input_ids"]) for e in examples[1:]) / max(len(examples) - 1, 1)
    return {"variant": variant, "seconds_per_pair": round(sum(times[1:]) / len(times[1:]), 3),
            "tokens_per_pair": round(tokens, 1), "rss_after_load_mb": round(loaded), "peak_rss_mb": round(rss_mb())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)  # one child process
    options = parser.parse_args()
    if options.variant:
        print(json.dumps(measure(options.variant, options.pairs)))
        return
    if not TRAIN.is_file():
        sys.exit(f"{TRAIN} is missing; run 'python bench/finetune_news.py --split-only' first.")
    results = []
    for variant in VARIANTS:
        out = subprocess.run([sys.executable, __file__, "--variant", variant, "--pairs", str(options.pairs)],
                             check=True, capture_output=True, text=True, cwd=REPO)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    base = results[0]
    for r in results[1:]:
        print(f"{r['variant']}: {r['seconds_per_pair'] / base['seconds_per_pair']:.2f}x the time per pair, "
              f"peak RSS {r['peak_rss_mb'] - base['peak_rss_mb']:+d} MB against target_only")
    out = REPO / "build" / "bench" / "finetune_step.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
