"""The stage contract: this module is the architecture in one page.

    ingest -> chunk -> extract -> prompt -> generate -> filter

``ingest`` turns paths and tables into :class:`~summarizer.records.Record` objects
(:func:`summarizer.ingest.ingest`). Every later stage is one callable with one signature,

    stage(records: Iterable[Record], ctx: Context) -> Iterator[Record]

registered in :data:`STAGES` under its name by :func:`stage`, built-ins and user stages
alike. A stage's settings are a dataclass declared beside it; they are the pipeline file's
section of the stage's name, checked when the pipeline loads (:mod:`summarizer.config`)::

    @dataclass
    class ShoutSettings:
        mark: str = setting("!", choices=("!", "?"))

    @stage("shout", settings=ShoutSettings)
    def shout(records, ctx):
        for r in records:
            r.summary = (r.summary or "").upper() + ctx.config.shout.mark
            yield r

A stage takes records lazily and yields them in the same order, one out for each one in;
it fills its own fields, appends a ``trace`` entry, and passes a record whose ``error`` is
set through untouched. A problem with one document becomes that record's ``error``, never
an exception that stops the batch; a doubt that does not stop it is appended to its
``warnings`` (``"chunk: no sentence punctuation ..."``). A pipeline (``pipelines/*.toml``) is the list of stage
names after ingest plus their settings; :func:`run_chain` chains them, for a pipeline and for
the sub-records of a composite stage alike. A stage that calls ``ctx.model`` is registered
with ``uses_model=True`` (the Ray engine runs such stages in the actors that hold the model);
one that reads other stages' settings names them in ``reads`` (``rewrite`` decodes with
``[generate]`` and filters with ``[filter]``).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from itertools import islice
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

from .errors import ConfigError, ModelError
from .records import Record
from .registry import Registry

if TYPE_CHECKING:
    from .config import PipelineConfig

Stage = Callable[[Iterable[Record], "Context"], Iterator[Record]]

# The built-in stages register themselves when their modules are imported, at the first lookup.
STAGES: Registry[Stage] = Registry("stage", builtins=[
    f"summarizer.{module}" for module in ("chunk", "extract", "filter", "generate", "mapreduce", "prompt", "rewrite")])


def stage(name: str, *, settings: type | None = None, reads: Sequence[str] = (), uses_model: bool = False):
    """Register a stage function under ``name``. ``settings``: the dataclass of its own
    section (``[name]`` in a pipeline file); ``reads``: the other stages whose sections it
    reads; ``uses_model``: whether it calls ``ctx.model``."""

    def register(function: Stage) -> Stage:
        function.settings = settings
        function.reads = tuple(reads)
        function.uses_model = uses_model
        return STAGES.register(name)(function)

    return register


class Context:
    """What the stages of one pipeline share: its settings and, loaded on first use, the
    model and tokenizer (cached per process, so many pipelines reuse one model)."""

    def __init__(self, config: "PipelineConfig"):
        self.config = config

    @property
    def backend(self):
        """What runs the model (:mod:`summarizer.backend`): transformers, llama.cpp, a server."""
        from .backend import backend_of

        return backend_of(self.config.generate)

    @property
    def tokenizer(self):
        return self.backend.tokenizer(self.config.generate)

    @property
    def model(self):
        return self.backend.model(self.config.generate)


def run_chain(stages: Sequence[str | Stage], records: Iterable[Record], ctx: "Context") -> Iterator[Record]:
    """The stages (names, or stage functions already looked up: a Ray worker gets a user's
    stage by value, not in its registry) chained lazily over ``records``: the one way a list
    of stages runs (a pipeline, the sub-records of a composite stage, the prompts of
    fine-tuning, a batch on a Ray worker)."""
    for step in stages:
        records = (STAGES.get(step) if isinstance(step, str) else step)(records, ctx)
    return iter(records)


def uses_model(name: str) -> bool:
    """Whether the registered stage ``name`` calls the model (``stage(..., uses_model=True)``)."""
    return getattr(STAGES.get(name), "uses_model", False)


def model_stage(names: Sequence[str]) -> int | None:
    """The position of the first of ``names`` that calls the model, or None."""
    return next((i for i, name in enumerate(names) if uses_model(name)), None)


def run_parts(names: Sequence[str], parts: Sequence[tuple[Record, Record, dict]], ctx: "Context",
              kept: Sequence[str] = ("generate",)) -> None:
    """What a composite stage does with the sub-records it makes (a document's sentences, its
    groups of chunks): run the stages ``names`` over every part at once (so the model batches
    them together), then fold each part's trace entries of the stages in ``kept`` into its
    owner's trace, tagged (``{"sentence": 2}``), so a document's trace holds all its model time.
    ``parts`` holds (owner, part, tag) triples."""
    for _ in run_chain(names, (part for _, part, _ in parts), ctx):
        pass
    for owner, part, tag in parts:
        owner.trace += [entry | tag for entry in part.trace if entry["stage"] in kept]


def per_record(name: str, process: Callable[[Record, Context], dict | None]) -> Stage:
    """Make a stage out of a function of one record: skip failed records, time each one,
    record the details it returns in the trace, and turn its exceptions into ``error``."""

    def run(records: Iterable[Record], ctx: Context) -> Iterator[Record]:
        for record in records:
            if record.error is None:
                with recording_errors(record, name):
                    start = time.perf_counter()
                    details = process(record, ctx) or {}
                    record.add_trace(name, time.perf_counter() - start, **details)
            yield record

    run.__name__ = name
    run.__doc__ = process.__doc__
    return run


def in_windows(records: Iterable[Record], size: int, needs: str, missing: str) -> Iterator[tuple[list[Record], list[Record]]]:
    """Records read ``size`` at a time, for stages that batch across documents: each window, and
    those of its records to work on (no earlier error; one without the field ``needs`` gets the
    error ``missing`` instead). The stage yields the whole window on, in order."""
    iterator = iter(records)
    while window := list(islice(iterator, size)):
        todo = [r for r in window if r.error is None]
        for r in todo:
            if getattr(r, needs) is None:
                r.error = missing
        yield window, [r for r in todo if r.error is None]


@contextmanager
def recording_errors(record: Record, stage: str):
    try:
        yield
    except (ConfigError, ModelError):
        raise  # a wrong setting or a missing model fails every document alike: stop and say so
    except Exception as exc:  # one bad document must not stop the batch
        record.error = f"{stage}: {type(exc).__name__}: {exc}"

