"""Pipeline definitions: TOML files turned into dataclasses.

A pipeline names its stages and the settings of each. Built-in pipelines live in the
package's ``pipelines/`` folder; a path to any ``.toml`` file works too. Unknown sections
and keys are errors that list the valid ones, and settings can be overridden with
``section.key=value`` strings (the CLI's ``--set``):

    >>> cfg = load_pipeline("lead3", overrides=["extract.max_sentences=2"])
    >>> cfg.extract.max_sentences
    2
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError


@dataclass
class ChunkConfig:
    # "auto" picks Chinese rules for mostly-CJK text and English rules otherwise.
    language: str = "auto"
    # "model": token counts from the pipeline model's tokenizer; "words": a model-free
    # estimate (word and punctuation pieces, one per CJK character) for pipelines without a model.
    tokenizer: str = "model"
    max_chunk_tokens: int = 1024
    # Longer "sentences" (tables, text without punctuation) are split at whitespace.
    max_sentence_chars: int = 1500


@dataclass
class ExtractConfig:
    # lead, centrality, position, embedding (see summarizer/extract.py).
    strategy: str = "lead"
    # Token budget of the selected sentences (what the model reads); 0 means no budget.
    budget_tokens: int = 400
    # 0 means no limit.
    max_sentences: int = 0
    # MMR weight: how strongly similarity to already selected sentences counts against a
    # sentence (0 turns redundancy control off).
    redundancy: float = 0.0
    # position / embedding: share of the score that comes from the lead prior
    # 1 / (1 + rank) ** position_decay.
    position_weight: float = 0.5
    position_decay: float = 1.0
    # Never select a headline line (it is still part of the document for centrality).
    skip_headline: bool = False
    # Fragments shorter than this are never selected (unless nothing else is left).
    min_sentence_tokens: int = 0


@dataclass
class PromptConfig:
    # "auto": the chat template for instruction-tuned models, "base" otherwise.
    format: str = "auto"
    template: str = "{text}\n\nTL;DR:"
    instruction: str = "Summarize the following article in two or three sentences."
    # Few-shot: worked examples ({article = "...", summary = "..."}) shown before the article,
    # through the same template (base) or as earlier chat turns (chat).
    examples: list[dict] = field(default_factory=list)
    # Between the examples and the article (base format); a blank line ends a summary.
    example_separator: str = "\n\n\n"
    # Target length, filled in wherever the template or instruction says {sentences}.
    sentences: int = 3


@dataclass
class GenerateConfig:
    model: str = "default"
    # A LoRA adapter folder written by `summarizer finetune`, merged into the model at load
    # time ("" = none). A model spec that is itself an adapter folder works too.
    adapter: str = ""
    device: str = "auto"
    dtype: str = "auto"
    max_new_tokens: int = 80
    # 0 = auto: 16 on a CPU, 32 on a GPU (make bench: a CPU decoding step costs about the
    # same for 4 rows as for 1, so rows are nearly free up to ~16).
    batch_size: int = 0
    # CPU threads for torch; 0 = auto (torch's default: the physical cores).
    threads: int = 0
    # Documents read ahead and sorted by prompt length before batching; both `run` and the
    # `generate` command batch the same windows, so their outputs are identical.
    window: int = 16
    # Strings that end a generation early (besides <eos> and max_new_tokens), e.g. ["\n\n"].
    stop: list[str] = field(default_factory=list)
    # Decode with logits over a candidate vocabulary (the prompts' tokens, special tokens and
    # this many most frequent ids) instead of the whole vocabulary; 0 = the full, exact head.
    head_vocab: int = 0
    # "fast": this package's greedy loop (finished rows leave the batch; prompt lookup);
    # "transformers": the model's own `generate` (same tokens, slower on a CPU).
    decoder: str = "fast"
    # Prompt lookup (fast decoder): tokens proposed per step from the prompt, verified in one
    # forward pass, so the output is unchanged; 0 = off.
    lookup_tokens: int = 0
    # Added to the logit of every token of the prompt (the extracted source): favours the
    # article's words where the model hesitates (0 = off; see summarizer/steering.py).
    copy_bias: float = 0.0
    # A summary never repeats one of its own n-grams of this length (0 = off; the prompt's
    # n-grams may be copied).
    no_repeat_ngram: int = 0
    # No end of summary (end token, stop strings of one token) before this many new tokens.
    min_new_tokens: int = 0
    # Fast decoder: a row ends once its last this-many tokens repeat an n-gram it already
    # generated (a loop; the dedupe filter would drop the repeat anyway); 0 = off.
    loop_ngram: int = 0
    # End a row once its text holds this many finished sentences or lines (0: no limit): the
    # length control of a summary, and faster than running on to max_new_tokens.
    max_sentences: int = 0
    # Fast decoder: a prompt beginning of at least this many tokens common to a whole batch
    # (few-shot examples) is read once per batch instead of once per row (0: off).
    share_prefix: int = 32


@dataclass
class MapReduceConfig:
    # Text covered by one map call; each call reads only its extract (extract.budget_tokens).
    group_tokens: int = 8192
    # Levels of summaries of summaries before the rest is left to the extract's budget.
    max_levels: int = 3


@dataclass
class FilterConfig:
    steps: list[str] = field(
        default_factory=lambda: ["strip_echo", "cut_unfinished", "dedupe"]
    )
    # low_support: a sentence needs at least this share of its content words in the source.
    min_support: float = 0.5
    # redact_pii: redact all personal data, not only what the source does not contain.
    redact_all_pii: bool = False
    # max_length: at most this many words, in whole sentences (0: no limit).
    max_words: int = 0
    # When no filtered text is left, the summary is this many extracted sentences.
    fallback_sentences: int = 3


SECTIONS: dict[str, type] = {
    "chunk": ChunkConfig,
    "extract": ExtractConfig,
    "prompt": PromptConfig,
    "generate": GenerateConfig,
    "filter": FilterConfig,
    "map_reduce": MapReduceConfig,
}


@dataclass
class PipelineConfig:
    name: str
    description: str = ""
    stages: list[str] = field(default_factory=lambda: ["chunk", "extract", "filter"])
    chunk: ChunkConfig = field(default_factory=ChunkConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    map_reduce: MapReduceConfig = field(default_factory=MapReduceConfig)

    @property
    def uses_model(self) -> bool:
        # A stage that calls the model says so (stage.uses_model), built-in or registered by a user.
        from .stages import STAGES

        return self.chunk.tokenizer == "model" or any(
            getattr(STAGES.get(name), "uses_model", False) for name in self.stages if name in STAGES)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """A short hash of every setting, to tell whether two runs used the same pipeline.
        With a fine-tuned adapter the digest of its weights counts too, so an adapter folder
        trained again under the same name is not mistaken for the old one."""
        data = self.to_dict()
        if self.uses_model:
            from .adapters import identity

            weights = identity(self.generate.model, self.generate.adapter)
            if weights is not None:
                data["adapter_weights"] = weights
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def builtin_pipelines() -> dict[str, Path]:
    folder = resources.files("summarizer.pipelines")
    return {
        Path(entry.name).stem: Path(str(entry))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def load_pipeline(name_or_path: str = "default", overrides: list[str] | tuple[str, ...] = ()) -> PipelineConfig:
    """Load a built-in pipeline by name, or a pipeline file by path, then apply overrides."""
    path = _find_pipeline(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"pipeline file {path} is not valid TOML: {exc}.") from exc
    config = _build(data, name=path.stem, where=str(path))
    for item in overrides:
        apply_override(config, item)
    _check_stages(config)
    return config


def _find_pipeline(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ConfigError(f"pipeline file {name_or_path!r} does not exist.")
        return candidate
    builtins = builtin_pipelines()
    if name_or_path not in builtins:
        raise ConfigError(
            f"unknown pipeline {name_or_path!r}; built-in pipelines: {', '.join(sorted(builtins))} "
            "(or give the path of a .toml file)."
        )
    return builtins[name_or_path]


def _build(data: dict[str, Any], name: str, where: str) -> PipelineConfig:
    top_level = {"description", "stages", *SECTIONS}
    unknown = sorted(set(data) - top_level)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(sorted(top_level))}."
        )
    config = PipelineConfig(name=name)
    if "description" in data:
        config.description = _coerce(data["description"], str, f"{where}: description")
    if "stages" in data:
        config.stages = _coerce(data["stages"], list[str], f"{where}: stages")
    for section, cls in SECTIONS.items():
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{section}] must be a table of settings.")
        target = getattr(config, section)
        for key, value in values.items():
            _set_field(target, section, key, value, where)
    return config


def apply_override(config: PipelineConfig, item: str) -> None:
    """Apply one ``section.key=value`` override; the value is read as TOML when it parses."""
    if "=" not in item or "." not in item.split("=", 1)[0]:
        raise ConfigError(
            f"override {item!r} is not of the form section.key=value (e.g. extract.budget_tokens=300)."
        )
    dotted, raw = item.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    if section not in SECTIONS:
        raise ConfigError(
            f"override {item!r}: unknown section {section!r}; valid sections: {', '.join(SECTIONS)}."
        )
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is taken as a string: generate.model=default
    _set_field(getattr(config, section), section, key, value, "--set")


def _set_field(target: Any, section: str, key: str, value: Any, where: str) -> None:
    types = typing.get_type_hints(type(target))
    if key not in types:
        raise ConfigError(
            f"{where}: unknown setting {section}.{key}; valid settings of [{section}]: "
            f"{', '.join(types)}."
        )
    setattr(target, key, _coerce(value, types[key], f"{where}: {section}.{key}"))


def _coerce(value: Any, expected: Any, what: str) -> Any:
    origin = typing.get_origin(expected)
    if origin is list:
        (item_type,) = typing.get_args(expected)
        if not isinstance(value, list):
            value = [value]
        return [_coerce(v, item_type, what) for v in value]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{what} must be an integer, got {value!r}.")
    if not isinstance(value, expected):
        raise ConfigError(f"{what} must be of type {expected.__name__}, got {value!r}.")
    return value


def _check_stages(config: PipelineConfig) -> None:
    from .stages import STAGES  # the registry is filled when the stage modules are imported

    for stage in config.stages:
        STAGES.get(stage)  # raises ConfigError listing the valid stages
