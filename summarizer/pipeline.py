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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .config import PipelineConfig, load_pipeline
from .errors import ConfigError
from .ingest import ingest, normalize
from .records import Record
from .stages import STAGES, Context

log = logging.getLogger("summarizer")

ENGINES = ("local", "ray")


class Pipeline:
    def __init__(self, config: PipelineConfig):
        self.config = config
        self.ctx = Context(config)

    @classmethod
    def load(cls, pipeline: str = "default", model: str | None = None, overrides: Sequence[str] = (),
             adapter: str | None = None) -> "Pipeline":
        """A built-in pipeline by name (or a .toml path), with ``--set``-style overrides;
        ``model`` replaces the pipeline's ``generate.model`` and ``adapter`` (a folder written
        by ``summarizer finetune``) its ``generate.adapter``."""
        config = load_pipeline(pipeline, overrides)
        if model:
            config.generate.model = model
        if adapter:
            config.generate.adapter = str(adapter)
        if config.uses_model:
            from .adapters import pipeline_mismatches

            for difference in pipeline_mismatches(config):
                log.warning("The adapter was trained with other prompt settings (%s); its gain may be lost.", difference)
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
    reused: int = 0  # finished by an earlier run on the same folder, not computed again
    fallbacks: int = 0
    warned: int = 0
    seconds: float = 0.0
    # Light copies (no text, no spans) in input order.
    records: list[Record] = field(default_factory=list)
    # --fail-fast: the failed record the run stopped at; the output file was not written.
    stopped_at: Record | None = None

    @property
    def complete(self) -> bool:
        return self.stopped_at is None


def run_to_folder(
    inputs: Sequence[str],
    outdir: str | Path,
    pipeline: Pipeline,
    limit: int | None = None,
    text_field: str | None = None,
    reference_field: str | None = None,
    write_txt: bool = False,
    parquet_rows: int = 0,
    progress: bool | None = None,
    resume: bool = False,
    fail_fast: bool = False,
    engine: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    follow_links: bool = True,
) -> RunResult:
    """Ingest ``inputs``, run ``pipeline`` and write ``outdir/summaries.jsonl``.

    Records are appended to ``summaries.jsonl.partial`` as they are finished, and
    ``summaries.jsonl`` is written in input order and renamed into place at the end, so it is
    always complete and valid (see :mod:`summarizer.store`). With ``resume`` (what
    ``summarizer run`` does unless ``--force``) the finished records of an earlier run on the
    same folder and the same settings are reused, and only the rest goes through the
    pipeline: with nothing to compute, no model is loaded. With ``fail_fast`` the run stops
    at the first failed document, leaving the partial file to resume from.

    ``parquet_rows`` > 0 also writes ``outdir/parquet/part-NNNNN.parquet``, that many records
    per shard (see :mod:`summarizer.outputs`). ``follow_links=False`` reads nothing that a
    symbolic link inside an input folder leads out of it to. ``engine="ray"`` runs the same stages on Ray Data (:mod:`summarizer.rayengine`), on the
    cluster at ``ray_address`` or on a local Ray instance, with ``workers`` model actors;
    the output is the same.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; valid choices: {', '.join(ENGINES)}.")
    if engine == "local" and (ray_address or workers):
        raise ConfigError("--ray-address and --workers are settings of the Ray engine; add --engine ray.")
    from .outputs import check_run_folder, own_files
    from .store import FINAL, RunFolder

    outdir = Path(outdir)
    # Cheap checks first: nothing an input holds, or a user's file, is ever replaced.
    check_run_folder(outdir, inputs, write_txt, bool(parquet_rows))
    if pipeline.config.uses_model:
        from .models import check

        # A wrong model spec or adapter folder fails now, not after ingest.
        check(pipeline.config.generate.model, pipeline.config.generate.adapter)
    # Listing the inputs first: a missing path fails before the output folder is touched, and
    # an output folder inside an input folder is not read back as input on the next run.
    exclude = own_files(outdir)
    if engine == "ray":
        from .rayengine import run_to_folder as run_on_ray

        return run_on_ray(inputs, outdir, pipeline, exclude, limit=limit, text_field=text_field,
                          reference_field=reference_field, write_txt=write_txt, parquet_rows=parquet_rows,
                          progress=progress,
                          resume=resume, fail_fast=fail_fast, address=ray_address, workers=workers,
                          follow_links=follow_links)
    documents = ingest(inputs, text_field, reference_field, limit, exclude=exclude, follow_links=follow_links)
    result = RunResult(output=outdir / FINAL)
    start = time.perf_counter()
    order: list[str] = []
    done: dict[str, Record] = {}
    bar = progress_bar(limit, progress)
    with bar, RunFolder(outdir, pipeline.config.fingerprint(), resume=resume) as folder:

        def todo() -> Iterator[Record]:
            for record in documents:
                order.append(record.id)
                earlier = folder.reuse(record)
                if earlier is None:
                    yield record
                else:
                    done[record.id] = earlier
                    result.reused += 1
                    bar.update()

        for record in pipeline.run(todo()):
            folder.add(record)
            done[record.id] = light(record)
            bar.update()
            if fail_fast and record.error is not None:
                result.stopped_at = done[record.id]
                break
        if result.complete:
            folder.finalize(order)
        # Inside the lock: a second run on this folder waits for the .txt files and shards too.
        return finish(result, order, done, write_txt, start, parquet_rows)


def progress_bar(limit: int | None, progress: bool | None):
    from tqdm import tqdm

    return tqdm(total=limit, unit="doc", desc="summarizing", disable=None if progress is None else not progress)


def finish(result: RunResult, order: list[str], done: dict[str, Record], write_txt: bool, start: float,
           parquet_rows: int = 0) -> RunResult:
    """Fill in the counts of a run (either engine); write the .txt files and Parquet shards if asked."""
    result.records = [done[i] for i in order if i in done]
    result.total = len(result.records)
    result.failed = sum(r.error is not None for r in result.records)
    result.fallbacks = sum(r.fallback for r in result.records)
    result.warned = sum(bool(r.warnings) for r in result.records)
    if (write_txt or parquet_rows) and result.complete:
        from .outputs import write_extras

        write_extras(result.output.parent, result.records, write_txt, parquet_rows)
    result.seconds = time.perf_counter() - start
    return result


def light(record: Record) -> Record:
    """What the caller keeps in memory per document: no text, no spans."""
    return Record(id=record.id, text="", reference=record.reference, error=record.error,
                  summary=record.summary, fallback=record.fallback, warnings=list(record.warnings))
