"""Length options: ``--sentences N`` and ``--max-words N`` as the settings of a pipeline's stages.

    >>> from summarizer.config import load_pipeline
    >>> config = load_pipeline("lead3")
    >>> apply_length(config, sentences=1, max_words=20)
    {'extract.max_sentences': 1, 'filter.fallback_sentences': 1, 'filter.steps': [{'name': 'max_length', 'max_words': 20, 'cut': True}]}

What caps a summary's length depends on which stage writes it, so the mapping follows the
pipeline's chain of stages rather than its name (a pipeline file of one's own gets the same):

- the extract is the summary (no stage calls the model: ``extractive``, ``lead3``), or each
  extracted sentence becomes one summary sentence (``rewrite``: ``compress``): ``sentences``
  is ``extract.max_sentences``, for a long document too (``extract.long_max_sentences``);
- the model writes the summary from the extract (``generate``, also after ``map_reduce``):
  ``sentences`` is the length the prompt asks for (``prompt.sentences``, the ``{sentences}``
  of its template or instruction) and where generation stops (``generate.max_sentences``; in
  ``long`` the partial summaries of the map step too). The extract is the model's input and
  keeps its own size, only raised to ``sentences`` where it is capped below it;
- either way the extractive fallback (``filter.fallback_sentences``) takes that many sentences.

``max_words`` is a ``max_length`` step at the end of ``filter.steps`` (or the one already
there, updated), with ``cut = true``: whole sentences up to that many words, and when the
first sentence alone is longer, its first ``max_words`` words and an ellipsis, so the
summary never has more words than asked for. The budget that
bounds the summary is raised where it could not hold that many words (about
:data:`TOKENS_PER_WORD` tokens a word): the extract's token budget where the extract is the
summary, ``generate.max_new_tokens`` where the model writes it. Budgets are never lowered,
and the extract that the model reads is left as it is (a shipped adapter was trained on it).

The options are applied after the pipeline file and ``--set``: they win over both.
"""

from __future__ import annotations

import copy
import logging
import math
from typing import Any

from .config import PipelineConfig, set_field
from .errors import ConfigError
from .stages import model_stage

log = logging.getLogger("summarizer")

# Subword tokens per English word run about 1.25 (the model-free estimate on the examples) to
# 1.4 (a subword tokenizer); a budget of this many a word holds the words with room to spare.
TOKENS_PER_WORD = 1.5


def check_length(sentences: Any, max_words: Any) -> None:
    """Raise ConfigError unless each of ``sentences`` and ``max_words`` is None or a whole
    number >= 1 (what ``--sentences`` and ``--max-words`` accept)."""
    for name, value in (("sentences", sentences), ("max_words", max_words)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}={value!r} is not a valid length: give a whole number >= 1 "
                              f"(e.g. {name}={3 if name == 'sentences' else 60}), or None for the pipeline's own.")


def length_settings(config: PipelineConfig, sentences: int | None = None,
                    max_words: int | None = None) -> dict[str, Any]:
    """The settings (``section.key`` -> value) that give ``config`` summaries of at most
    ``sentences`` sentences and ``max_words`` words; only those that change."""
    check_length(sentences, max_words)
    wanted: dict[str, Any] = {}
    stages = list(config.stages)
    model_at = model_stage(stages)
    model_writes = model_at is not None and "rewrite" not in stages
    if sentences is not None:
        if model_writes:
            if "prompt" in config.sections:
                wanted["prompt.sentences"] = sentences
            wanted["generate.max_sentences"] = sentences
            # the model cannot fuse sentences it is not given (a long document's cap too)
            for key in ("max_sentences", "long_max_sentences"):
                cap = getattr(config.extract, key)
                if cap and cap < sentences:
                    wanted[f"extract.{key}"] = sentences
        else:
            wanted["extract.max_sentences"] = sentences
            wanted["extract.long_max_sentences"] = 0  # the length asked for, long document or not
        wanted["filter.fallback_sentences"] = sentences
    if max_words is not None:
        tokens = math.ceil(max_words * TOKENS_PER_WORD)
        if model_writes:
            if config.generate.max_new_tokens < tokens:
                wanted["generate.max_new_tokens"] = tokens
        else:
            for key in ("budget_tokens", "long_budget_tokens"):
                budget = getattr(config.extract, key)
                if budget and budget < tokens:
                    wanted[f"extract.{key}"] = tokens
        wanted["filter.steps"] = _with_max_length(config.filter.steps, max_words)
    return {key: value for key, value in wanted.items() if _current(config, key) != value}


def apply_length(config: PipelineConfig, sentences: int | None = None, max_words: int | None = None) -> dict[str, Any]:
    """Set :func:`length_settings` on ``config`` in place; return them (logged at debug level)."""
    changes = length_settings(config, sentences, max_words)
    for key, value in changes.items():
        section, name = key.split(".", 1)
        set_field(getattr(config, section), section, name, value, "length options")
    if changes:
        log.debug("length options (sentences=%s, max_words=%s) set %s", sentences, max_words,
                  ", ".join(f"{key}={value!r}" for key, value in changes.items()))
    return changes


def _with_max_length(steps: list, max_words: int) -> list:
    """``steps`` with every ``max_length`` step set to ``max_words``, or one added at the end:
    the cut comes last, after the filters that drop sentences."""
    updated, found = [], False
    for step in copy.deepcopy(steps):
        name = step if isinstance(step, str) else step.get("name") if isinstance(step, dict) else None
        if name == "max_length":
            step = {**(step if isinstance(step, dict) else {"name": name}), "max_words": max_words, "cut": True}
            found = True
        updated.append(step)
    return updated if found else [*updated, {"name": "max_length", "max_words": max_words, "cut": True}]


def _current(config: PipelineConfig, key: str) -> Any:
    section, name = key.split(".", 1)
    return getattr(getattr(config, section), name)
