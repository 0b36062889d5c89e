"""What the commands share: their common options, and the library's errors turned into click errors.

The options that several commands take are declared here once (pipeline and model choice,
length, verbosity), so a command lists exactly the ones it uses and they read the same
everywhere.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re

import click

from .errors import SummarizerError
from .generate import GenerateSettings
from .models import DTYPES
from .pipeline import Pipeline


def library_errors(func):
    """Turn the library's own errors into click errors (the message, exit code 1)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SummarizerError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


# Control characters (C0, C1, DEL) and the line and paragraph separators: an id or a summary
# from a hostile file could move the cursor, recolour or clear the terminal, or fake a line.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str | None, lines: bool = False) -> str:
    """``text`` safe to print on a terminal: control characters shown as escapes
    (``\\x1b``, ``\\n``); with ``lines``, line ends are kept.

    >>> printable("a\\x1b[2Jb\\nc")
    'a\\\\x1b[2Jb\\\\nc'
    """
    if text is None:
        return ""

    def escape(match: re.Match) -> str:
        char = match.group()
        return char if lines and char == "\n" else char.encode("unicode_escape").decode("ascii")

    return _UNPRINTABLE.sub(escape, text)


class PrintableFormatter(logging.Formatter):
    """Log lines with :func:`printable` applied (a message's own line ends kept)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), lines=True)


# --- verbosity: -q / -v on the main command and on every command -------------------------

# (level of the root logger, level of the package's own logger): -v shows the package's debug
# messages without the debug chatter of every library underneath.
_VERBOSITY = {"quiet": (logging.WARNING, logging.NOTSET), "normal": (logging.INFO, logging.NOTSET),
              "verbose": (logging.INFO, logging.DEBUG)}


def set_verbosity(ctx: click.Context, mode: str) -> None:
    """Set the log levels of ``mode`` for the rest of ``ctx`` (restored when it closes, so a
    test's or an embedding program's logging is left as it was)."""
    root, own = logging.getLogger(), logging.getLogger("summarizer")
    saved = root.level, own.level
    ctx.call_on_close(lambda: (root.setLevel(saved[0]), own.setLevel(saved[1])))
    root.setLevel(_VERBOSITY[mode][0])
    own.setLevel(_VERBOSITY[mode][1])


def verbosity_callback(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    """The callback of -q (``quiet``) and -v (``verbose``): the levels are set as the command
    line is read, so a command's own -q/-v wins over the main command's."""
    if not value:
        return value
    key = f"verbosity:{id(ctx)}"  # ctx.meta is shared by a command and its group
    if ctx.meta.get(key, param.name) != param.name:
        raise click.UsageError("-q/--quiet and -v/--verbose contradict each other; give one of them.", ctx)
    ctx.meta[key] = param.name
    set_verbosity(ctx, param.name)
    return value


def verbosity_params() -> list[click.Option]:
    """-q and -v, for a command's ``params`` (also a command declared elsewhere)."""
    return [
        click.Option(["--quiet", "-q"], is_flag=True, expose_value=False, callback=verbosity_callback,
                     help="Only print warnings and errors."),
        click.Option(["--verbose", "-v"], is_flag=True, expose_value=False, callback=verbosity_callback,
                     help="Also print debug messages (e.g. the settings that --sentences and --max-words set)."),
    ]


def verbosity_given(ctx: click.Context) -> bool:
    return f"verbosity:{id(ctx)}" in ctx.meta


# --- the pipeline and its model ---------------------------------------------------------


def _generate_spec(name: str) -> dataclasses.Field:
    return next(spec for spec in dataclasses.fields(GenerateSettings) if spec.name == name)


class DeviceType(click.ParamType):
    """auto, cpu, mps, cuda or cuda:N: the pattern ``generate.device`` declares, checked when
    the command line is read; the fixed names are offered by shell completion."""

    name = "device"
    choices = ("auto", "cpu", "cuda", "cuda:0", "mps")

    def __init__(self):
        self.pattern = _generate_spec("device").metadata["pattern"]

    def get_metavar(self, param, ctx=None) -> str:
        return "[auto|cpu|mps|cuda|cuda:N]"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and re.fullmatch(self.pattern, value.strip()):
            return value.strip()
        self.fail(f"{value!r} is not a device; valid choices: auto, cpu, mps, cuda, cuda:N (N the GPU's number, "
                  "as nvidia-smi lists it, e.g. cuda:1).", param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(choice) for choice in self.choices if choice.startswith(incomplete)]


def _generate_option(flag: str, setting: str, kind, help: str):
    """An option that is a shorthand for ``--set generate.<setting>=VALUE``."""

    def remember(ctx: click.Context, param, value):
        if value is not None:
            shown = json.dumps(value) if isinstance(value, str) else value  # a TOML string, whatever it holds
            ctx.meta.setdefault("generate_overrides", []).append(f"generate.{setting}={shown}")
        return value

    return click.option(flag, type=kind, default=None, expose_value=False, callback=remember, help=help)


