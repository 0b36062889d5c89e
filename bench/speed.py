"""Speed of the default pipeline against a naive transformers loop, in one process.

    python bench/speed.py [--n 24] [--json build/bench/speed.json]   (make bench)

Both systems summarize the same CNN/DailyMail dev articles with the same model and the same
max_new_tokens. The naive baseline is what a first script does: the whole article plus
"TL;DR:", one `generate` call per article, fp32, greedy. The pipeline is `default` as
shipped (extractive budget, batching, stopping, and whatever speed settings it has).
Then variants of the pipeline, each with one speed option switched off (or a setting the
default leaves out switched on), run on the same articles to show each choice's effect on
speed and on quality (ROUGE against the references, and how many summaries stay word for word
the same).

Figures are ratios measured in the same run, because the machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_articles(path: Path, n: int) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for _, line in zip(range(n), handle)]
    return rows


def naive(rows: list[dict], max_new_tokens: int) -> dict:
    import torch

    from summarizer.generate import _StepClock
    from summarizer.models import load_model, load_tokenizer

    tokenizer, model = load_tokenizer("default"), load_model("default")
    out = {"prompt_tokens": 0, "new_tokens": 0, "prefill_seconds": 0.0, "decode_seconds": 0.0, "summaries": []}
    start = time.perf_counter()
    for row in rows:
        encoded = tokenizer(row["article"] + "\n\nTL;DR:", return_tensors="pt")
        clock = _StepClock()
        t0 = time.perf_counter()
        with torch.inference_mode():
            ids = model.generate(**encoded, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, logits_processor=[clock])
        t1 = time.perf_counter()
        new = ids[0, encoded["input_ids"].shape[1]:]
        out["prompt_tokens"] += encoded["input_ids"].shape[1]
        out["new_tokens"] += len(new)
        out["prefill_seconds"] += clock.first - t0
        out["decode_seconds"] += t1 - clock.first
        out["summaries"].append(tokenizer.decode(new, skip_special_tokens=True).strip())
    out["seconds"] = time.perf_counter() - start
    return out


def pipeline(rows: list[dict], overrides: list[str], name: str = "default") -> dict:
    from summarizer.pipeline import Pipeline
    from summarizer.records import Record

    pipe = Pipeline.load(name, overrides=overrides)
    records = [Record(id=r["id"], text=r["article"], reference=r["summary"]) for r in rows]
    start = time.perf_counter()
    done = list(pipe.run(records))
    seconds = time.perf_counter() - start
    stages: dict[str, float] = {}
    batches: dict[int, dict] = {}
    out = {"prompt_tokens": 0, "new_tokens": 0}
    for record in done:
        for entry in record.trace:
            stages[entry["stage"]] = stages.get(entry["stage"], 0.0) + entry["seconds"]
            if entry["stage"] == "generate":
                out["prompt_tokens"] += entry["prompt_tokens"]
                out["new_tokens"] += entry["new_tokens"]
                # batch-level figures appear once per record of the batch: count each batch once
                key = (entry["batch_prefill_seconds"], entry["batch_decode_seconds"], entry["batch_decode_steps"])
                batches[hash(key)] = entry
    out["prefill_seconds"] = sum(b["batch_prefill_seconds"] for b in batches.values())
    out["decode_seconds"] = sum(b["batch_decode_seconds"] for b in batches.values())
    out.update(seconds=seconds, stages={k: round(v, 2) for k, v in stages.items()},
               summaries=[r.summary or "" for r in done], fallbacks=sum(r.fallback for r in done),
               errors=[r.error for r in done if r.error])
    return out


def rouge(summaries: list[str], rows: list[dict]) -> dict:
    from summarizer.evaluation.rouge import ROUGE_TYPES, Rouge

    scorer = Rouge()
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for summary, row in zip(summaries, rows):
        for name, score in scorer.score(row["summary"], summary).items():
            totals[name] += score.fmeasure
    return {name: round(total / len(rows), 2) for name, total in totals.items()}


def describe(name: str, result: dict, n: int) -> dict:
    return {
        "system": name,
        "articles_per_second": round(n / result["seconds"], 4),
        "seconds_per_article": round(result["seconds"] / n, 2),
        "prefill_tokens_per_second": round(result["prompt_tokens"] / max(result["prefill_seconds"], 1e-9), 1),
        "decode_tokens_per_second": round(result["new_tokens"] / max(result["decode_seconds"], 1e-9), 1),
        "prompt_tokens_per_article": round(result["prompt_tokens"] / n, 1),
        "new_tokens_per_article": round(result["new_tokens"] / n, 1),
    }


# Variants of the default pipeline: each switches one speed option off (or, for a setting the
# default does not use, on), to measure what the default's choice gains and costs; and the
# other model pipeline. name -> (pipeline, overrides)
OPTIONS = {
    "the model's own generate() instead of the fast decoder (generate.decoder=transformers)":
        ("default", ["generate.decoder=transformers"]),
    "transformers' Gemma 3 class instead of summarizer's own forward pass (generate.forward=transformers)":
        ("default", ["generate.forward=transformers"]),
    "without batching (batch_size=1 instead of 16)": ("default", ["generate.batch_size=1"]),
    "without the candidate-vocabulary head (head_vocab=0: all 262k tokens)": ("default", ["generate.head_vocab=0"]),
    "without prompt lookup (lookup_tokens=0)": ("default", ["generate.lookup_tokens=0"]),
    "without the stops at the summary's end (no blank-line or loop stop)":
        ("default", ["generate.stop=[]", "generate.loop_ngram=0"]),
    "without the built-in adapter (--no-adapter: the base model alone)": ("default", ['generate.adapter=""']),
    "with bf16 matrix products (generate.dtype=mixed; fp32 by default)": ("default", ["generate.dtype=mixed"]),
    "the compress pipeline (each extracted sentence rewritten shorter, few-shot; the default before)":
        ("compress", []),
    "the abstractive pipeline (few-shot highlights of a 400-token extract)":
        ("abstractive", []),
}


# The child reports its own high-water mark: getrusage(RUSAGE_CHILDREN) would also count the
# moment after fork() when the child still shares this (large) process's memory.
CHILD = """
import sys
from summarizer.cli import main
try:
    main(prog_name="summarizer")
