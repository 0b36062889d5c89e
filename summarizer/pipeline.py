"""Orchestration: a pipeline is its list of stages, run in order over records.

    >>> pipe = Pipeline.load("lead3")
    >>> pipe.summarize(["First point. Second point. Third point. Fourth point."])
    ['First point. Second point. Third point.']

:meth:`Pipeline.run` chains the stages lazily, so documents stream through one after
another (generation works on small windows of them) and memory stays bounded however many
documents there are. :func:`summarizer.runner.run_to_folder` is what ``summarizer run`` does.
"""

from __future__ import annotations

import logging
from typing import Iterable, Iterator, Sequence

from .adapters import pipeline_mismatches
from .config import PipelineConfig, load_pipeline, validate
from .ingest import normalize
from .records import Record
from .stages import Context, run_chain

log = logging.getLogger("summarizer")


class Pipeline:
    def __init__(self, config: PipelineConfig):
        # Checked here too, not only at load: a config built or changed in code gets the same
        # messages before any document is read, not a failure in the middle of a batch.
        validate(config)
        self.config = config
        self.ctx = Context(config)

    @classmethod
    def load(cls, pipeline: str = "default", model: str | None = None, overrides: Sequence[str] = (),
             adapter: str | bool | None = None) -> "Pipeline":
        """A built-in pipeline by name (or a .toml path), with ``--set``-style overrides;
        ``model`` replaces the pipeline's ``generate.model`` and ``adapter`` (a folder written
        by ``summarizer finetune``, ``"builtin"``, or ``""`` / ``False`` for none) its
        ``generate.adapter``."""
        config = load_pipeline(pipeline, overrides)
        if model:
            config.generate.model = model
        if adapter is not None:
            config.generate.adapter = str(adapter) if adapter else ""
        if config.uses_model:
            for difference in pipeline_mismatches(config):
                log.warning("The adapter was trained with other prompt settings (%s); its gain may be lost.", difference)
        return cls(config)

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        return run_chain(self.config.stages, records, self.ctx)

    def run_texts(self, texts: Sequence[str]) -> list[Record]:
        records = [Record(id=str(i), text=normalize(text)) for i, text in enumerate(texts)]
        for record in records:
            if not record.text:
                record.error = "ingest: empty document"
        return list(self.run(records))

    def summarize(self, texts: Sequence[str]) -> list[str]:
        """One summary per text; a text that failed gets an empty string (see run_texts)."""
        return [r.summary or "" for r in self.run_texts(texts)]