def _remember_adapter(ctx: click.Context, param, value):
    """``--adapter FOLDER`` is a shorthand for ``--set generate.adapter="FOLDER"`` (quoted: a
    path is a TOML string whatever characters it has)."""
    if value is not None:
        ctx.meta.setdefault("generate_overrides", []).append(f"generate.adapter={json.dumps(value)}")
    return value


def _no_adapter(ctx: click.Context, param, value):
    if value:
        ctx.meta["no_adapter"] = True
    return value


def _apply(options, func):
    for option in reversed(options):
        func = option(func)
    return func


pipeline_option = click.option(
    "--pipeline", "-p", default="default", show_default=True,
    help="Built-in pipeline name (see `summarizer pipelines`) or path of a .toml file.")
model_option = click.option(
    "--model", "-m", default=None,
    help="'default', a Hugging Face model id, a local model folder or a .gguf file "
         "[default: the pipeline's generate.model].")
set_option = click.option(
    "--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
    help="Override a pipeline setting, e.g. --set extract.budget_tokens=300 (repeatable).")
# The options of the model itself: only for commands that run it.
model_run_options = [
    click.option("--adapter", metavar="FOLDER", default=None, expose_value=False, callback=_remember_adapter,
                 help="A fine-tuned adapter folder (written by `summarizer finetune`), merged into the model "
                      "[default: the pipeline's generate.adapter: the built-in one for the embedded model in "
                      "the default pipeline]."),
    click.option("--no-adapter", is_flag=True, default=False, expose_value=False, callback=_no_adapter,
                 help="Run the model without any adapter, also the built-in one."),
    _generate_option("--device", "device", DeviceType(), "Where the model runs [default: auto: a GPU when there "
                     "is one]."),
    _generate_option("--dtype", "dtype", click.Choice(DTYPES), "mixed = bf16 matrix products, fp32 elsewhere "
                     "[default: auto: bfloat16 on CUDA, float32 on a CPU]."),
    _generate_option("--batch-size", "batch_size", click.IntRange(min=0),
                     "Prompts generated together [default: the pipeline's; 0 = auto: 16 on a CPU, 32 on a GPU]."),
    _generate_option("--threads", "threads", click.IntRange(min=0),
                     "CPU threads for the model [default: the pipeline's; 0 = auto: torch's default, "
                     "the physical cores]."),
    _generate_option("--backend", "backend", click.STRING,
                     "What runs the model: transformers, llama.cpp (a .gguf file, needs summarizer[llamacpp]) or "
                     "openai (any OpenAI-compatible server, with --api-base; the key from $SUMMARIZER_API_KEY or "
                     "$OPENAI_API_KEY) [default: auto: openai with --api-base, llama.cpp for a .gguf when "
                     "installed, else transformers]."),
    _generate_option("--api-base", "api_base", click.STRING,
                     "The openai backend's server, e.g. http://127.0.0.1:8080/v1; --model is then the served "
                     "model's name ('default': the first it serves)."),
    _generate_option("--concurrency", "concurrency", click.IntRange(min=1),
                     "Requests in flight at once on the openai backend [default: 4]."),
]


def pipeline_options(func):
    """The options of commands that run a whole pipeline or its model stage: the pipeline,
    the model and how it runs, and ``--set``."""
    return _apply([pipeline_option, model_option, *model_run_options, set_option], func)


def length_options(func):
    """``--sentences`` and ``--max-words`` (:mod:`summarizer.length`), on any pipeline."""
    return _apply([
        click.option("--sentences", type=click.IntRange(min=1), default=None, metavar="N",
                     help="At most N sentences per summary, on any pipeline (the model is asked for N where its "
                          "prompt says how many) [default: the pipeline's]."),
        click.option("--max-words", type=click.IntRange(min=1), default=None, metavar="N",
                     help="At most N words per summary, in whole sentences; a first sentence longer than N words on "
                          "its own is cut after its Nth word and ends in '…'; counted in characters for Chinese, "
                          "Japanese and Korean text [default: no limit]."),
    ], func)


def pipeline_from_options(pipeline: str, model: str | None = None, overrides=(), sentences: int | None = None,
                          max_words: int | None = None) -> Pipeline:
    """The pipeline the command line asks for: the model options' shorthands (--device ...),
    then --set, then --no-adapter, then the length options (each later one wins)."""
    meta = click.get_current_context().meta
    shorthand = meta.get("generate_overrides", [])
    settings = [*shorthand, *overrides]
    if meta.get("no_adapter"):  # last: it wins over the pipeline's and any --set
        if any(o.startswith("generate.adapter=") for o in shorthand):
            raise click.UsageError("--no-adapter and --adapter contradict each other; give one of them.")
        settings.append('generate.adapter=""')
    return Pipeline.load(pipeline, model=model, overrides=settings, sentences=sentences, max_words=max_words)
