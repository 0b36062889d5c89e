"""The Python API.

    >>> from summarizer import summarize
    >>> summarize("First point. Second point. Third point. Fourth point.", pipeline="lead3")
    'First point. Second point. Third point.'
    >>> summarize("First point. Second point. Third point. Fourth point.", pipeline="lead3", sentences=1)
    'First point.'

The pipeline (and its model) is built on the first call and reused by later calls with the
same arguments.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, overload

from .pipeline import Pipeline

_PIPELINES: dict[tuple, Pipeline] = {}


@overload
def summarize(text: str, pipeline: str = ..., model: str | None = ..., settings: Mapping | None = ...,
              adapter: str | bool | None = ..., *, sentences: int | None = ..., max_words: int | None = ...,
              errors: str = ...) -> str: ...
@overload
def summarize(text: Iterable[str], pipeline: str = ..., model: str | None = ..., settings: Mapping | None = ...,
              adapter: str | bool | None = ..., *, sentences: int | None = ..., max_words: int | None = ...,
              errors: str = ...) -> list[str]: ...


def summarize(text, pipeline="default", model=None, settings=None, adapter=None, *, sentences=None,
              max_words=None, errors="raise") -> Any:
    """Summarize one text (returns a string) or a list of texts (returns a list).

    ``pipeline`` is a built-in pipeline name or a .toml path, ``model`` any model spec
    (``default``, a Hugging Face id, a folder, a .gguf file, a fine-tuned adapter folder),
    ``adapter`` a folder written by ``summarizer finetune`` (``""`` runs without any, also
    without the built-in one of the default pipeline) and ``settings`` overrides such
    as ``{"extract.budget_tokens": 300}``.

    ``sentences=N`` asks for at most N sentences and ``max_words=N`` for at most N words, in
    whole sentences (a first sentence longer than N words alone is cut after its Nth word and
    ends in "…"), on every pipeline;
    they win over ``settings`` (see :mod:`summarizer.length` for what they set).

    A text that cannot be summarized (an empty string, something that is not a string) fails
    on its own, and the other texts are still summarized. ``errors="raise"`` (the default)
    then raises :class:`~summarizer.errors.SummarizerError` naming each failed text's index
    and why; ``errors="return"`` returns the list with that SummarizerError in the failed
    text's place instead of a summary (for a single text: the error instead of the string).
    """
    overrides = tuple(f"{key}={_toml(value)}" for key, value in sorted((settings or {}).items()))
    key = (pipeline, model, overrides, adapter, sentences, max_words)
    if key not in _PIPELINES:
        _PIPELINES[key] = Pipeline.load(pipeline, model=model, overrides=overrides, adapter=adapter,
                                        sentences=sentences, max_words=max_words)
    return _PIPELINES[key](text, errors=errors)


def _toml(value) -> str:
    # JSON scalars and lists of them are valid TOML values.
    return json.dumps(value)
