"""Extraction time per article: the learned strategy against position-aware centrality.

    python bench/extract_speed.py [--articles 200] [--json build/bench/extract_speed.json]

Both run the extractive pipeline (chunk -> extract -> filter, no model) over the same dev
articles (CNN/DailyMail, XSum, BBC, DialogSum and SciTLDR in turn, up to ``--articles``), in
one process, alternating rounds so that a busy machine slows both alike: ``learned`` is the
pipeline as shipped (the shipped model, its features and its length), ``position`` the
strategy it had before (centrality with a lead prior, 3 sentences, 85 tokens). Reported:
seconds per article for the whole pipeline and for the extract stage alone (from the records'
traces), the best of ``--rounds`` rounds, and their ratio. The target: at most 0.05 s per
article with the learned strategy.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
SETS = ("cnndm", "xsum", "bbc", "dialogsum", "scitldr")
SYSTEMS = {
    "learned": ["extract.strategy=learned", "extract.scorer=builtin", "extract.max_sentences=0"],
    "position": ["extract.strategy=position", "extract.position_weight=0.7", "extract.redundancy=0.3",
                 "extract.budget_tokens=85", "extract.max_sentences=3", "extract.skip_headline=true"],
}
TARGET_SECONDS = 0.05


def articles(count: int) -> list[str]:
    rows = {name: [json.loads(line)["article"] for line in (DATA / f"{name}.dev.jsonl").open(encoding="utf-8")]
            for name in SETS}
    picked = []
    for i in range(count):
        name = SETS[i % len(SETS)]
        picked.append(rows[name][i // len(SETS) % len(rows[name])])
    return picked


def one_round(pipe, texts: list[str]) -> tuple[float, float]:
    from summarizer.records import Record

    start = time.perf_counter()
    records = list(pipe.run([Record(id=str(i), text=t) for i, t in enumerate(texts)]))
    total = time.perf_counter() - start
    extract = sum(e["seconds"] for r in records for e in r.trace if e["stage"] == "extract")
    return total / len(texts), extract / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=Path("build/bench/extract_speed.json"))
    args = parser.parse_args()
    from summarizer.pipeline import Pipeline

    texts = articles(args.articles)
    pipes = {name: Pipeline.load("extractive", overrides=sets) for name, sets in SYSTEMS.items()}
    for pipe in pipes.values():  # the first document pays for imports and loading the model
        pipe(texts[0])
    best = {name: [float("inf"), float("inf")] for name in pipes}
    for _ in range(args.rounds):
        for name, pipe in pipes.items():
            total, extract = one_round(pipe, texts)
            best[name] = [min(best[name][0], total), min(best[name][1], extract)]
    report = {
        "articles": len(texts), "sets": list(SETS), "rounds": args.rounds,
        "seconds_per_article": {name: round(v[0], 5) for name, v in best.items()},
        "extract_stage_seconds_per_article": {name: round(v[1], 5) for name, v in best.items()},
        "ratio_learned_to_position": round(best["learned"][0] / best["position"][0], 2),
        "target_seconds_per_article": TARGET_SECONDS,
        "within_target": best["learned"][0] <= TARGET_SECONDS,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
