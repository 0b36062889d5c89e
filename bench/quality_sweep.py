"""Prompt formats and decoding settings of the `default` pipeline compared on dev articles.

    python bench/quality_sweep.py [--n 40] [--offset 200] [--json build/bench/quality.json]

For CNN/DailyMail and XSum dev articles offset..offset+n (away from the first 24, which
`make bench` times), runs each setting below (a pipeline and its overrides) and prints ROUGE
(F1 x100), extractive fallbacks, the share of summary numbers and name-like spans found in
the article, summary length and time. The default's design (extract, then compress each
sentence), prompt and copy bias were chosen from this table (README, "Summary quality"),
then checked on the whole dev sets with eval/dev.toml. About 15 minutes on a 2-core CPU.
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

# name -> (pipeline, overrides)
SETTINGS = {
    "extract, then compress (the default)": ("default", []),
    "compress, copy_bias 1": ("default", ["generate.copy_bias=1"]),
    "compress, zero-shot (no worked examples)": ("default", ["rewrite.examples=[]"]),
    "abstractive: few-shot highlights of a 400-token extract (the default before)": ("abstractive", []),
    "abstractive, of the 3-sentence extract": ("abstractive", ["extract.budget_tokens=85", "extract.max_sentences=3"]),
    "extractive (no model)": ("extractive", []),
    "lead3": ("lead3", []),
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
    outcomes = [o for r in done for o in r.meta.get("rewrites", [])]
    return {
        "rouge": rouge([r.summary or "" for r in done], rows),
        # extract-then-compress: sentences the model's rewrite replaced (the others kept as extracted)
        **({"rewritten": f"{sum(o['kept'] == 'rewrite' for o in outcomes)}/{len(outcomes)}"} if outcomes else {}),
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
        for setting, (pipeline, overrides) in SETTINGS.items():
            entry = {"data": name, "setting": setting} | evaluate(pipeline, overrides, rows)
            report["results"].append(entry)
            print(json.dumps(entry), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
