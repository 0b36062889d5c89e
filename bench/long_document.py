"""Summarize one book-length document with the `default` and `long` pipelines, each in its
own process, and report time, peak memory and whether the end of the document reached the
summary.

    python bench/long_document.py [--words 200000] [--data ../shared/data/bbc.dev.jsonl]

The document is real news text (BBC dev articles joined end to end until it has the asked
number of words) followed by a closing paragraph about an invented event that appears
nowhere else, so "did the end contribute" can be checked by looking for its words.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLOSING = (
    "Closing note\n\nThe Vellmoor glass bridge, the longest glass bridge in the Vellmoor valley, "
    "was opened by the Vellmoor council after the Vellmoor bridge vote."
)
MARKER = "vellmoor"


def build_document(data: Path, words: int) -> str:
    parts, count = [], 0
    with data.open(encoding="utf-8") as handle:
        rows = [json.loads(line)["article"] for line in handle]
    while count < words:
        for article in rows:
            parts.append(article)
            count += len(article.split())
            if count >= words:
                break
    return "\n\n".join(parts) + "\n\n" + CLOSING


def run_one(pipeline: str, path: Path, out: Path) -> dict:
    """Run `summarizer run` in a child process; its peak RSS is the child's ru_maxrss."""
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [sys.executable, "-m", "summarizer.cli", "-q", "run", str(path), "-o", str(out), "-p", pipeline],
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    record = json.loads((out / "summaries.jsonl").read_text().splitlines()[0]) if proc.returncode in (0, 3) else {}
    extract_end = max(record.get("extract") or [0]) / max(len(record.get("sentences") or [1]), 1)
    return {
        "pipeline": pipeline,
        "exit_code": proc.returncode,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(max(peak_kb, before) / 1024),
        "summary": record.get("summary"),
        "error": record.get("error") or (proc.stderr[-500:] if proc.returncode not in (0, 3) else None),
        "end_in_prompt": MARKER in (record.get("prompt") or "").lower(),
        "end_in_summary": MARKER in (record.get("summary") or "").lower(),
        "last_extracted_sentence_position": round(extract_end, 3),
        "partial_summaries": [len(level) for level in record.get("meta", {}).get("partial_summaries", [])],
        "end_in_partial_summaries": any(
            MARKER in text.lower() for level in record.get("meta", {}).get("partial_summaries", []) for text in level
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bbc.dev.jsonl"))
    parser.add_argument("--pipelines", nargs="+", default=["default", "long"])
    parser.add_argument("--json", type=Path, default=Path("build/bench/long_document.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "book.txt"
        doc.write_text(build_document(args.data, args.words), encoding="utf-8")
        words = len(doc.read_text(encoding="utf-8").split())
        print(f"document: {words} words, {doc.stat().st_size / 1e6:.1f} MB")
        results = [run_one(p, doc, Path(tmp) / p) for p in args.pipelines]
    for r in results:
        print(json.dumps(r, ensure_ascii=False))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"words": words, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
