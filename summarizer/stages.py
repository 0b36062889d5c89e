"""The stage contract: this module is the architecture in one page.

    ingest -> chunk -> extract -> prompt -> generate -> filter

``ingest`` turns paths and tables into :class:`~summarizer.records.Record` objects
(:func:`summarizer.ingest.ingest`). Every later stage is one callable with one signature,

    stage(records: Iterable[Record], ctx: Context) -> Iterator[Record]

registered in :data:`STAGES` under its name, built-ins and user stages alike::

    @STAGES.register("shout")
    def shout(records, ctx):
        for r in records:
            r.summary = (r.summary or "").upper()
            yield r

A stage takes records lazily and yields them in the same order, one out for each one in;
it fills its own fields, appends a ``trace`` entry, and passes a record whose ``error`` is
set through untouched. A problem with one document becomes that record's ``error``, never
an exception that stops the batch; a doubt that does not stop it is appended to its
``warnings`` (``"chunk: no sentence punctuation ..."``). A pipeline (``pipelines/*.toml``) is the list of stage
names after ingest plus their settings; :func:`summarizer.pipeline.Pipeline.run` chains them.
A stage that calls ``ctx.model`` sets ``stage.uses_model = True`` (the Ray engine runs such
stages in the actors that hold the model).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from itertools import islice
from typing import Callable, Iterable, Iterator

from .config import PipelineConfig
from .errors import ConfigError, ModelError
from .records import Record
from .registry import Registry

Stage = Callable[[Iterable[Record], "Context"], Iterator[Record]]

# The built-in stages register themselves when their modules are imported, at the first lookup.
STAGES: Registry[Stage] = Registry("stage", builtins=[
    f"summarizer.{module}" for module in ("chunk", "extract", "generate", "mapreduce", "postfilter", "prompt", "rewrite")])


class Context:
    """What the stages of one pipeline share: its settings and, loaded on first use, the
    model and tokenizer (cached per process, so many pipelines reuse one model)."""

    def __init__(self, config: PipelineConfig):
        self.config = config

    @property
    def tokenizer(self):
        from .models import load_tokenizer

        return load_tokenizer(self.config.generate.model)

    @property
    def model(self):
        from .models import load_model

        gen = self.config.generate
        return load_model(gen.model, device=gen.device, dtype=gen.dtype, adapter=gen.adapter)

    def count_tokens(self, texts: list[str]) -> list[int]:
        if self.config.chunk.tokenizer == "model":
            if not texts:
                return []
            encoded = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
            return [len(ids) for ids in encoded]
        from .segment import estimate_tokens

        return [estimate_tokens(t) for t in texts]


def per_record(stage: str, process: Callable[[Record, Context], dict | None]) -> Stage:
    """Make a stage out of a function of one record: skip failed records, time each one,
    record the details it returns in the trace, and turn its exceptions into ``error``."""

    def run(records: Iterable[Record], ctx: Context) -> Iterator[Record]:
        for record in records:
            if record.error is None:
                with recording_errors(record, stage):
                    start = time.perf_counter()
                    details = process(record, ctx) or {}
                    record.add_trace(stage, time.perf_counter() - start, **details)
            yield record

    run.__name__ = stage
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

