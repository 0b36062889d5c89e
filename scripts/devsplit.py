"""What the training scripts (``make adapter``, ``make extractor``) share: the deterministic
split of the dev sets in ``../shared/data`` into training and held-out pairs, the training
command run and timed, and the held-out scores of an eval-suite report recorded in the
shipped artifact's metadata."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def split_dev(held_out: dict[str, int], out: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each set's (training, held-out) lines: the last ``held_out[name]`` pairs of its dev file
    (the files' own order, which is by id) are held out and written to
    ``out/<name>.heldout.jsonl``."""
    out.mkdir(parents=True, exist_ok=True)
    parts = {}
    for name, count in held_out.items():
        lines = read_lines(DATA / f"{name}.dev.jsonl")
        if len(lines) <= count:
            sys.exit(f"{name}.dev.jsonl has only {len(lines)} pairs; it cannot hold out {count}.")
        parts[name] = (lines[:-count], lines[-count:])
        write(out / f"{name}.heldout.jsonl", lines[-count:])
    return parts


def run_training(command: list[str]) -> float:
    """Run ``summarizer ...`` (``command``) with this interpreter; the seconds it took."""
    print("$ " + shlex.join(command), flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "summarizer.cli", *command[1:]], check=True, cwd=REPO)
    return time.perf_counter() - start


def record_scores(report_path: Path, metadata_path: Path, suite: str,
                  extra: Callable[[dict], dict] = lambda system: {}) -> None:
    """Put the held-out ROUGE of an eval-suite ``report.json`` (and ``extra(system)`` of each
    system) into ``metadata_path`` under ``heldout_scores``."""
    report = json.loads(report_path.read_text(encoding="utf-8"))
    scores = {}
    for dataset, entry in report["datasets"].items():
        scores[dataset] = {}
        for system in entry["report"]["systems"]:
            row = {t: round(system[t]["f"], 2) for t in ROUGE_TYPES}
            row["n"] = system["n"]
            scores[dataset][system["name"]] = {**row, **extra(system)}
    metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    metadata["heldout_scores"] = {"suite": suite, "rouge": "F1 x100", "scores": scores}
    metadata_path.write_text(json.dumps(metadata, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"scores of {report_path} recorded in {metadata_path}", flush=True)
