"""Prompt stage: turn the extracted sentences into the model's input.

Two formats: ``base`` fills ``prompt.template`` (``{text}`` is the extract), the form a
pre-trained base model continues naturally (``... TL;DR:``); ``chat`` wraps
``prompt.instruction`` and the extract in the tokenizer's chat template, the form an
instruction-tuned model was trained on. ``auto`` picks ``chat`` when the tokenizer has a
chat template and the model looks instruction-tuned (see :func:`summarizer.models.is_chat_model`).

:class:`PromptSettings` is the ``[prompt]`` section; another stage that makes prompts of its
own (``rewrite``) declares a subclass as its section and builds them with :func:`make_prompt`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from .config import PipelineConfig, setting
from .errors import ConfigError
from .models import is_chat_model
from .language import language_of, table_code, tables_problem
from .records import Record
from .registry import Registry
from .stages import STAGES, Context, per_record, stage

Format = Callable[[str, "PromptSettings", Context], str]

FORMATS: Registry[Format] = Registry("prompt format")

# What _fill replaces; any other {name} would reach the model as written.
TEMPLATE_PLACEHOLDERS = {"text": "the extracted article", "sentences": "prompt.sentences"}


def _formats() -> list[str]:
    return ["auto", *FORMATS.names()]


def example_problem(keys: tuple[str, str]):
    def problem(example: Any) -> str | None:
        if isinstance(example, dict) and set(example) == set(keys) and all(isinstance(v, str) for v in example.values()):
            return None
        return f'is not an example: each needs exactly {keys[0]} = "..." and {keys[1]} = "..." (strings)'

    return problem


@dataclass
class PromptSettings:
    # The pipeline file's section, for messages; the keys of a worked example (input, output).
    section: ClassVar[str] = "prompt"
    example_keys: ClassVar[tuple[str, str]] = ("article", "summary")

    # "auto": the chat template for instruction-tuned models, "base" otherwise.
    format: str = setting("auto", choices=_formats)
    template: str = setting("{text}\n\nTL;DR:", placeholders=TEMPLATE_PLACEHOLDERS, requires=("text",))
    # The chat format puts the article after the instruction itself: {text} is not needed.
    instruction: str = setting("Summarize the following article in two or three sentences.",
                               placeholders=TEMPLATE_PLACEHOLDERS)
    # Few-shot: worked examples ({article = "...", summary = "..."}) shown before the article,
    # through the same template (base) or as earlier chat turns (chat).
    examples: list[dict] = setting([], item={"check": example_problem(("article", "summary"))})
    # Between the examples and the article (base format); a blank line ends a summary.
    example_separator: str = "\n\n\n"
    # Target length, filled in wherever the template or instruction says {sentences}.
    sentences: int = setting(3, min=1)
    # Per language (a code of summarizer/language.py: zh, ja, ko, en), settings that replace
    # the ones above for documents in it: template, instruction, examples, example_separator,
    # sentences. ([prompt.languages.zh] template = "{text}\n\n标题：").
    languages: dict = setting({}, check=lambda value: _languages_problem(value))
    # Whose table is used: "auto" = the document's language (record.language); a code = that
    # one for every document; "none" = never a language's table.
    language: str = setting("auto", pattern=r"auto|none|[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*",
                            note="auto, none or a language code such as zh")


LANGUAGE_KEYS = ("template", "instruction", "examples", "example_separator", "sentences")


def _languages_problem(value: Any) -> str | None:
    return tables_problem(value, LANGUAGE_KEYS, "prompt")


def for_language(cfg: "PromptSettings", language: str | None) -> "PromptSettings":
    """``cfg`` with the table of ``language`` (by its full code, then its main part: zh-Hant,
    then zh) in place of its own settings; ``cfg`` itself when it has none."""
    if cfg.language == "none" or not cfg.languages:
        return cfg
    code = table_code(cfg.languages, language if cfg.language == "auto" else cfg.language)
    return cfg if code is None else dataclasses.replace(cfg, **cfg.languages[code])


@FORMATS.register("base")
def base_prompt(text: str, cfg: PromptSettings, ctx: Context) -> str:
    if "{text}" not in cfg.template:
        raise ConfigError(
            f"{cfg.section}.template {cfg.template!r} has no {{text}} placeholder; add one where the article goes."
        )
    shots = [_joined(_fill(cfg.template, article, cfg), summary) for article, summary in examples(cfg)]
    return cfg.example_separator.join(shots + [_fill(cfg.template, text, cfg)])


def _joined(prompt: str, summary: str) -> str:
    # "Short:" + "Police arrest ..." needs the space that the model itself writes after a
    # colon; a template ending in a newline needs none. (The prompt keeps no trailing space:
    # the model's own next token carries it.)
    return prompt + summary if not prompt or prompt[-1].isspace() else f"{prompt} {summary}"


@FORMATS.register("chat")
def chat_prompt(text: str, cfg: PromptSettings, ctx: Context) -> str:
    tokenizer = ctx.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"{cfg.section}.format='chat' but the tokenizer of model {ctx.config.generate.model!r} has no "
            f"chat template; use {cfg.section}.format=base (or auto)."
        )
    instruction = _fill(cfg.instruction, "", cfg)
    messages = []
    for article, summary in examples(cfg):
        messages += [{"role": "user", "content": f"{instruction}\n\n{article}"},
                     {"role": "assistant", "content": summary}]
    messages.append({"role": "user", "content": f"{instruction}\n\n{text}"})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def examples(cfg: PromptSettings) -> list[tuple[str, str]]:
    """The few-shot examples as (input, output) pairs, checked."""
    first, second = cfg.example_keys
    pairs = []
    for number, example in enumerate(cfg.examples, 1):
        problem = example_problem(cfg.example_keys)(example)
        if problem is not None:
            raise ConfigError(f"{cfg.section}.examples[{number}] {problem}; it has keys {sorted(example)}.")
        pairs.append((example[first].strip(), example[second].strip()))
    return pairs


def _fill(template: str, text: str, cfg: PromptSettings) -> str:
    # replace, not str.format: articles and templates may hold braces of their own
    return template.replace("{sentences}", str(cfg.sentences)).replace("{text}", text)


def resolve_format(cfg: PromptSettings, ctx: Context) -> str:
    if cfg.format != "auto":
        return cfg.format
    return "chat" if is_chat_model(ctx.config.generate.model, ctx.tokenizer) else "base"


def make_prompt(text: str, cfg: PromptSettings, ctx: Context, fmt: str | None = None,
                language: str | None = None) -> str:
    """``text`` in the prompt that ``cfg`` describes (format ``fmt``, resolved when None), in
    the words of ``language``'s table when ``cfg`` has one (:func:`for_language`)."""
    return FORMATS.get(fmt or resolve_format(cfg, ctx))(text, for_language(cfg, language), ctx)


