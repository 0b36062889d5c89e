"""Generation backends: what runs the model behind the ``generate`` stage.

    prompt stage --record.prompt--> generate stage --backend--> record.generation

Every stage around the model (chunk, extract, prompt, filters, fallback, resume, eval) is
the same whichever backend runs it; a backend only turns a window of prompts into
generations. Built-ins, registered in :data:`BACKENDS` like stages and filters:

- ``transformers``: the model in this process through transformers and this package's
  fast greedy decoder (:mod:`summarizer.generate`); the only one that applies a fine-tuned
  adapter, and the default.
- ``llama.cpp``: a GGUF file in this process through llama-cpp-python
  (:mod:`summarizer.llamacpp`), quantized as it is, never de-quantized.
- ``openai``: any OpenAI-compatible server over HTTP (:mod:`summarizer.openai_backend`):
  llama.cpp's server, vLLM, TGI, Ollama, a hosted API.

``generate.backend = "auto"`` picks ``openai`` when ``generate.api_base`` is set,
``llama.cpp`` for a ``.gguf`` model when llama-cpp-python is installed, else
``transformers``. A backend is an object with four methods::

    check(gen)               # before any document is read: raise ModelError/ConfigError
    tokenizer(gen)           # what ctx.tokenizer is (token counts, chat templates)
    model(gen)               # what ctx.model is (loaded once per process)
    generate(records, ctx)   # fill record.generation and a "generate" trace entry
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any, Protocol

from .errors import ModelError
from .registry import Registry

log = logging.getLogger("summarizer")

TRANSFORMERS, LLAMA_CPP, OPENAI = "transformers", "llama.cpp", "openai"


class BackendDown(ModelError):
    """What runs the model went away mid-run (a server stopped answering): the run stops.
    The generate stage first passes on the records of the window that got their generation,
    so they are kept, and the same command continues with the rest."""


class Backend(Protocol):
    def check(self, gen: Any) -> None: ...
    def tokenizer(self, gen: Any) -> Any: ...
    def model(self, gen: Any) -> Any: ...
    def generate(self, records: list, ctx: Any) -> None: ...


BACKENDS: Registry[Backend] = Registry("backend", builtins=[
    f"summarizer.{module}" for module in ("generate", "llamacpp", "openai_backend")])


def backend_choices() -> list[str]:
    return ["auto", *BACKENDS.names()]


def has_llama_cpp() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def backend_name(gen: Any) -> str:
    """The backend that ``gen`` (the ``[generate]`` settings) runs on, ``auto`` resolved."""
    if gen.backend != "auto":
        return gen.backend
    if gen.api_base:
        return OPENAI
    if Path(str(gen.model)).suffix.lower() == ".gguf" and has_llama_cpp():
        return LLAMA_CPP
    return TRANSFORMERS


def backend_of(gen: Any) -> Backend:
    return BACKENDS.get(backend_name(gen))


def applies_adapters(gen: Any) -> bool:
    """Only the transformers backend merges a LoRA adapter into the model's weights; on the
    others the built-in adapter is not used (as on a user's own model)."""
    return backend_name(gen) == TRANSFORMERS


def check_backend(gen: Any) -> None:
    """Everything that can be known wrong before a document is read (the model spec, an
    adapter, the server's answer), as a ModelError or ConfigError naming the fix."""
    backend_of(gen).check(gen)
    if gen.adapter == "builtin" and gen.model == "default" and not applies_adapters(gen):
        log.info(
            "The built-in adapter is applied by the transformers backend only: %s runs the base model.",
            backend_name(gen))
