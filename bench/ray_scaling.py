"""Throughput of the Ray engine against the local engine, in one process, on the same inputs.

    python bench/ray_scaling.py [--n 24] [--workers 1 2] [--json build/bench/ray.json]

Each engine summarizes the same CNN/DailyMail dev articles with the `default` pipeline into its
own fresh output folder, from a cold model: the local engine loads the model in this process
(its cache is cleared first), each Ray actor loads its own. Starting the local Ray instance is
timed apart (a cluster is started once, not per run). Reported: seconds, articles/s, the Ray
engine's articles/s relative to the local engine's, and whether the summaries are identical.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "cnndm.dev.jsonl"


def summaries(path: Path) -> list[tuple[str, str | None]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [(r["id"], r["summary"]) for r in rows]


def timed_run(inputs, outdir: Path, n: int, **engine) -> tuple[float, list]:
    from summarizer.models import _load_model, load_tokenizer
    from summarizer.pipeline import Pipeline
    from summarizer.runner import run_to_folder

    _load_model.cache_clear()
    load_tokenizer.cache_clear()
    start = time.perf_counter()
    result = run_to_folder(inputs, outdir, Pipeline.load("default"), limit=n, progress=False, **engine)
    seconds = time.perf_counter() - start
    assert result.total == n and result.failed == 0, (result.total, result.failed)
    return seconds, summaries(outdir / "summaries.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "ray.json")
    args = parser.parse_args()

    import ray

    from summarizer.models import prepare_default

    prepare_default()  # a first-ever conversion is not part of either engine's time
    report: dict = {"articles": args.n, "input": str(DATA), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        seconds, local = timed_run([DATA], out / "local", args.n)
        report["runs"]["local"] = {"seconds": round(seconds, 2), "articles_per_s": round(args.n / seconds, 4)}
        print(f"local engine: {seconds:.1f} s, {args.n / seconds:.3f} articles/s", flush=True)

        start = time.perf_counter()
        ray.init(include_dashboard=False, logging_level="ERROR")
        report["ray_start_seconds"] = round(time.perf_counter() - start, 2)
        for workers in args.workers:
            seconds, on_ray = timed_run([DATA], out / f"ray{workers}", args.n, engine="ray", workers=workers)
            ratio = (args.n / seconds) / report["runs"]["local"]["articles_per_s"]
            same = sum(a == b for a, b in zip(on_ray, local))
            report["runs"][f"ray_{workers}_workers"] = {
                "seconds": round(seconds, 2), "articles_per_s": round(args.n / seconds, 4),
                "relative_to_local": round(ratio, 3), "identical_summaries": same,
            }
            print(f"ray engine, {workers} worker(s): {seconds:.1f} s, {args.n / seconds:.3f} articles/s, "
                  f"{ratio:.2f}x the local engine, {same}/{args.n} summaries identical", flush=True)
        ray.shutdown()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"Ray started in {report['ray_start_seconds']} s (not counted). Figures: {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