def echo_pieces(config: PipelineConfig) -> list[str]:
    """The fixed words of every prompt the pipeline's stages make (template pieces and
    instructions of at least four characters), which a base model may repeat in its output."""
    used = set()
    for name in config.stages:
        # On a Ray worker a user's stage arrives by value, not in the registry: its own section
        # still counts (a user stage's prompt section is its own).
        reads = getattr(STAGES.get(name), "reads", ()) if name in STAGES else ()
        used |= {name, *reads}
    pieces = []
    for name, cfg in config.sections.items():
        if name in used and isinstance(cfg, PromptSettings):
            for each in [cfg, *(for_language(cfg, code) for code in cfg.languages)]:
                pieces += [p.strip() for p in each.template.split("{text}")] + [each.instruction.strip()]
    return [p for p in pieces if len(p) >= 4]


def prompt_record(record: Record, ctx: Context) -> dict:
    if record.extract is None:
        raise ValueError("the record has no extract: run the extract stage first")
    cfg = ctx.config.prompt
    fmt = resolve_format(cfg, ctx)
    language = language_of(record)
    record.prompt = make_prompt(record.extract_text(), cfg, ctx, fmt, language)
    return {"format": fmt, "chars": len(record.prompt), "language": language}


prompt = stage("prompt", settings=PromptSettings)(per_record("prompt", prompt_record))
