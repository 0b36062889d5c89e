"""Orchestration: a pipeline is its list of stages, run in order over records.

    >>> pipe = Pipeline.load("lead3", sentences=2)
    >>> pipe
    <Pipeline lead3: chunk -> extract -> filter>
    >>> pipe("First point. Second point. Third point. Fourth point.")
    'First point. Second point.'

:meth:`Pipeline.run` chains the stages lazily, so documents stream through one after
another (generation works on small windows of them) and memory stays bounded however many
documents there are. :func:`summarizer.runner.run_to_folder` is what ``summarizer run`` does.
"""

from __future__ import annotations

import logging
from collections import abc
from typing import Any, Iterable, Iterator, Sequence

from .adapters import pipeline_mismatches
from .config import PipelineConfig, load_pipeline, validate
from .errors import SummarizerError
from .ingest import normalize
from .length import apply_length
from .records import Record
from .stages import Context, model_stage, run_chain

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
             adapter: str | bool | None = None, sentences: int | None = None,
             max_words: int | None = None) -> "Pipeline":
        """A built-in pipeline by name (or a .toml path), with ``--set``-style overrides;
        ``model`` replaces the pipeline's ``generate.model`` and ``adapter`` (a folder written
        by ``summarizer finetune``, ``"builtin"``, or ``""`` / ``False`` for none) its
        ``generate.adapter``. ``sentences`` and ``max_words`` bound the summaries' length,
        applied last, over the overrides (:mod:`summarizer.length`)."""
        config = load_pipeline(pipeline, overrides)
        if model:
            config.generate.model = model
        if adapter is not None:
            config.generate.adapter = str(adapter) if adapter else ""
        apply_length(config, sentences, max_words)
        if config.uses_model:
            for difference in pipeline_mismatches(config):
                log.warning("The adapter was trained with other prompt settings (%s); its gain may be lost.", difference)
        return cls(config)

    def __repr__(self) -> str:
        chain = " -> ".join(self.config.stages)
        gen = self.config.generate
        if not self.config.uses_model:
            return f"<Pipeline {self.config.name}: {chain}>"
        # the adapter matters only where a stage runs the model, not for a tokenizer's counts
        adapter = f", adapter {gen.adapter!r}" if gen.adapter and model_stage(self.config.stages) is not None else ""
        return f"<Pipeline {self.config.name}: {chain}; model {gen.model!r}{adapter}>"

    def __call__(self, text: str | Iterable[str], errors: str = "raise") -> Any:
        """The summary of ``text`` (a string), or the list of summaries of a list of texts.

        A text that cannot be summarized (empty, not a string) fails on its own; the others
        are still summarized. With ``errors="raise"`` (the default) a
        :class:`~summarizer.errors.SummarizerError` then names every failed text by its index
        and why, once all are done; with ``errors="return"`` the failed text's place in the
        result holds that SummarizerError instead of a string (as ``asyncio.gather(...,
        return_exceptions=True)`` does), so ``[s for s in out if isinstance(s, str)]`` keeps the
        summaries. Anything but a string or an iterable of them (bytes, a dict, a number) is a
        TypeError.
        """
        if errors not in ("raise", "return"):
            raise ValueError(f"errors={errors!r} is not valid: give errors='raise' (the default: a SummarizerError "
                             "naming the failed texts) or errors='return' (errors in their place in the result).")
        single = isinstance(text, str)
        if not single and (isinstance(text, (bytes, bytearray, abc.Mapping)) or not isinstance(text, abc.Iterable)):
            fix = "; decode it first (text.decode('utf-8'))" if isinstance(text, (bytes, bytearray)) else ""
            raise TypeError(f"a pipeline summarizes a string or a list of strings, not {type(text).__name__}{fix}.")
        texts = [text] if single else list(text)
        results: list[Any] = [
            record.summary if record.error is None else SummarizerError(f"text {index}: {record.error}")
            for index, record in enumerate(self.run_texts(texts))
        ]
        failed = [result for result in results if isinstance(result, SummarizerError)]
        if failed and errors == "raise":
            shown = ", ".join(str(error) for error in failed[:5]) + (", ..." if len(failed) > 5 else "")
            hint = ("; errors='return' gives the other summaries, with an error in each failed place"
                    if len(texts) > 1 else "")
            raise SummarizerError(f"{len(failed)} of {len(texts)} text(s) could not be summarized ({shown}){hint}.")
        return results[0] if single else results

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        return run_chain(self.config.stages, records, self.ctx)

    def run_texts(self, texts: Sequence[str]) -> list[Record]:
        """One finished record per text, ids ``"0"``, ``"1"``, ...; an empty text or one that
        is not a string is a failed record, not an exception."""
        records = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                records.append(Record(id=str(i), text="", error=f"ingest: not a string but {type(text).__name__}"))
                continue
            record = Record(id=str(i), text=normalize(text))
            if not record.text:
                record.error = "ingest: empty document"
            records.append(record)
        return list(self.run(records))

    def summarize(self, texts: Sequence[str]) -> list[str]:
        """One summary per text; a text that failed gets an empty string (see run_texts)."""
        return [r.summary or "" for r in self.run_texts(texts)]
