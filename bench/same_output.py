"""Do two versions of the code give the same output? For refactors that must not change it.

    python bench/same_output.py run OUT [--per-set N]   # every pipeline on the dev sets -> OUT/
    python bench/same_output.py compare OLD NEW         # exit 1 and list what differs

``run`` writes one ``summaries.jsonl`` per (pipeline, dataset) with ``summarizer run``, from
the first N documents of each dev set in ../shared/data (all of them with ``--per-set 0``),
plus one long document (news articles joined) through the ``long`` pipeline so its map step
runs. ``compare`` compares what a stage computes: summaries, raw generations, prompts,
extracts, fallbacks, errors, warnings, ``meta`` (the default's rewrites, the long pipeline's
partial summaries) and the trace details except timings. Run it from the
checkout whose code is under test (``PYTHONPATH`` picks another one).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SETS = ("cnndm", "xsum", "bbc", "dialogsum", "scitldr", "lcsts")
PIPELINES = ("lead3", "extractive", "default", "abstractive")
COMPARED = ("summary", "generation", "prompt", "extract", "sentences", "chunks", "fallback", "error", "warnings")


def _inputs(out: Path, per_set: int) -> dict[str, Path]:
    folder = out / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    inputs = {}
    for name in SETS:
        lines = (DATA / f"{name}.dev.jsonl").read_text(encoding="utf-8").splitlines()
        path = folder / f"{name}.jsonl"
        path.write_text("\n".join(lines[:per_set] if per_set else lines) + "\n", encoding="utf-8")
        inputs[name] = path
    articles = [json.loads(line)["article"] for line in
                (DATA / "cnndm.dev.jsonl").read_text(encoding="utf-8").splitlines()[:40]]
    long_doc = folder / "long.jsonl"
    long_doc.write_text(json.dumps({"id": "joined", "article": "\n\n".join(articles)}) + "\n", encoding="utf-8")
    inputs["long"] = long_doc
    return inputs


def run(out: Path, per_set: int, pipelines=PIPELINES, sets=SETS) -> None:
    inputs = _inputs(out, per_set)
    jobs = [(p, s) for p in pipelines if p != "long" for s in sets] + [("long", "long")] * ("long" in pipelines)
    for pipeline, name in jobs:
        target = out / pipeline / name
        print(f"{pipeline} on {name}", flush=True)
        subprocess.run([str(Path(sys.executable).parent / "summarizer"), "run", str(inputs[name]), "-o", str(target),
                        "-p", pipeline, "--force", "--text-field", "article", "--reference-field", "summary"],
                       check=False)


def _comparable(record: dict) -> dict:
    kept = {key: record.get(key) for key in COMPARED}
    # meta holds the default's rewrites and the long pipeline's partial summaries; its source
    # is the input's path, which differs between two output folders
    kept["meta"] = {k: v for k, v in record.get("meta", {}).items() if k != "source"}
    kept["trace"] = [{k: v for k, v in step.items() if not k.endswith("seconds")} for step in record.get("trace", [])]
    return kept


def _records(path: Path) -> dict[str, dict]:
    return {r["id"]: _comparable(r) for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def compare(old: Path, new: Path) -> int:
    differences = 0
    files = sorted(p.relative_to(old) for p in old.glob("*/*/summaries.jsonl") if p.parts[-3] != "inputs")
    for rel in files:
        if not (new / rel).exists():
            print(f"{rel}: missing in {new}")
            differences += 1
            continue
        a, b = _records(old / rel), _records(new / rel)
        if list(a) != list(b):
            print(f"{rel}: other ids or order")
            differences += 1
        for key in a.keys() & b.keys():
            if a[key] != b[key]:
                fields = [f for f in a[key] if a[key][f] != b[key].get(f)]
                print(f"{rel}: record {key!r} differs in {', '.join(fields)}")
                differences += 1
    records = sum(len(_records(old / rel)) for rel in files)
    print(f"{len(files)} outputs, {records} records compared; {differences} differences")
    return 1 if differences or not files else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("out", type=Path)
    r.add_argument("--per-set", type=int, default=60)
    r.add_argument("--pipelines", default=",".join(PIPELINES + ("long",)), help="comma-separated")
    r.add_argument("--sets", default=",".join(SETS), help="comma-separated")
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        run(args.out, args.per_set, args.pipelines.split(","), args.sets.split(","))
        return 0
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
