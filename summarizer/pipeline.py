"""Orchestration: a pipeline is its list of stages, run in order over records.

    >>> pipe = Pipeline.load("lead3")
    >>> pipe.summarize(["First point. Second point. Third point. Fourth point."])
    ['First point. Second point. Third point.']

:meth:`Pipeline.run` chains the stages lazily, so documents stream through one after
another (generation works on small windows of them) and memory stays bounded however many
documents there are. :func:`run_to_folder` is what ``summarizer run`` does.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .config import PipelineConfig, load_pipeline
from .ingest import ingest, normalize
from .records import Record
from .stages import STAGES, Context

log = logging.getLogger("summarizer")


class Pipeline:
    def __init__(self, config: PipelineConfig):
        self.config = config
        self.ctx = Context(config)

    @classmethod
    def load(cls, pipeline: str = "default", model: str | None = None, overrides: Sequence[str] = ()) -> "Pipeline":
        """A built-in pipeline by name (or a .toml path), with ``--set``-style overrides;
        ``model`` replaces the pipeline's ``generate.model``."""
        config = load_pipeline(pipeline, overrides)
        if model:
            config.generate.model = model
        return cls(config)

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        for name in self.config.stages:
            records = STAGES.get(name)(records, self.ctx)
        return iter(records)

    def run_texts(self, texts: Sequence[str]) -> list[Record]:
        records = [Record(id=str(i), text=normalize(text)) for i, text in enumerate(texts)]
        for record in records:
            if not record.text:
                record.error = "ingest: empty document"
        return list(self.run(records))

    def summarize(self, texts: Sequence[str]) -> list[str]:
        """One summary per text; a text that failed gets an empty string (see run_texts)."""
        return [r.summary or "" for r in self.run_texts(texts)]


@dataclass
class RunResult:
    output: Path
    total: int = 0
    failed: int = 0
    fallbacks: int = 0
    seconds: float = 0.0
    records: list[Record] = field(default_factory=list)


def run_to_folder(
    inputs: Sequence[str],
    outdir: str | Path,
    pipeline: Pipeline,
    limit: int | None = None,
    text_field: str | None = None,
    reference_field: str | None = None,
    write_txt: bool = False,
    progress: bool | None = None,
) -> RunResult:
    """Ingest ``inputs``, run ``pipeline`` and write ``outdir/summaries.jsonl``.

    Records are written as they are finished (flushed), into a temporary file that is
    renamed into place at the end, so the output file is always complete and valid.
    """
    from tqdm import tqdm

    if pipeline.config.uses_model:
        from .models import resolve

        resolve(pipeline.config.generate.model)  # a wrong model spec fails now, not after ingest
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    final = outdir / "summaries.jsonl"
    partial = outdir / "summaries.jsonl.partial"
    result = RunResult(output=final)
    start = time.perf_counter()
    records = pipeline.run(ingest(inputs, text_field, reference_field, limit))
    bar = tqdm(records, total=limit, unit="doc", desc="summarizing", disable=None if progress is None else not progress)
    with partial.open("w", encoding="utf-8") as out:
        for record in bar:
            out.write(record.to_json() + "\n")
            out.flush()
            result.total += 1
            result.failed += record.error is not None
            result.fallbacks += record.fallback
            result.records.append(_light(record))
            if write_txt and record.summary is not None:
                _write_txt(outdir / "txt", record)
        os.fsync(out.fileno())
    os.replace(partial, final)
    result.seconds = time.perf_counter() - start
    return result


def _light(record: Record) -> Record:
    """What the caller keeps in memory per document: no text, no spans."""
    return Record(id=record.id, text="", reference=record.reference, error=record.error,
                  summary=record.summary, fallback=record.fallback)


def _write_txt(folder: Path, record: Record) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{safe_filename(record.id)}.txt").write_text(record.summary + "\n", encoding="utf-8")


def safe_filename(doc_id: str) -> str:
    """A file name made from an id that cannot leave its folder (no separators, no ..)."""
    name = "".join(c if c.isalnum() or c in "-_.~" else "_" for c in doc_id).strip(".")
    return name[:200] or "_"
