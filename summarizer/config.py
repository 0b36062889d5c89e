"""Pipeline definitions: TOML files turned into dataclasses.

A pipeline names its stages and the settings of each. Built-in pipelines live in the
package's ``pipelines/`` folder; a path to any ``.toml`` file works too. Unknown sections
and keys are errors that list the valid ones, and settings can be overridden with
``section.key=value`` strings (the CLI's ``--set``). Each setting declares its valid range
or choices beside its field (:func:`setting`), and :func:`validate` checks them all once
the file and the overrides are applied, before any document is read:

    >>> cfg = load_pipeline("lead3", overrides=["extract.max_sentences=2"])
    >>> cfg.extract.max_sentences
    2
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import re
import stat
import tomllib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError

# What Context.count_tokens knows; any other name would silently count words.
TOKENIZERS = ("model", "words")
# What prompt._fill replaces; any other {name} would reach the model as written.
TEMPLATE_PLACEHOLDERS = {"text": "the extracted article", "sentences": "prompt.sentences"}


def setting(default: Any, **rules: Any) -> Any:
    """A dataclass field whose ``metadata`` holds the rules :func:`validate` checks:

    ``min`` and ``max`` (inclusive) for numbers (a float must be finite anyway); ``choices``, a
    tuple or a zero-argument callable returning the valid names (registries fill up as their
    modules are imported, so they are asked only when a pipeline is checked); ``pattern``, a
    regex the whole string must match; ``min_len`` for strings; ``placeholders`` (the {name}s a
    template may hold) and ``requires`` (those it must hold); ``item``, the rules of each
    entry of a list; ``check``, a function returning a problem or None, for what the others
    cannot say; ``note``, what the special values mean, shown with the rule.
    """
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=rules)
    return field(default=default, metadata=rules)


def _strategies() -> list[str]:
    from .extract import STRATEGIES

    return STRATEGIES.names()


def _formats() -> list[str]:
    from .prompt import FORMATS

    return ["auto", *FORMATS.names()]


def _dtypes() -> tuple[str, ...]:
    from .models import DTYPES

    return DTYPES


def _decoders() -> tuple[str, ...]:
    from .generate import DECODERS

    return DECODERS


def _filters() -> list[str]:
    from .postfilter import FILTERS

    return FILTERS.names()


def _example_problem(example: Any) -> str | None:
    if isinstance(example, dict) and set(example) == {"article", "summary"} and all(
            isinstance(v, str) for v in example.values()):
        return None
    return 'is not an example: each needs exactly article = "..." and summary = "..." (strings)'


@dataclass
class ChunkConfig:
    # "auto" picks Chinese rules for mostly-CJK text and English rules otherwise. sentencex
    # takes any code (falling back to a related language's rules), so only the form is checked.
    language: str = setting("auto", pattern=r"auto|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*",
                            note="auto or a language code such as en, de, zh")
    # "model": token counts from the pipeline model's tokenizer; "words": a model-free
    # estimate (word and punctuation pieces, one per CJK character) for pipelines without a model.
    tokenizer: str = setting("model", choices=TOKENIZERS)
    # 0 would not loop, but would make every sentence a chunk of its own.
    max_chunk_tokens: int = setting(1024, min=1)
    # Longer "sentences" (tables, text without punctuation) are split at whitespace. 0 never
    # shortens a piece, so the splitting loop would run forever; 1 (a character a piece) works.
    max_sentence_chars: int = setting(1500, min=1)


@dataclass
class ExtractConfig:
    # lead, centrality, position, embedding (see summarizer/extract.py).
    strategy: str = setting("lead", choices=_strategies)
    # Token budget of the selected sentences (what the model reads); 0 means no budget.
    budget_tokens: int = setting(400, min=0, note="0 = no budget")
    # 0 means no limit (a negative limit selects nothing).
    max_sentences: int = setting(0, min=0, note="0 = no limit")
    # MMR weight: how strongly similarity to already selected sentences counts against a
    # sentence (0 turns redundancy control off). Not a share: above 1 novelty outweighs salience.
    redundancy: float = setting(0.0, min=0, note="0 = off")
    # position / embedding: share of the score that comes from the lead prior
    # 1 / (1 + rank) ** position_decay.
    position_weight: float = setting(0.5, min=0, max=1, note="0 = centrality alone, 1 = position alone")
    # A negative decay would favour the end of the document over its lead.
    position_decay: float = setting(1.0, min=0, note="0 = a flat prior")
    # Never select a headline line (it is still part of the document for centrality).
    skip_headline: bool = False
    # Fragments shorter than this are never selected (unless nothing else is left).
    min_sentence_tokens: int = setting(0, min=0, note="0 = off")


@dataclass
class PromptConfig:
    # "auto": the chat template for instruction-tuned models, "base" otherwise.
    format: str = setting("auto", choices=_formats)
    template: str = setting("{text}\n\nTL;DR:", placeholders=TEMPLATE_PLACEHOLDERS, requires=("text",))
    # The chat format puts the article after the instruction itself: {text} is not needed.
    instruction: str = setting("Summarize the following article in two or three sentences.",
                               placeholders=TEMPLATE_PLACEHOLDERS)
    # Few-shot: worked examples ({article = "...", summary = "..."}) shown before the article,
    # through the same template (base) or as earlier chat turns (chat).
    examples: list[dict] = setting([], item={"check": _example_problem})
    # Between the examples and the article (base format); a blank line ends a summary.
    example_separator: str = "\n\n\n"
    # Target length, filled in wherever the template or instruction says {sentences}.
    sentences: int = setting(3, min=1)


@dataclass
class GenerateConfig:
    # Resolved when the model loads (models.check); "" would be taken for the current folder.
    model: str = setting("default", min_len=1, note="default, a model folder, a .gguf file or a Hugging Face id")
    # A LoRA adapter folder written by `summarizer finetune`, merged into the model at load
    # time ("" = none). A model spec that is itself an adapter folder works too.
    adapter: str = ""
    # What models.pick_device accepts.
    device: str = setting("auto", pattern=r"auto|cpu|mps|cuda(:\d+)?", note="auto, cpu, mps, cuda or cuda:N")
    dtype: str = setting("auto", choices=_dtypes)
    # 0 would still emit one token: the decoder checks the limit after each token.
    max_new_tokens: int = setting(80, min=1)
    # 0 = auto: 16 on a CPU, 32 on a GPU (make bench: a CPU decoding step costs about the
    # same for 4 rows as for 1, so rows are nearly free up to ~16). A negative size would
    # batch nothing: no document would get a generation.
    batch_size: int = setting(0, min=0, note="0 = auto")
    # CPU threads for torch; 0 = auto (torch's default: the physical cores).
    threads: int = setting(0, min=0, note="0 = auto")
    # Documents read ahead and sorted by prompt length before batching; both `run` and the
    # `generate` command batch the same windows, so their outputs are identical. (window_size
    # would read 0 as 1, but 0 documents read ahead means nothing.)
    window: int = setting(16, min=1)
    # Strings that end a generation early (besides <eos> and max_new_tokens), e.g. ["\n\n"].
    # An empty one is found in every text: each row would end after its first token.
    stop: list[str] = setting([], item={"min_len": 1})
    # Decode with logits over a candidate vocabulary (the prompts' tokens, special tokens and
    # this many most frequent ids) instead of the whole vocabulary; 0 = the full, exact head.
    head_vocab: int = setting(0, min=0, note="0 = the full vocabulary")
    # "fast": this package's greedy loop (finished rows leave the batch; prompt lookup);
    # "transformers": the model's own `generate` (same tokens, slower on a CPU).
    decoder: str = setting("fast", choices=_decoders)
    # Prompt lookup (fast decoder): tokens proposed per step from the prompt, verified in one
    # forward pass, so the output is unchanged; 0 = off.
    lookup_tokens: int = setting(0, min=0, note="0 = off")
    # Added to the logit of every token of the prompt (the extracted source): favours the
    # article's words where the model hesitates (0 = off; see summarizer/steering.py). Any
    # finite value: a negative bias steers away from copying.
    copy_bias: float = 0.0
    # A summary never repeats one of its own n-grams of this length (0 = off; the prompt's
    # n-grams may be copied).
    no_repeat_ngram: int = setting(0, min=0, note="0 = off")
    # No end of summary (end token, stop strings of one token) before this many new tokens.
    min_new_tokens: int = setting(0, min=0, note="0 = off")
    # Fast decoder: a row ends once its last this-many tokens repeat an n-gram it already
    # generated (a loop; the dedupe filter would drop the repeat anyway); 0 = off.
    loop_ngram: int = setting(0, min=0, note="0 = off")
    # End a row once its text holds this many finished sentences or lines (0: no limit): the
    # length control of a summary, and faster than running on to max_new_tokens.
    max_sentences: int = setting(0, min=0, note="0 = no limit")
    # Fast decoder: a prompt beginning of at least this many tokens common to a whole batch
    # (few-shot examples) is read once per batch instead of once per row (0: off).
    share_prefix: int = setting(32, min=0, note="0 = off")


@dataclass
class MapReduceConfig:
    # Text covered by one map call; each call reads only its extract (extract.budget_tokens).
    # 0 would make every chunk a group of its own at every level.
    group_tokens: int = setting(8192, min=1)
    # Levels of summaries of summaries before the rest is left to the extract's budget; 0 works
    # too: no map step, the extract picks from the whole document at once.
    max_levels: int = setting(3, min=0, note="0 = no map step")


@dataclass
class FilterConfig:
    steps: list[str] = setting(["strip_echo", "cut_unfinished", "dedupe"], item={"choices": _filters})
    # low_support: a sentence needs at least this share of its content words in the source.
    min_support: float = setting(0.5, min=0, max=1, note="0 = keep every sentence")
    # redact_pii: redact all personal data, not only what the source does not contain.
    redact_all_pii: bool = False
    # max_length: at most this many words, in whole sentences (0: no limit).
    max_words: int = setting(0, min=0, note="0 = no limit")
    # When no filtered text is left, the summary is this many extracted sentences (the filter
    # never returns nothing, so it would read 0 as 1).
    fallback_sentences: int = setting(3, min=1)


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
    """Load a built-in pipeline by name, or a pipeline file by path, then apply overrides;
    every setting is checked against its rules (:func:`validate`)."""
    path = _find_pipeline(name_or_path)
    text = _read_pipeline_file(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"pipeline file {path} is not valid TOML: {exc}.") from exc
    config = _build(data, name=path.stem, where=str(path))
    origins = {f"{section}.{key}": str(path)
               for section in SECTIONS if isinstance(data.get(section), dict) for key in data[section]}
    for item in overrides:
        apply_override(config, item)
        origins[item.split("=", 1)[0].strip()] = "--set"
    validate(config, origins)
    return config


def _find_pipeline(name_or_path: str) -> Path:
    try:
        return _pipeline_path(name_or_path)
    except OSError as exc:  # a folder on the way that may not be searched (EACCES), a name too long
        raise ConfigError(f"pipeline file {name_or_path!r} cannot be looked at ({exc.strerror or exc}).") from exc


def _pipeline_path(name_or_path: str) -> Path:
    candidate = Path(name_or_path)
    builtins = builtin_pipelines()
    # A folder that happens to be called "default" must not hide the built-in pipeline.
    is_path = candidate.suffix == ".toml" or candidate.is_file() or (
        name_or_path not in builtins and (candidate.exists() or candidate.is_symlink()))
    if is_path:
        if candidate.is_symlink() and not candidate.exists():
            raise ConfigError(f"pipeline file {name_or_path!r} is a link to {os.readlink(candidate)!r}, which does "
                              "not exist; fix the link or give the path of the .toml file itself.")
        if not candidate.exists():
            raise ConfigError(f"pipeline file {name_or_path!r} does not exist.")
        if not candidate.is_file():
            # stat, not open: opening a FIFO would wait for a writer forever
            raise ConfigError(f"pipeline file {name_or_path!r} is not a file (it is {_kind(candidate)}); give the "
                              "path of a .toml file.")
        return candidate
    if name_or_path not in builtins:
        raise ConfigError(
            f"unknown pipeline {name_or_path!r}; built-in pipelines: {', '.join(sorted(builtins))} "
            "(or give the path of a .toml file)."
        )
    return builtins[name_or_path]


def _kind(path: Path) -> str:
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _read_pipeline_file(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except PermissionError as exc:
        raise ConfigError(f"pipeline file {path} cannot be read ({exc.strerror}); make it readable "
                          f"(chmod u+r {path}) or copy it somewhere you can read it.") from exc
    except OSError as exc:
        raise ConfigError(f"pipeline file {path} cannot be read ({exc.strerror or exc}).") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"pipeline file {path} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} (line "
            f"{line}) is not valid UTF-8 ({exc.reason}). TOML files must be UTF-8: save it as UTF-8 (in an "
            f"editor, or e.g. iconv -f latin1 -t utf-8 {path} > fixed.toml if it was written as Latin-1)."
        ) from exc


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
    from .stages import STAGES  # the built-in stages load at the first lookup

    for stage in config.stages:
        STAGES.get(stage)  # raises ConfigError listing the valid stages


def validate(config: PipelineConfig, origins: dict[str, str] | None = None) -> None:
    """Check every setting of every section against the rules declared beside its field
    (see :func:`setting`); raise one ConfigError naming each bad value, its valid range or
    choices and the fix. ``origins`` maps ``section.key`` to where its value came from (a
    file's path, or ``--set``)."""
    _check_stages(config)
    origins = origins or {}
    problems = []
    for section in SECTIONS:
        target = getattr(config, section)
        for spec in dataclasses.fields(target):
            key = f"{section}.{spec.name}"
            value = getattr(target, spec.name)
            problem = _problem(value, spec.metadata)
            if problem is None and isinstance(value, list) and "item" in spec.metadata:
                problem = next((f"has {_shown(item)} as entry {number}, which {what}"
                                for number, item in enumerate(value, 1)
                                if (what := _problem(item, spec.metadata["item"])) is not None), None)
            if problem is not None:
                problems.append(_message(key, value, problem, spec, origins.get(key)))
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} settings are invalid:\n" + "\n".join(f"- {p}" for p in problems))


