"""The same pipeline on the transformers fast decoder and on llama.cpp, with the same model.

    python bench/backends.py [--articles 10] [--pipeline abstractive] [--json build/bench/backends.json]

Both backends run the embedded Gemma 3 270M: llama.cpp reads its GGUF file as it is,
transformers a converted fp32 copy of that file. The built-in adapter is switched off on both
(llama.cpp cannot apply it), so that the two run the same weights. Each backend runs in its own
subprocess (this script with ``--only``), so that each one's peak RSS is its own: the model
load and one warm-up article are timed apart, then the pipeline over the first ``--articles``
CNN/DailyMail dev articles. Reported per backend: seconds per article for the whole pipeline
and for the generate stage alone (the records' traces), ROUGE-1/2/Lsum F1 against the
references, peak RSS; between them: how many summaries and generations are identical, and the
ratio of seconds per article (transformers / llama.cpp; below 1 the transformers path is faster).
Without llama-cpp-python only the transformers side runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BACKENDS = ("transformers", "llama.cpp")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")


def load_rows(path: Path, n: int) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for _, line in zip(range(n), handle)]


def measure(backend: str, args: argparse.Namespace) -> dict:
    """One backend, in this process (the ``--only`` child)."""
    from summarizer.pipeline import Pipeline

    # One row beyond the measured ones for the warm-up: llama.cpp keeps the last prompt's
    # attention cache, so warming up on a measured article would give that one a free prefill.
    rows = load_rows(args.data, args.articles + 1)
    texts, spare = [r["article"] for r in rows[:args.articles]], rows[-1]["article"]
    overrides = [f'generate.backend="{backend}"'] + ([f"generate.threads={args.threads}"] if args.threads else [])
    start = time.perf_counter()
    pipe = Pipeline.load(args.pipeline, overrides=overrides, adapter="")
    pipe.run_texts([spare])  # the model is loaded on first use
    warm = time.perf_counter() - start
    start = time.perf_counter()
    records = pipe.run_texts(texts)
    seconds = time.perf_counter() - start
    generate = [e for r in records for e in r.trace if e["stage"] == "generate"]
    if backend == "transformers":
        import torch

        threads, version = torch.get_num_threads(), torch.__version__
    else:
        import llama_cpp

        threads, version = pipe.ctx.model.n_threads, llama_cpp.__version__
    return {
        "version": version,
        "threads_used": threads,
        "load_and_warmup_seconds": round(warm, 2),
        "seconds_per_article": round(seconds / len(texts), 3),
        "generate_seconds_per_article": round(sum(e["seconds"] for e in generate) / len(texts), 3),
        "new_tokens_per_article": round(sum(e.get("new_tokens") or 0 for e in generate) / len(texts), 1),
        "fallbacks": sum(r.fallback for r in records),
        "errors": [r.error for r in records if r.error],
        # Linux reports kilobytes. This child imports nothing but the pipeline and one backend.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "summaries": [r.summary or "" for r in records],
        "generations": [r.generation or "" for r in records],
    }


def spawn(backend: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--only", backend, "--result", str(out), "--data", str(args.data),
                   "--articles", str(args.articles), "--pipeline", args.pipeline, "--threads", str(args.threads)]
        done = subprocess.run(command, cwd=REPO, env=os.environ | {"PYTHONPATH": str(REPO)})
        if done.returncode != 0:
            raise SystemExit(f"the {backend} run failed (exit status {done.returncode}); its messages are above.")
        return json.loads(out.read_text(encoding="utf-8"))


def rouge(summaries: list[str], rows: list[dict]) -> dict:
    from summarizer.evaluation.rouge import Rouge

    scorer, totals = Rouge(), dict.fromkeys(ROUGE_TYPES, 0.0)
    for summary, row in zip(summaries, rows):
        scores = scorer.score(row["summary"], summary)
        for name in ROUGE_TYPES:
            totals[name] += scores[name].fmeasure
    # Rouge() already scales by 100.
    return {name: round(total / len(rows), 2) for name, total in totals.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10, help="the first N articles of the data file")
    # abstractive: the few-shot pipeline, in which the base model writes (~55 new tokens per
    # article); the default's prompt is answered by the base model with an end at once (its
    # adapter, which llama.cpp cannot apply, is what makes it write), so both would time the extract.
    parser.add_argument("--pipeline", default="abstractive")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "cnndm.dev.jsonl")
    # Equal threads by default: left to themselves, torch takes the physical cores and
    # llama.cpp half the logical CPUs, which on a small machine is not the same number.
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="generate.threads for both [default: this process's CPUs; 0: each backend's own]")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "backends.json")
    parser.add_argument("--only", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if not args.data.is_file():
        print(f"skipped: {args.data} is missing (the CNN/DailyMail dev articles, in ../shared/data).")
        return 0
    if args.only:
        args.result.write_text(json.dumps(measure(args.only, args)), encoding="utf-8")
        return 0

    backends = list(BACKENDS)
    if importlib.util.find_spec("llama_cpp") is None:
        print("llama-cpp-python is not installed: the llama.cpp side is skipped "
              "(pip install '.[llamacpp]' or make test-backends installs it).", flush=True)
        backends.remove("llama.cpp")
    results = {}
    for backend in backends:
        print(f"{backend}: {args.articles} articles, pipeline {args.pipeline!r}, no adapter ...", flush=True)
        results[backend] = spawn(backend, args)
    rows = load_rows(args.data, args.articles)
    for result in results.values():
        result["rouge"] = rouge(result["summaries"], rows)

    report = {
        "articles": len(rows),
        "data": str(args.data),
        "pipeline": args.pipeline,
        "adapter": "",
        "model": "default (the embedded Gemma 3 270M GGUF; fp32 conversion of it on transformers)",
        "threads": args.threads,
        "versions": {"python": platform.python_version(), "torch": results["transformers"]["version"],
                     "llama_cpp": results["llama.cpp"]["version"] if "llama.cpp" in results else None},
        "peak_rss_note": "ru_maxrss of each backend's own subprocess (model load, warm-up and the timed run)",
        "backends": {name: {k: v for k, v in r.items() if k not in ("summaries", "generations", "version")}
                     for name, r in results.items()},
    }
    if len(results) == 2:
        a, b = results["transformers"], results["llama.cpp"]
        report["identical_summaries"] = f"{sum(x == y for x, y in zip(a['summaries'], b['summaries']))}/{len(rows)}"
        report["identical_generations"] = \
            f"{sum(x == y for x, y in zip(a['generations'], b['generations']))}/{len(rows)}"
        report["ratio_transformers_to_llamacpp_seconds"] = round(a["seconds_per_article"] / b["seconds_per_article"], 2)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")

    print(f"\n{len(rows)} articles, pipeline {args.pipeline!r} without adapter, threads {args.threads or 'default'}")
    print(f"{'backend':<13}{'load+warm s':>12}{'s/article':>11}{'generate s':>11}{'R-1':>7}{'R-2':>7}"
          f"{'R-Lsum':>8}{'peak RSS MB':>13}")
    for name, r in report["backends"].items():
        print(f"{name:<13}{r['load_and_warmup_seconds']:>12.1f}{r['seconds_per_article']:>11.3f}"
              f"{r['generate_seconds_per_article']:>11.3f}{r['rouge']['rouge1']:>7.2f}{r['rouge']['rouge2']:>7.2f}"
              f"{r['rouge']['rougeLsum']:>8.2f}{r['peak_rss_mb']:>13}")
        if r["errors"]:
            print(f"  {name} errors: {r['errors']}")
    if len(results) == 2:
        ratio = report["ratio_transformers_to_llamacpp_seconds"]
        print(f"identical summaries {report['identical_summaries']}, generations {report['identical_generations']}")
        print(f"transformers / llama.cpp seconds per article: {ratio} "
              f"(transformers {'faster' if ratio < 1 else 'slower'} by {max(ratio, 1 / ratio):.2f}x)")
    print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
