"""The Python API.

    >>> from summarizer import summarize
    >>> summarize("First point. Second point. Third point. Fourth point.", pipeline="lead3")
    'First point. Second point. Third point.'

The pipeline (and its model) is built on the first call and reused by later calls with the
same arguments.
"""

from __future__ import annotations

from typing import Mapping, Sequence, overload

from .errors import SummarizerError
from .pipeline import Pipeline

_PIPELINES: dict[tuple, Pipeline] = {}


@overload
def summarize(text: str, pipeline: str = ..., model: str | None = ..., settings: Mapping | None = ...,
              adapter: str | bool | None = ...) -> str: ...
@overload
def summarize(text: Sequence[str], pipeline: str = ..., model: str | None = ..., settings: Mapping | None = ...,
              adapter: str | bool | None = ...) -> list[str]: ...


def summarize(text, pipeline="default", model=None, settings=None, adapter=None):
    """Summarize one text (returns a string) or a list of texts (returns a list).

    ``pipeline`` is a built-in pipeline name or a .toml path, ``model`` any model spec
    (``default``, a Hugging Face id, a folder, a .gguf file, a fine-tuned adapter folder),
    ``adapter`` a folder written by ``summarizer finetune`` (``""`` runs without any, also
    without the built-in one of the default pipeline) and ``settings`` overrides such
    as ``{"extract.budget_tokens": 300}``. A document that cannot be summarized (an empty
    text) raises :class:`~summarizer.errors.SummarizerError` naming it.
    """
    overrides = tuple(f"{key}={_toml(value)}" for key, value in sorted((settings or {}).items()))
    key = (pipeline, model, overrides, adapter)
    if key not in _PIPELINES:
        _PIPELINES[key] = Pipeline.load(pipeline, model=model, overrides=overrides, adapter=adapter)
    single = isinstance(text, str)
    texts = [text] if single else list(text)
    if not all(isinstance(t, str) for t in texts):
        raise SummarizerError("summarize() takes a string or a list of strings.")
    records = _PIPELINES[key].run_texts(texts)
    failed = [(i, r.error) for i, r in enumerate(records) if r.error]
    if failed:
        where = ", ".join(f"text {i}: {error}" for i, error in failed[:5])
        raise SummarizerError(f"{len(failed)} of {len(texts)} text(s) could not be summarized ({where}).")
    summaries = [r.summary for r in records]
    return summaries[0] if single else summaries


def _toml(value) -> str:
    import json

    # JSON scalars and lists of them are valid TOML values.
    return json.dumps(value)
