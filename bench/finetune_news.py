"""Does fine-tuning help? LoRA on CNN/DM + XSum dev pairs, judged on held-out pairs of both.

    python bench/finetune_news.py                 (make finetune-news; about 75-80 min on a 2-core CPU)
    python bench/finetune_news.py --split-only    (only write the split files)

1. **Split** (deterministic: the files' own order, which is by id): the last ``--held-out``
   (100) pairs of ``cnndm.dev.jsonl`` and of ``xsum.dev.jsonl`` are held out
   (``build/finetune/{cnndm,xsum}.heldout.jsonl``, and both interleaved in
   ``heldout.jsonl``); all the others, interleaved, are the training pairs
   (``build/finetune/train.jsonl``). Nothing held out is trained on: ``finetune --eval``
   checks it again (ids and article texts).
2. **Fine-tune** the model (Gemma 3 270M) on the ``abstractive`` pipeline's own prompts:
   ``summarizer finetune build/finetune/train.jsonl -o build/finetune/adapter --eval
   build/finetune/heldout.jsonl --epochs 1 ...`` (the settings below are sized for about 55
   minutes on this project's 2-core CPU; a GPU is used when there is one). Stopped part-way,
   the same command (or this script) continues from the last checkpoint.
3. **Evaluate** lead3, abstractive and abstractive + adapter on both held-out sets in one report:
   ``summarizer eval-suite eval/finetune_news.toml -o build/finetune/eval`` (ROUGE with
   intervals and paired tests against lead3, faithfulness measures, lengths, speed), then
   print the differences fine-tuned minus abstractive, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from itertools import zip_longest
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "build" / "finetune"
SETS = ("cnndm", "xsum")

# Sized with a smoke run on this project's 2-core CPU (README, Fine-tuning): 25.4 s per step
# of 8 pairs on a busy machine, so one epoch of the 983 training pairs (123 steps) takes
# about 52 minutes, plus 2-3 minutes of preparation and held-out losses.
SETTINGS = {
    "--pipeline": "abstractive",
    "--epochs": "1",
    "--batch-size": "1",
    "--grad-accum": "8",
    "--learning-rate": "2e-4",
    "--lora-r": "8",
    "--seed": "0",
    "--save-steps": "10",
    "--eval-docs": "32",
}


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def interleave(*lists: list[str]) -> list[str]:
    return [item for group in zip_longest(*lists) for item in group if item is not None]


def split(held_out: int) -> dict[str, int]:
    """Write the split files; return their sizes."""
    OUT.mkdir(parents=True, exist_ok=True)
    train, held = [], []
    for name in SETS:
        lines = read_lines(DATA / f"{name}.dev.jsonl")
        if len(lines) <= held_out:
            sys.exit(f"{name}.dev.jsonl has only {len(lines)} pairs; hold out fewer than that (--held-out).")
        train.append(lines[:-held_out])
        held.append(lines[-held_out:])
        write(OUT / f"{name}.heldout.jsonl", lines[-held_out:])
    write(OUT / "train.jsonl", interleave(*train))
    write(OUT / "heldout.jsonl", interleave(*held))
    return {"train": sum(map(len, train)), **{f"{n}.heldout": len(h) for n, h in zip(SETS, held)}}


def write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def summarizer(*args: str) -> None:
    command = [sys.executable, "-m", "summarizer.cli", *args]
    print("$ summarizer " + " ".join(args), flush=True)
    subprocess.run(command, check=True, cwd=REPO)


def differences(report: dict) -> list[str]:
    """Fine-tuned minus abstractive (and minus lead3) per dataset, from the suite's report.json."""
    lines = []
    for dataset, entry in report["datasets"].items():
        systems = {s["name"]: s for s in entry["report"]["systems"]}
        tuned = systems.get("abstractive_ft")
        for other in ("abstractive", "lead3"):
            if tuned is None or other not in systems:
                continue
            deltas = ", ".join(f"{t} {tuned[t]['f'] - systems[other][t]['f']:+.2f}"
                               for t in ("rouge1", "rouge2", "rougeLsum") if t in tuned)
            lines.append(f"{dataset}: abstractive_ft - {other}: {deltas} (ROUGE F1 x100, N={tuned['n']})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--held-out", type=int, default=100, help="pairs held out at the end of each dev set")
    parser.add_argument("--split-only", action="store_true", help="only write the split files")
    parser.add_argument("--max-steps", default=None,
                        help="stop the fine-tuning after N optimizer steps [default: one epoch]")
    options = parser.parse_args()

    sizes = split(options.held_out)
    print(f"split: {json.dumps(sizes)} -> {OUT}", flush=True)
    if options.split_only:
        return
    start = time.perf_counter()
    settings = {**SETTINGS, **({"--max-steps": str(options.max_steps)} if options.max_steps else {})}
    summarizer("finetune", str(OUT / "train.jsonl"), "-o", str(OUT / "adapter"), "--eval", str(OUT / "heldout.jsonl"),
               *[item for pair in settings.items() for item in pair])
    trained = time.perf_counter()
    summarizer("eval-suite", "eval/finetune_news.toml", "-o", str(OUT / "eval"))
    done = time.perf_counter()
    report = json.loads((OUT / "eval" / "report.json").read_text(encoding="utf-8"))
    meta = json.loads((OUT / "adapter" / "summarizer-adapter.json").read_text(encoding="utf-8"))
    summary = {
        "split": sizes,
        "settings": settings,
        "finetune_seconds": round(trained - start, 1),
        "eval_seconds": round(done - trained, 1),
        "training": {k: meta["training"][k] for k in ("steps", "loss_first", "loss_last_10pct",
                                                       "eval_loss_before", "eval_loss_after")},
        "differences": differences(report),
    }
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    print(f"Report: {OUT / 'eval' / 'report.md'} (and report.html; per dataset in {OUT / 'eval'}/<dataset>/)")


if __name__ == "__main__":
    main()
