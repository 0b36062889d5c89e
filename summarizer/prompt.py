"""Prompt stage: turn the extracted sentences into the model's input.

Two formats: ``base`` fills ``prompt.template`` (``{text}`` is the extract), the form a
pre-trained base model continues naturally (``... TL;DR:``); ``chat`` wraps
``prompt.instruction`` and the extract in the tokenizer's chat template, the form an
instruction-tuned model was trained on. ``auto`` picks ``chat`` when the tokenizer has a
chat template and the model looks instruction-tuned (see :func:`summarizer.models.is_chat_model`).
"""

from __future__ import annotations

from typing import Callable

from .config import PromptConfig
from .errors import ConfigError
from .records import Record
from .registry import Registry
from .stages import STAGES, Context, per_record

Format = Callable[[str, PromptConfig, Context], str]

FORMATS: Registry[Format] = Registry("prompt format")


@FORMATS.register("base")
def base_prompt(text: str, cfg: PromptConfig, ctx: Context) -> str:
    if "{text}" not in cfg.template:
        raise ConfigError(
            f"prompt.template {cfg.template!r} has no {{text}} placeholder; add one where the article goes."
        )
    shots = [_joined(_fill(cfg.template, article, cfg), summary) for article, summary in examples(cfg)]
    return cfg.example_separator.join(shots + [_fill(cfg.template, text, cfg)])


def _joined(prompt: str, summary: str) -> str:
    # "Short:" + "Police arrest ..." needs the space that the model itself writes after a
    # colon; a template ending in a newline needs none. (The prompt keeps no trailing space:
    # the model's own next token carries it.)
    return prompt + summary if not prompt or prompt[-1].isspace() else f"{prompt} {summary}"


@FORMATS.register("chat")
def chat_prompt(text: str, cfg: PromptConfig, ctx: Context) -> str:
    tokenizer = ctx.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"prompt.format='chat' but the tokenizer of model {ctx.config.generate.model!r} has no "
            "chat template; use prompt.format=base (or auto)."
        )
    instruction = _fill(cfg.instruction, "", cfg)
    messages = []
    for article, summary in examples(cfg):
        messages += [{"role": "user", "content": f"{instruction}\n\n{article}"},
                     {"role": "assistant", "content": summary}]
    messages.append({"role": "user", "content": f"{instruction}\n\n{text}"})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def examples(cfg: PromptConfig) -> list[tuple[str, str]]:
    """The few-shot examples as (article, summary) pairs, checked."""
    pairs = []
    for number, example in enumerate(cfg.examples, 1):
        article, summary = example.get("article"), example.get("summary")
        if not isinstance(article, str) or not isinstance(summary, str) or set(example) - {"article", "summary"}:
            raise ConfigError(
                f"prompt.examples[{number}] has keys {sorted(example)}; each example needs exactly "
                'article = "..." and summary = "..." (strings).'
            )
        pairs.append((article.strip(), summary.strip()))
    return pairs


def _fill(template: str, text: str, cfg: PromptConfig) -> str:
    # replace, not str.format: articles and templates may hold braces of their own
    return template.replace("{sentences}", str(cfg.sentences)).replace("{text}", text)


def resolve_format(ctx: Context) -> str:
    fmt = ctx.config.prompt.format
    if fmt != "auto":
        return fmt
    from .models import is_chat_model

    return "chat" if is_chat_model(ctx.config.generate.model, ctx.tokenizer) else "base"


def prompt_record(record: Record, ctx: Context) -> dict:
    if record.extract is None:
        raise ValueError("the record has no extract: run the extract stage first")
    fmt = resolve_format(ctx)
    record.prompt = FORMATS.get(fmt)(record.extract_text(), ctx.config.prompt, ctx)
    return {"format": fmt, "chars": len(record.prompt)}


prompt = STAGES.register("prompt")(per_record("prompt", prompt_record))