finally:
    with open("/proc/self/status") as status:
        peak = [line.split()[1] for line in status if line.startswith("VmHWM")]
    sys.stderr.write(f"peak-rss-kb {peak[0] if peak else -1}\\n")
"""


def run_peak_rss(rows: list[dict], max_new: int) -> dict:
    """Peak RSS and wall time of `summarizer run` on the same articles, in a child process
    (this process holds extra models and the baseline's buffers). Linux (/proc) only."""
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles.jsonl"
        source.write_text("".join(json.dumps({"id": r["id"], "text": r["article"]}) + "\n" for r in rows))
        command = [sys.executable, "-c", CHILD, "--quiet", "run", str(source), "-o", str(Path(tmp) / "out"),
                   "--set", f"generate.max_new_tokens={max_new}"]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=os.environ | {"PYTHONPATH": str(REPO)},
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"summarizer run failed:\n{done.stderr}")
    peak = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("peak-rss-kb")]
    return {"peak_rss_mb": round(int(peak[-1]) / 1024) if peak else None, "seconds_with_load": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description="Speed of the default pipeline vs a naive transformers loop.")
    parser.add_argument("--n", type=int, default=24, help="articles (first N of the data file)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "cnndm.dev.jsonl")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="for both systems [default: the default pipeline's generate.max_new_tokens]")
    parser.add_argument("--skip-options", action="store_true", help="do not measure the variants")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "speed.json")
    args = parser.parse_args()

    from summarizer.config import load_pipeline
    from summarizer.models import load_model, load_tokenizer, resolve

    max_new = args.max_new_tokens or load_pipeline("default").generate.max_new_tokens
    rows = load_articles(args.data, args.n)
    resolve("default")  # converts on first use; not part of the load time
    start = time.perf_counter()
    load_tokenizer("default"), load_model("default")
    load_seconds = time.perf_counter() - start
    print(f"model load: {load_seconds:.1f} s; {len(rows)} articles; max_new_tokens={max_new}", flush=True)

    # One untimed pass of the pipeline over two articles: the first run in a process pays
    # one-time costs (tokenizer warm-up, the candidate head's vocabulary scan, allocator
    # growth) that would otherwise count against whichever system runs first.
    pipeline(rows[:2], [f"generate.max_new_tokens={max_new}"])
    base = naive(rows, max_new)
    print("naive:   ", json.dumps(describe("naive", base, len(rows))), flush=True)
    fast = pipeline(rows, [f"generate.max_new_tokens={max_new}"])
    print("default: ", json.dumps(describe("default", fast, len(rows))), flush=True)
    report = {
        "n": len(rows),
        "max_new_tokens": max_new,
        "model_load_seconds": round(load_seconds, 2),
        "naive": describe("naive", base, len(rows)) | {"rouge": rouge(base["summaries"], rows)},
        "default": describe("default", fast, len(rows)) | {
            "rouge": rouge(fast["summaries"], rows), "stage_seconds": fast["stages"],
            "fallbacks": fast["fallbacks"], "errors": fast["errors"],
        },
        "options": [],
    }
    report["speedup"] = round(report["default"]["articles_per_second"] / report["naive"]["articles_per_second"], 2)
    print(f"speed-up of default over naive: {report['speedup']}x", flush=True)
    if not args.skip_options:
        for option, (name, off) in OPTIONS.items():
            without = pipeline(rows, [f"generate.max_new_tokens={max_new}", *off] if name == "default" else off, name)
            same = sum(a == b for a, b in zip(fast["summaries"], without["summaries"]))
            entry = {
                "variant": option,
                "pipeline": name,
                "overrides": off,
                # > 1: the default is that many times faster than the variant.
                "variant_time_over_default": round(without["seconds"] / fast["seconds"], 2),
                "rouge_default": report["default"]["rouge"],
                "rouge_variant": rouge(without["summaries"], rows),
                "identical_summaries": f"{same}/{len(rows)}",
            }
            report["options"].append(entry)
            print("option:  ", json.dumps(entry), flush=True)
            if any("dtype" in o for o in off):  # free the variant's extra copy of the model
                from summarizer.models import _load_model

                _load_model.cache_clear()
    report["bench_process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    report["summarizer_run"] = run_peak_rss(rows, max_new)
    print(f"peak RSS of `summarizer run` on the same articles: {report['summarizer_run']['peak_rss_mb']} MB "
          f"({report['summarizer_run']['seconds_with_load']} s with start-up and model load)", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    sys.exit(main())
