"""The run driver: what ``summarizer run`` does, for either engine.

    inputs --engine--> finished records --Run--> OUTDIR/summaries.jsonl (+ .txt files, shards,
                                                  .summarizer-run: counts, what the model did)

:func:`run_to_folder` owns the whole loop: the cheap checks before anything is written, the
run folder and its lock (:class:`summarizer.store.RunFolder`), input order, reuse of what an
earlier run finished, progress, ``--fail-fast`` and the finishing files. An engine only turns
the inputs into finished records and reports each document to the :class:`Run`:
:func:`local_engine` runs the stages in this process, :func:`summarizer.rayengine.ray_engine`
on Ray Data. So the two engines cannot differ in anything but where the stages run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .errors import ConfigError
from .ingest import plan, read_planned
from .backend import check_backend
from .outputs import RUN_META, check_run_folder, own_files, run_meta, write_extras, write_run_meta
from .pipeline import Pipeline
from .records import Record
from .store import FINAL, RunFolder

log = logging.getLogger("summarizer")


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
    # What the model did over every finished record of the output (the "model" entry of
    # OUTDIR/.summarizer-run, see outputs.run_meta); None when the run stopped early.
    model: dict | None = None

    @property
    def complete(self) -> bool:
        return self.stopped_at is None


@dataclass
class Job:
    """What an engine needs to know of a run besides the pipeline."""

    sources: list  # ingest.plan's, listed before the output folder is touched
    limit: int | None = None
    text_field: str | None = None
    reference_field: str | None = None
    resume: bool = False
    ray_address: str | None = None
    workers: int | None = None


class Run:
    """The state of one run, which the engine reports each document to: :meth:`listed` once
    per document in input order (it answers with the earlier run's record when that can be
    reused), :meth:`finished` once per computed one."""

    def __init__(self, folder: RunFolder, result: RunResult, bar, fail_fast: bool):
        self.folder, self.result, self.bar, self.fail_fast = folder, result, bar, fail_fast
        self.order: list[str] = []
        self.done: dict[str, Record] = {}

    def listed(self, record: Record) -> Record | None:
        self.order.append(record.id)
        earlier = self.folder.reuse(record)  # stamps record.run either way
        if earlier is not None:
            self.done[record.id] = earlier
            self.result.reused += 1
            self.bar.update()
        return earlier

    def finished(self, record: Record) -> bool:
        """Keep a computed record; False when the run is to stop here (--fail-fast)."""
        self.folder.add(record)
        self.done[record.id] = light(record)
        self.bar.update()
        if self.fail_fast and record.error is not None:
            self.result.stopped_at = self.done[record.id]
            return False
        return True


Engine = Callable[[Job, Pipeline, Run], None]


def local_engine(job: Job, pipeline: Pipeline, run: Run) -> None:
    """The stages in this process, documents streaming through one after another."""
    documents = read_planned(job.sources, job.text_field, job.reference_field, job.limit)

    def todo() -> Iterator[Record]:
        for record in documents:
            if run.listed(record) is None:
                yield record

    for record in pipeline.run(todo()):
        if not run.finished(record):
            return


def _ray_engine(job: Job, pipeline: Pipeline, run: Run) -> None:
    from .rayengine import ray_engine  # Ray is optional and slow to import

    ray_engine(job, pipeline, run)


ENGINES: dict[str, Engine] = {"local": local_engine, "ray": _ray_engine}


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
    symbolic link inside an input folder leads out of it to. ``engine="ray"`` runs the same
    stages on Ray Data (:mod:`summarizer.rayengine`), on the cluster at ``ray_address`` or on
    a local Ray instance, with ``workers`` model actors; the output is the same.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; valid choices: {', '.join(ENGINES)}.")
    if engine == "local" and (ray_address or workers):
        raise ConfigError("--ray-address and --workers are settings of the Ray engine; add --engine ray.")
    outdir = Path(outdir)
    # Cheap checks first: nothing an input holds, or a user's file, is ever replaced.
    check_run_folder(outdir, inputs, write_txt, bool(parquet_rows))
    if pipeline.config.uses_model:
        # A wrong model spec or adapter folder fails now, not after ingest.
        check_backend(pipeline.config.generate)
    # Listing the inputs first: a missing path fails before the output folder is touched, and
    # an output folder inside an input folder is not read back as input on the next run.
    sources = plan(inputs, own_files(outdir), follow_links=follow_links)
    job = Job(sources, limit, text_field, reference_field, resume, ray_address, workers)
    result = RunResult(output=outdir / FINAL)
    start = time.perf_counter()
    with progress_bar(limit, progress) as bar, RunFolder(outdir, pipeline.config.fingerprint(), resume=resume) as folder:
        run = Run(folder, result, bar, fail_fast)
        ENGINES[engine](job, pipeline, run)
        if result.complete:
            folder.finalize(run.order)
        # Inside the lock: a second run on this folder waits for the .txt files and shards too.
        return _finish(result, run, write_txt, start, parquet_rows)


def progress_bar(limit: int | None, progress: bool | None):
    from tqdm import tqdm

    return tqdm(total=limit, unit="doc", desc="summarizing", disable=None if progress is None else not progress)


def _finish(result: RunResult, run: Run, write_txt: bool, start: float, parquet_rows: int) -> RunResult:
    """Fill in the counts of a run; write the .txt files and Parquet shards if asked."""
    result.records = [run.done[i] for i in run.order if i in run.done]
    result.total = len(result.records)
    result.failed = sum(r.error is not None for r in result.records)
    result.fallbacks = sum(r.fallback for r in result.records)
    result.warned = sum(bool(r.warnings) for r in result.records)
    if (write_txt or parquet_rows) and result.complete:
        write_extras(result.output.parent, result.records, write_txt, parquet_rows)
    if result.complete:
        result.model = _write_meta(run, result)
    result.seconds = time.perf_counter() - start
    return result


def _write_meta(run: Run, result: RunResult) -> dict | None:
    """Write OUTDIR/.summarizer-run for the output just finished: the counts, and what the
    model did over all of its finished records (reused ones too, so a resumed run's file
    describes the whole output). The output is complete already, so a failure here is a
    warning, and leaves no file rather than the last run's."""
    meta_file = result.output.parent / RUN_META
    try:
        meta_file.unlink(missing_ok=True)
        model = run_meta(result.output)
        write_run_meta(result.output.parent, {
            "run_id": run.folder.run_id, "fingerprint": run.folder.fingerprint,
            "documents": result.total, "failed": result.failed, "fallbacks": result.fallbacks,
            "warned": result.warned, "reused": result.reused, "model": model,
        })
    except Exception as exc:  # noqa: BLE001 - the summaries are written; only their statistics are lost
        log.warning("could not write %s (%s: %s); %s is complete", meta_file, type(exc).__name__, exc, result.output)
        return None
    return model


def light(record: Record) -> Record:
    """What the caller keeps in memory per document: no text, no spans."""
    return Record(id=record.id, text="", reference=record.reference, error=record.error,
                  summary=record.summary, fallback=record.fallback, warnings=list(record.warnings))
