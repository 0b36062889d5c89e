"""The Ray engine: the same pipeline on Ray Data, for more documents than one machine can take.

    sources --flat_map(read)--> records --map_batches(CPU stages)--> prompts
        --repartition(window)--> --map_batches(model stages, actor pool)-->
        --map_batches(later CPU stages)--> driver: summaries.jsonl (RunFolder)

Nothing here summarizes: every step calls the stage functions of :data:`STAGES` (and the
reader of :mod:`summarizer.ingest`) on :class:`Record` objects, so the local and the Ray
engine share all stage code. Rows travel as one JSON string per record, so a record's nested
fields never meet Arrow's type inference.

Why the output equals the local engine's: Ray Data keeps the input order
(``preserve_order``), and before generation the rows are cut into blocks of exactly
``generate.window`` rows, so each actor call sees the same window of documents the local
generate stage would, and batches them the same way (greedy decoding depends on what a
batch holds only through padding, and the batches are the same).

The driver (:func:`ray_engine`, called by :func:`summarizer.runner.run_to_folder`, which owns
the run's loop and its folder) only reads the finished records back: ids repeated across
inputs are renamed in input order as the local engine does, and finished documents of an
earlier run on the same folder are skipped in the workers and reused (see :mod:`summarizer.store`).
A worker process that dies is replaced, and its batch retried, by Ray Data itself (its
defaults retry tasks and restart actors); a document that fails gets its ``error`` as with
the local engine.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .errors import ConfigError, SummarizerError
from .generate import window_size
from .ingest import IdRenamer, read_source
from .records import Record
from .stages import STAGES, Context, recording_errors, run_chain, uses_model
from .store import content_hash

log = logging.getLogger("summarizer")

# Logical CPUs asked for by a task of the light CPU stages (reading, extracting, filtering):
# the generation actors must leave room for them, or Ray Data would wait for ever.
CPU_STAGE_CPUS = 0.5


def require_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the Ray engine needs Ray Data, which is not installed: pip install 'summarizer[ray]' "
            "(or pip install 'ray[data]'), or run without --engine ray."
        ) from None
    return ray


def resolve_stages(names: Sequence[str]) -> list[tuple[str, Callable]]:
    """The stage functions, looked up here in the driver: a user's stage registered in a script
    or module of their own is sent to the workers by value (they need not import it)."""
    from ray import cloudpickle

    stages = [(name, STAGES.get(name)) for name in names]
    for _, stage in stages:
        module = sys.modules.get(getattr(stage, "__module__", "") or "")
        if module is not None and not module.__name__.startswith("summarizer") and module.__name__ != "__main__":
            cloudpickle.register_pickle_by_value(module)
    return stages


def split_stages(stages: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """The pipeline's stages as (CPU stages before the model, model stages, CPU stages after).

    Stages between the first and the last model stage run in the actors too, so their order
    is kept.
    """
    model_at = [i for i, name in enumerate(stages) if uses_model(name)]
    if not model_at:
        return list(stages), [], []
    first, last = model_at[0], model_at[-1]
    return list(stages[:first]), list(stages[first : last + 1]), list(stages[last + 1 :])


# --- What runs in the workers -------------------------------------------------------------

def _rows(records: list[Record], skip: list[bool]) -> dict:
    import numpy as np

    return {"record": np.array([r.to_json() for r in records], dtype=object), "skip": np.array(skip, dtype=bool)}


def _records(batch: dict) -> tuple[list[Record], list[bool]]:
    import json

    return [Record.from_dict(json.loads(s)) for s in batch["record"]], [bool(s) for s in batch["skip"]]


def _apply(stages: Sequence[tuple[str, Callable]], batch: dict, ctx: Context) -> dict:
    """Run ``stages`` over the records of a batch that are not to be skipped."""
    records, skip = _records(batch)
    todo = [r for r, s in zip(records, skip) if not s]
    if todo and stages:
        try:
            done = list(run_chain([stage for _, stage in stages], todo, ctx))
        except SummarizerError:
            raise  # a wrong setting or a missing model fails every document alike
        except Exception:  # a stage broke on this batch: its documents fail, the others go on
            done = todo
            for record in todo:
                if record.error is None:
                    with recording_errors(record, "+".join(name for name, _ in stages)):
                        raise
        # A stage yields one record per record, in order: put them back between the skipped ones.
        finished = iter(done)
        records = [r if s else next(finished) for r, s in zip(records, skip)]
    return _rows(records, skip)


def _read(batch: dict, text_field, reference_field, reusable) -> dict:
    """Read the sources of a batch into records; mark those an earlier run finished."""
    import pickle

    reusable = _resolved(reusable[0] if reusable else None)
    records, skip = [], []
    for blob in batch["source"]:
        for record in read_source(pickle.loads(blob), text_field, reference_field):
            records.append(record)
            skip.append(reusable is not None and (record.id, content_hash(record)) in reusable)
    return _rows(records, skip)


_RESOLVED: dict = {}


def _resolved(reusable):
    """The set behind an object reference, fetched once per worker process, not per task."""
    if reusable is None or isinstance(reusable, (set, frozenset)):
        return reusable
    import ray

    key = reusable.hex()
    if key not in _RESOLVED:
        _RESOLVED.clear()  # one run's set at a time
        _RESOLVED[key] = ray.get(reusable)
    return _RESOLVED[key]


class _CPUStages:
    """A map_batches function for CPU stages (a plain task: Ray reuses the worker process, so
    the tokenizer a stage loads is loaded once per process)."""

    def __init__(self, config, stages):
        self.config, self.stages = config, stages

    def __call__(self, batch: dict) -> dict:
        return _apply(self.stages, batch, Context(self.config))


class _ModelStages:
    """An actor of the pool: loads the model once, then runs the model stages on batches."""

    def __init__(self, config, stages):
        self.ctx = Context(config)
        self.stages = stages
        self.ctx.tokenizer, self.ctx.model  # load now, not in the first batch

    def __call__(self, batch: dict) -> dict:
        return _apply(self.stages, batch, self.ctx)


# --- The driver -------------------------------------------------------------------------------

def start(address: str | None = None):
    """Connect to the Ray cluster at ``address``, or start a local instance on this machine."""
    ray = require_ray()
    # Ray Data announces every execution plan at INFO level: the run's own messages are enough.
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "bars disabled": on purpose
    if ray.is_initialized():
        return ray
    start_time = time.perf_counter()
    try:
        if address:
            ray.init(address=address, log_to_driver=True, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=True,
                     logging_level=logging.WARNING)
    except ConnectionError as exc:
        raise ConfigError(f"cannot connect to the Ray cluster at --ray-address {address!r}: {exc}. "
                          "Give the address that 'ray start --head' printed (e.g. 10.0.0.5:6379), "
                          "or leave --ray-address out to start Ray on this machine.") from exc
    log.info("Ray %s: %s CPU(s), %s GPU(s) (%.1f s)", "cluster at " + address if address else "started locally",
             ray.cluster_resources().get("CPU", 0), ray.cluster_resources().get("GPU", 0),
             time.perf_counter() - start_time)
    return ray


def plan_workers(ray, workers: int | None, config) -> tuple[int, dict, int]:
    """How many generation actors, the resources each asks Ray for, and the CPU threads each
    gives torch.

    Without GPUs the cluster's cores are shared out among the actors as torch threads; with
    GPUs, one GPU per actor and one actor per GPU.
    """
    resources = ray.cluster_resources()
    cpus, gpus = float(resources.get("CPU", 1)), int(resources.get("GPU", 0))
    if config.generate.device == "cpu":
        gpus = 0
    workers = workers or (gpus or 1)
    if workers < 1:
        raise ConfigError(f"--workers {workers}: give 1 or more generation workers.")
    if gpus:
        return workers, {"num_gpus": 1, "num_cpus": 1}, config.generate.threads
    # Ray's CPUs are logical: what an actor asks for only decides what can run beside it. Ray
    # Data keeps about half of them for the other operators (reading, extracting, filtering),
    # and stalls if the actors take more; the threads each actor gives torch are the real share.
    share = min(1.0, cpus / 2 / workers)
    threads = config.generate.threads or max(1, int(cpus // workers))
    return workers, {"num_cpus": share}, threads


def _data_context():
    from ray.data import DataContext

    data_context = DataContext.get_current()
    data_context.execution_options.preserve_order = True
    data_context.enable_progress_bars = False  # the driver shows one bar, in documents
    return data_context


def read_sources(ray, sources: list, text_field=None, reference_field=None, limit=None, reusable=None):
    """The lazy dataset of ingested records, one task per source file; records whose
    (id, content hash) is in ``reusable`` are marked to skip."""
    import pickle

    _data_context()
    # One copy in the object store, wrapped so Ray passes the reference, not a copy per task.
    reusable_ref = [ray.put(reusable)] if reusable else None
    ds = ray.data.from_items([{"source": pickle.dumps(s)} for s in sources], override_num_blocks=max(1, len(sources)))
    ds = ds.map_batches(_read, batch_size=1, fn_args=(text_field, reference_field, reusable_ref),
                        num_cpus=CPU_STAGE_CPUS)
    return ds.limit(limit) if limit is not None else ds


def build_dataset(ray, ds, pipeline, workers: int | None = None):
    """The lazy dataset of finished records (one JSON string per row, in input order) made
    from ``ds``, a dataset of ingested ones."""
    from ray.data import ActorPoolStrategy

    _data_context()
    config = pipeline.config
    before, model, after = split_stages(config.stages)
    n_workers, actor_resources, threads = plan_workers(ray, workers, config)
    if model and threads != config.generate.threads:
        config = _with_threads(config, threads)
    before, model, after = resolve_stages(before), resolve_stages(model), resolve_stages(after)
    if before:
        ds = ds.map_batches(_CPUStages(config, before), batch_size=max(config.generate.window, 1),
                            num_cpus=CPU_STAGE_CPUS)
    if model:
        window = window_size(config.generate)
        # Blocks of exactly one window (the last may be shorter): the actors see the windows the
        # local generate stage would, so they batch, and therefore decode, alike.
        ds = ds.repartition(target_num_rows_per_block=window, strict=True)
        ds = ds.map_batches(_ModelStages, fn_constructor_args=(config, model), batch_size=window,
                            compute=ActorPoolStrategy(size=n_workers), **actor_resources)
    if after:
        ds = ds.map_batches(_CPUStages(config, after), batch_size=max(config.generate.window, 1),
                            num_cpus=CPU_STAGE_CPUS)
    return ds


def _with_threads(config, threads: int):
    import copy

    config = copy.deepcopy(config)
    config.generate.threads = threads
    return config


def iter_records(ds) -> Iterator[tuple[Record, bool]]:
    """Records of the dataset with their skip marks, in input order, as they finish."""
    import json

    for row in ds.iter_rows():
        yield Record.from_dict(json.loads(row["record"])), bool(row["skip"])


def ray_engine(job, pipeline, run) -> None:
    """The engine of :func:`summarizer.runner.run_to_folder` on Ray: the same records, reported
    to ``run`` in the same order as the local engine's."""
    ray = start(job.ray_address)
    rename = IdRenamer()
    read = read_sources(ray, job.sources, job.text_field, job.reference_field, job.limit,
                        run.folder.reusable() if job.resume else None)
    # Skipped in the workers as finished, but renamed here (an id repeated across inputs), so
    # not found: these are computed in a second, small pass.
    missed: list[Record] = []
    with _library_errors():
        for record, skipped in iter_records(build_dataset(ray, read, pipeline, job.workers)):
            rename(record)
            if run.listed(record) is not None:
                continue
            if skipped:
                missed.append(record)
            elif not run.finished(record):
                return
        if missed:
            rows = ray.data.from_items([{"record": r.to_json(), "skip": False} for r in missed])
            for record, _ in iter_records(build_dataset(ray, rows, pipeline, job.workers)):
                run.folder.reuse(record)  # stamps record.run
                if not run.finished(record):
                    return


@contextmanager
def _library_errors():
    """Re-raise the library error behind a Ray task failure, so the CLI shows its message."""
    try:
        yield
    except Exception as exc:
        cause, seen = exc, set()
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, SummarizerError) and cause is not exc:
                raise cause from None
            seen.add(id(cause))
            cause = getattr(cause, "cause", None) or cause.__cause__
        raise