def _problem(value: Any, rules: typing.Mapping[str, Any]) -> str | None:
    """What is wrong with ``value`` by ``rules`` (a phrase: "is ..."), or None."""
    note = f" ({rules['note']})" if "note" in rules else ""
    if isinstance(value, float) and not math.isfinite(value):
        return f"is not a finite number{note}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = rules.get("min"), rules.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            return f"is out of range: it must be {_range(low, high)}{note}"
    if "choices" in rules:
        choices = rules["choices"]() if callable(rules["choices"]) else rules["choices"]
        if value not in choices:
            return f"is not a valid choice; valid choices: {', '.join(choices)}{note}"
    if isinstance(value, str):
        if "pattern" in rules and not re.fullmatch(rules["pattern"], value):
            return f"is not valid: it must match {rules['pattern']}{note}"
        if len(value) < rules.get("min_len", 0):
            return f"is empty: it must be a non-empty string{note}" if rules["min_len"] == 1 else (
                f"is too short: it must have at least {rules['min_len']} characters{note}")
        if "placeholders" in rules:
            known = rules["placeholders"]
            listed = "; ".join(f"{{{name}}} = {meaning}" for name, meaning in known.items())
            missing = [name for name in rules.get("requires", ()) if f"{{{name}}}" not in value]
            if missing:
                name = missing[0]
                return f"has no {{{name}}} placeholder: add one where {known[name]} goes (placeholders: {listed})"
            # {name}s only: other braces (JSON, code in an article) pass through prompt._fill as they are
            stray = [name for name in re.findall(r"\{(\w+)\}", value) if name not in known]
            if stray:
                return f"has the placeholder {{{stray[0]}}}, which is never filled (placeholders: {listed})"
    if "check" in rules:
        return rules["check"](value)
    return None


def _range(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f">= {low}" if low is not None else f"<= {high}"


def _message(key: str, value: Any, problem: str, spec: dataclasses.Field, origin: str | None) -> str:
    shown = f"{key} = {_shown(value)}" + (" (from --set)" if origin == "--set" else "")
    fix = f"--set {key}={_as_override(_default(spec))}"
    where = f"Fix it in {origin} or with {fix}" if origin and origin != "--set" else f"Fix it with {fix}"
    return f"{shown} {problem}. {where}."


def _default(spec: dataclasses.Field) -> Any:
    return spec.default_factory() if spec.default is dataclasses.MISSING else spec.default


def _shown(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_TOML_WORDS = ("true", "false", "inf", "nan")


def _as_override(value: Any) -> str:
    """``value`` as --set reads it back (TOML; a bare word stays a string)."""
    if isinstance(value, bool):
        return str(value).lower()
    # a bare word that TOML would read as a boolean or a float needs its quotes
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z][\w.:/-]*", value) and value not in _TOML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)  # JSON strings, numbers and arrays of them are TOML
