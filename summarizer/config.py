"""Pipeline definitions: TOML files checked against the settings each stage declares.

A pipeline names its stages and the settings of each. Every stage declares its settings as a
dataclass beside its own code (``stage("extract", settings=ExtractSettings)``, see
:mod:`summarizer.stages`); each field declares its valid range or choices (:func:`setting`).
This module is the generic loader: a pipeline file's sections are the stages' names, unknown
sections and keys are errors that list the valid ones, ``section.key=value`` strings (the
CLI's ``--set``) override them, and :func:`validate` checks every value against its rules
once the file and the overrides are applied, before any document is read, for built-in and
user stages alike. Built-in pipelines live in the package's ``pipelines/`` folder; a path to
any ``.toml`` file works too.

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
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .adapters import adapter_digest
from .backend import applies_adapters
from .errors import ConfigError
from .stages import STAGES, uses_model as stage_uses_model
from .tomlcompat import tomllib


def setting(default: Any, **rules: Any) -> Any:
    """A dataclass field whose ``metadata`` holds the rules :func:`validate` checks:

    ``min`` and ``max`` (inclusive) for numbers (a float must be finite anyway); ``choices``, a
    tuple or a zero-argument callable returning the valid names (registries fill up as their
    modules are imported, so they are asked only when a pipeline is checked); ``pattern``, a
    regex the whole string must match; ``min_len`` for strings; ``placeholders`` (the {name}s a
    template may hold) and ``requires`` (those it must hold); ``item``, the rules of each
    entry of a list; ``check``, a function returning a problem or None, for what the others
    cannot say; ``note``, what the special values mean, shown with the rule;
    ``affects_output=False`` for a setting that changes only speed (threads), which a resumed
    run may change without recomputing what is done.
    """
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=rules)
    return field(default=default, metadata=rules)


def sections() -> dict[str, type]:
    """The settings section of every registered stage that declares one: name -> dataclass."""
    found = {name: STAGES.get(name).settings for name in STAGES.names()
             if getattr(STAGES.get(name), "settings", None) is not None}
    return dict(sorted(found.items()))


_FIELDS = ("name", "description", "stages", "sections")


@dataclass
class PipelineConfig:
    """A loaded pipeline. Each stage's settings are ``config.<stage name>`` (``config.extract``,
    ``config.generate``), one instance of the dataclass that stage declares, defaults where
    the file says nothing; ``sections`` holds them all."""

    name: str
    description: str = ""
    stages: list[str] = field(default_factory=lambda: ["chunk", "extract", "filter"])
    sections: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for name, cls in sections().items():
            self.sections.setdefault(name, cls())

    def __getattr__(self, name: str) -> Any:
        # Only for section names: the dataclass's own fields and dunder lookups (copy, pickle)
        # never reach here or must fail as usual.
        if name.startswith("_") or name in _FIELDS:
            raise AttributeError(name)
        found = self.__dict__.get("sections")
        if found is None:
            raise AttributeError(name)
        if name not in found:
            known = sections()
            if name not in known:  # a stage registered after this pipeline loaded gets its defaults
                raise AttributeError(f"pipeline {self.name!r} has no settings section {name!r}; "
                                     f"sections: {', '.join(known)}")
            found[name] = known[name]()
        return found[name]

    @property
    def uses_model(self) -> bool:
        # A stage that calls the model says so (uses_model), built-in or registered by a user.
        return self.chunk.tokenizer == "model" or any(stage_uses_model(name) for name in self.stages if name in STAGES)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "stages": list(self.stages),
                **{name: dataclasses.asdict(values) for name, values in self.sections.items()}}

    def fingerprint(self) -> str:
        """A short hash of what decides the output: the stages and every setting that can
        change it. Not the name or description, nor a setting declared ``affects_output=False``
        (threads), so editing those does not make a resumed run recompute what it finished.
        With a fine-tuned adapter the digest of its weights counts too, so an adapter folder
        trained again under the same name is not mistaken for the old one."""
        data: dict[str, Any] = {"stages": list(self.stages)}
        for name, values in self.sections.items():
            data[name] = {spec.name: getattr(values, spec.name) for spec in dataclasses.fields(values)
                          if spec.metadata.get("affects_output", True)}
        if self.uses_model:
            # only the transformers backend applies an adapter (summarizer/backend.py)
            weights = adapter_digest(self.generate.model, self.generate.adapter) if applies_adapters(self.generate) else None
            if weights is not None:
                data["adapter_weights"] = weights
            elif "generate" in data:  # "builtin" on a model it does not belong to: no adapter at all
                data["generate"]["adapter"] = ""
        from .learned import scorer_digest  # not at the top: it imports the extract stage, which imports this

        scorer = scorer_digest(self)
        if scorer is not None:  # a learned extractor's model file, like an adapter's weights
            data["extract_scorer"] = scorer
        blob = json.dumps(data, sort_keys=True, default=repr).encode()
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
               for section in config.sections if isinstance(data.get(section), dict) for key in data[section]}
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
    known = sections()
    top_level = {"description", "stages", *known}
    unknown = sorted(set(data) - top_level)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(sorted(top_level))} "
            "(a section is the name of a stage with settings; a stage of your own registers its settings with "
            "summarizer.stages.stage(name, settings=...) before the pipeline loads)."
        )
    config = PipelineConfig(name=name)
    if "description" in data:
        config.description = _coerce(data["description"], str, f"{where}: description")
    if "stages" in data:
        config.stages = _coerce(data["stages"], list[str], f"{where}: stages")
    for section in known:
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{where}: [{section}] must be a table of settings.")
        target = getattr(config, section)
        for key, value in values.items():
            set_field(target, section, key, value, where)
    return config


def apply_override(config: PipelineConfig, item: str) -> None:
    """Apply one ``section.key=value`` override; the value is read as TOML when it parses."""
    if "=" not in item or "." not in item.split("=", 1)[0]:
        raise ConfigError(
            f"override {item!r} is not of the form section.key=value (e.g. extract.budget_tokens=300)."
        )
    dotted, raw = item.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    if section not in config.sections:
        raise ConfigError(
            f"override {item!r}: unknown section {section!r}; valid sections: {', '.join(config.sections)}."
        )
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is taken as a string: generate.model=default
    set_field(getattr(config, section), section, key, value, "--set")


def set_field(target: Any, section: str, key: str, value: Any, where: str) -> None:
    """Set ``target.key`` (a settings dataclass) to ``value``, checked against the field's type."""
    types_ = typing.get_type_hints(type(target))
    if key not in types_:
        raise ConfigError(
            f"{where}: unknown setting {section}.{key}; valid settings of [{section}]: "
            f"{', '.join(types_) or '(none)'}."
        )
    setattr(target, key, _coerce(value, types_[key], f"{where}: {section}.{key}"))


