"""Prompt formats and decoding settings of the `default` pipeline compared on dev articles.

    python bench/quality_sweep.py [--n 40] [--offset 200] [--json build/bench/quality.json]

For CNN/DailyMail and XSum dev articles offset..offset+n (away from the first 24, which
`make bench` times), runs the `default` pipeline with each variant below and prints ROUGE
(F1 x100), extractive fallbacks, the share of summary numbers and name-like spans found in
the article, summary length and time; then lead3 on the same articles. The default's prompt
(few-shot "Story highlights"), copy bias and length were chosen from this table (README,
"Summary quality"); then checked on the whole dev sets with eval/dev.toml. About 25
minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

ZERO_SHOT = ["prompt.examples=[]"]
TLDR = ['prompt.template="{text}\\n\\nTL;DR:"', *ZERO_SHOT, "generate.max_sentences=0", "generate.loop_ngram=0",
        "generate.max_new_tokens=64"]
SETTINGS = {
    "TL;DR, zero-shot, copy_bias 2 (the earlier default)": [*TLDR, "generate.copy_bias=2.0"],
    "Story highlights, zero-shot": ZERO_SHOT,
    "few-shot, copy_bias 0": ["generate.copy_bias=0"],
    "few-shot, copy_bias 1 (the default)": [],
    "few-shot, copy_bias 2": ["generate.copy_bias=2"],
    "few-shot, 4 sentences": ["generate.max_sentences=4", "generate.max_new_tokens=112"],
    "few-shot, no_repeat_ngram 4": ["generate.no_repeat_ngram=4"],
}


def evaluate(pipeline: str, overrides: list[str], rows: list[dict]) -> dict:
    from speed import rouge

    from summarizer.evaluation.faithfulness import measure
    from summarizer.pipeline import Pipeline
    from summarizer.records import Record

    pipe = Pipeline.load(pipeline, overrides=overrides)
    start = time.perf_counter()
    done = list(pipe.run([Record(id=r["id"], text=r["article"]) for r in rows]))
    seconds = time.perf_counter() - start
    measures = [measure(r.summary, r.text) for r in done]
    total = {key: sum(m[key] or 0 for m in measures) for key in ("numbers", "numbers_found", "entities",
                                                                  "entities_found", "summary_words")}
    return {
        "rouge": rouge([r.summary or "" for r in done], rows),
        "fallbacks": sum(bool(r.fallback) for r in done),
        "numbers_in_source": f"{total['numbers_found']}/{total['numbers']}",
        "entities_in_source": round(total["entities_found"] / max(total["entities"], 1), 3),
        "words": round(total["summary_words"] / len(rows), 1),
        "seconds_per_article": round(seconds / len(rows), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--offset", type=int, default=200)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--json", type=Path, default=REPO / "build" / "bench" / "quality.json")
    args = parser.parse_args()
    report = {"n": args.n, "offset": args.offset, "results": []}
    for name in ("cnndm", "xsum"):
        with (args.data / f"{name}.dev.jsonl").open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle][args.offset:args.offset + args.n]
        runs = [(setting, "default", overrides) for setting, overrides in SETTINGS.items()]
        for setting, pipeline, overrides in runs + [("lead3", "lead3", [])]:
            entry = {"data": name, "setting": setting} | evaluate(pipeline, overrides, rows)
            report["results"].append(entry)
            print(json.dumps(entry), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