def _coerce(value: Any, expected: Any, what: str) -> Any:
    origin = typing.get_origin(expected)
    if origin is list:
        (item_type,) = typing.get_args(expected)
        if not isinstance(value, list):
            value = [value]
        return [_coerce(v, item_type, what) for v in value]
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(expected):
            if isinstance(value, typing.get_origin(option) or option):
                return _coerce(value, option, what)
        names = " or ".join(getattr(o, "__name__", str(o)) for o in typing.get_args(expected))
        raise ConfigError(f"{what} must be of type {names}, got {value!r}.")
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{what} must be a table, got {value!r}.")
        return value
    if expected is Any:
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{what} must be an integer, got {value!r}.")
    if not isinstance(value, expected):
        raise ConfigError(f"{what} must be of type {expected.__name__}, got {value!r}.")
    return value


def validate(config: PipelineConfig, origins: dict[str, str] | None = None) -> None:
    """Check every setting of every section against the rules declared beside its field
    (see :func:`setting`); raise one ConfigError naming each bad value, its valid range or
    choices and the fix. ``origins`` maps ``section.key`` to where its value came from (a
    file's path, or ``--set``)."""
    for name in config.stages:
        STAGES.get(name)  # raises ConfigError listing the valid stages
    origins = origins or {}
    messages = [message for section, values in config.sections.items()
                for message in problems(values, section, origins)]
    if len(messages) == 1:
        raise ConfigError(messages[0])
    if messages:
        raise ConfigError(f"{len(messages)} settings are invalid:\n" + "\n".join(f"- {p}" for p in messages))


def problems(values: Any, section: str, origins: dict[str, str] | None = None, fixes: bool = True) -> list[str]:
    """What is wrong with the settings dataclass ``values`` (section ``section``), one message
    per bad field, with the fix unless ``fixes`` is false (a filter's options, which have no
    ``--set`` of their own); for the stages' sections and other settings alike."""
    origins = origins or {}
    found = []
    for spec in dataclasses.fields(values):
        key = f"{section}.{spec.name}"
        value = getattr(values, spec.name)
        problem = _problem(value, spec.metadata)
        if problem is None and isinstance(value, list) and "item" in spec.metadata:
            problem = next((f"has {_shown(item)} as entry {number}, which {what}"
                            for number, item in enumerate(value, 1)
                            if (what := _problem(item, spec.metadata["item"])) is not None), None)
        if problem is not None:
            found.append(_message(key, value, problem, spec, origins.get(key)) if fixes
                         else f"{key} = {_shown(value)} {problem}")
    return found


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
