"""The ``llama.cpp`` backend: a GGUF file run in this process by llama-cpp-python.

    pip install 'summarizer[llamacpp]'
    summarizer run docs/ -o out/ --model FILE.gguf --backend llama.cpp

The file is used as it is, quantized (a 7B Q4 file needs about 4 GB, not the tens of GB a
de-quantized copy would); ``--model default`` is the embedded Gemma 3 270M GGUF itself. Prompts
come from the same prompt stage (the GGUF's own chat template for the chat format), decoded
greedily one after another with the pipeline's stops (:class:`summarizer.plan.RowStop`,
checked after each token as the fast decoder does) and length limit. llama.cpp keeps the
previous prompt's attention cache and reuses its longest common beginning, so the few-shot
examples that every prompt starts with are read once, not once per document (the trace's
``reused_prompt_tokens``). ``generate.threads`` (0: llama.cpp's default) and
``generate.context`` (0: 4096, or the model's own window if smaller) are its settings.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from .backend import BACKENDS, LLAMA_CPP
from .errors import ConfigError, ModelError
from .plan import RowStop
from .records import Record
from .stages import recording_errors

log = logging.getLogger("summarizer")

DEFAULT_CONTEXT = 4096
INSTALL = "pip install 'summarizer[llamacpp]' (or pip install llama-cpp-python)"


def gguf_path(spec: str) -> Path:
    """The GGUF file that ``--model`` names (``default``: the embedded one, assembled once)."""
    from . import models

    if spec == "default":
        return models.embedded_gguf()
    path = Path(spec).expanduser()
    if path.suffix.lower() != ".gguf":
        raise ModelError(f"--model {spec!r}: the llama.cpp backend runs a .gguf file; give one (or 'default'), "
                         "or use --backend transformers for a folder or a Hugging Face id.")
    if not path.is_file():
        raise ModelError(f"model file {spec!r} does not exist; give the path of an existing .gguf file.")
    models.check_gguf(path)
    return path


def _require() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelError(f"the llama.cpp backend needs llama-cpp-python: {INSTALL}; it builds from source in "
                         "about 10 minutes on a laptop CPU. Or use --backend transformers.") from exc
    return llama_cpp


@lru_cache(maxsize=2)
def load(path: str, context: int, threads: int):
    """The model (once per process for the same file and settings)."""
    llama_cpp = _require()
    start = time.perf_counter()
    try:
        llm = llama_cpp.Llama(model_path=path, n_ctx=context or DEFAULT_CONTEXT, n_threads=threads or None,
                              n_batch=512, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"llama.cpp could not load {path!r} ({exc}); check that the file is complete and that "
                         "this llama-cpp-python supports its architecture.") from exc
    log.info("Loaded %s with llama.cpp (%d-token context, %s threads) in %.1f s", path, llm.n_ctx(),
             threads or "default", time.perf_counter() - start)
    return llm


class LlamaTokenizer:
    """The model's own tokenizer, in the shape the stages use (``ctx.tokenizer``): token
    counts, decoding for the stop checks, and the GGUF's chat template."""

    def __init__(self, llm, name: str):
        self.llm, self.name_or_path = llm, name
        self.chat_template = llm.metadata.get("tokenizer.chat_template")
        self.bos_token_id, self.eos_token_id = llm.token_bos(), llm.token_eos()
        self.bos_token = self._piece(self.bos_token_id)
        self.eos_token = self.pad_token = self._piece(self.eos_token_id)
        self.pad_token_id = self.eos_token_id

    def _piece(self, token: int) -> str | None:
        if token is None or token < 0:
            return None
        return self.llm.detokenize([token], special=True).decode("utf-8", errors="replace") or None

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        # A rendered chat template starts with its own BOS and holds special tokens as text.
        templated = bool(self.bos_token) and text.startswith(self.bos_token)
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_special_tokens and not templated,
                                 special=templated)

    def __call__(self, texts, add_special_tokens: bool = True, **_):
        if isinstance(texts, str):
            return {"input_ids": self.encode(texts, add_special_tokens)}
        return {"input_ids": [self.encode(t, add_special_tokens) for t in texts]}

    def decode(self, tokens, skip_special_tokens: bool = True) -> str:
        return self.llm.detokenize(list(tokens), special=not skip_special_tokens).decode("utf-8", errors="replace")

    def apply_chat_template(self, messages, tokenize: bool = False, add_generation_prompt: bool = True) -> str:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        formatter = Jinja2ChatFormatter(self.chat_template, eos_token=self.eos_token or "",
                                        bos_token=self.bos_token or "", add_generation_prompt=add_generation_prompt)
        return formatter(messages=list(messages)).prompt


@lru_cache(maxsize=2)
def _tokenizer(path: str, context: int, threads: int, name: str) -> LlamaTokenizer:
    return LlamaTokenizer(load(path, context, threads), name)


class LlamaCppBackend:
    def check(self, gen: Any) -> None:
        if gen.adapter and gen.adapter != "builtin":
            raise ConfigError(f"--adapter {gen.adapter!r}: the llama.cpp backend does not apply this package's "
                              "adapters; merge it and convert the result to GGUF, or use --backend transformers.")
        if gen.api_base:
            raise ConfigError("--api-base is the openai backend's setting; leave it out for --backend llama.cpp, "
                              "or use --backend openai.")
        gguf_path(gen.model)
        _require()

    def model(self, gen: Any):
        return load(str(gguf_path(gen.model)), gen.context, gen.threads)

    def tokenizer(self, gen: Any) -> LlamaTokenizer:
        return _tokenizer(str(gguf_path(gen.model)), gen.context, gen.threads, gen.model)

    def generate(self, records: list[Record], ctx: Any) -> None:
        gen = ctx.config.generate
        llm, tokenizer = ctx.model, ctx.tokenizer
        row_stop = RowStop(list(gen.stop), gen.max_sentences, gen.loop_ngram, tokenizer)
        for record in records:
            with recording_errors(record, "generate"):
                _generate_one(record, llm, tokenizer, gen, row_stop)


def _generate_one(record: Record, llm, tokenizer: LlamaTokenizer, gen: Any, row_stop: RowStop) -> None:
    import llama_cpp

    ids = tokenizer.encode(record.prompt)
    if len(ids) + gen.max_new_tokens > llm.n_ctx():
        raise ValueError(f"the prompt has {len(ids)} tokens; with generate.max_new_tokens = {gen.max_new_tokens} it "
                         f"does not fit the {llm.n_ctx()}-token context: raise generate.context (--set "
                         "generate.context=8192) or lower extract.budget_tokens")
    reused = llama_cpp.Llama.longest_token_prefix(llm.input_ids.tolist(), ids) if llm.n_tokens else 0
    start = len(ids)
    steer = _steering(record, ids, tokenizer, gen)
    criteria = None
    if row_stop:
        criteria = llama_cpp.StoppingCriteriaList([lambda tokens, logits: row_stop(list(tokens[start:])) is not None])
    began = time.perf_counter()
    # Greedy: temperature 0, and none of llama.cpp's sampling defaults (its repeat penalty
    # of 1.1 would change the tokens).
    answer = llm.create_completion(ids, max_tokens=gen.max_new_tokens, temperature=0.0, top_k=1, top_p=1.0,
                                   min_p=0.0, repeat_penalty=1.0, stopping_criteria=criteria, seed=0,
                                   logits_processor=llama_cpp.LogitsProcessorList([steer]) if steer else None)
    seconds = time.perf_counter() - began
    choice = answer["choices"][0]
    usage = answer.get("usage") or {}
    record.generation = choice.get("text") or ""
    record.add_trace("generate", seconds, backend=LLAMA_CPP, prompt_tokens=usage.get("prompt_tokens", len(ids)),
                     new_tokens=usage.get("completion_tokens"), reused_prompt_tokens=reused,
                     finish_reason=choice.get("finish_reason"))


def _steering(record: Record, ids: list[int], tokenizer: LlamaTokenizer, gen: Any):
    """``generate.copy_bias``, ``min_new_tokens`` and ``no_repeat_ngram`` as a llama.cpp logits
    processor over the whole vocabulary, as :mod:`summarizer.steering` does for the other
    decoders (the stop tokens share the copy bias; the summary's own n-grams, not the
    prompt's, are never repeated); None when none is set."""
    if not (gen.copy_bias or gen.min_new_tokens or gen.no_repeat_ngram):
        return None
    import numpy as np

    from .generate import _source_ids

    start = len(ids)
    stops = np.array(_stop_ids(tokenizer, gen), dtype=np.intc)
    bonus = None
    if gen.copy_bias:
        source = _source_ids(tokenizer, record) if record.extract is not None else ids
        bonus = np.unique(np.concatenate([np.array(source, dtype=np.intc), stops]))
    n = gen.no_repeat_ngram

    def process(input_ids, scores):
        new = input_ids[start:].tolist()
        if bonus is not None:
            scores[bonus] += gen.copy_bias
        if len(new) < gen.min_new_tokens:
            scores[stops] = -np.inf
        if n and len(new) >= n - 1:
            head = new[len(new) - n + 1:] if n > 1 else []
            banned = [new[i + n - 1] for i in range(len(new) - n + 1) if new[i:i + n - 1] == head]
            if banned:
                scores[banned] = -np.inf
        return scores

    return process


def _stop_ids(tokenizer: LlamaTokenizer, gen: Any) -> list[int]:
    """The end-of-text and end-of-turn ids, and the stop strings that are one token (found as
    the transformers backend finds them)."""
    from .generate import _split_stops

    ids = [tokenizer.eos_token_id]
    for token in ("<end_of_turn>", "<|im_end|>", "<|eot_id|>"):
        pieces = tokenizer.llm.tokenize(token.encode("utf-8"), add_bos=False, special=True)
        if len(pieces) == 1 and tokenizer.decode(pieces, skip_special_tokens=False) == token:
            ids.append(pieces[0])
    return ids + [i for i in _split_stops(tokenizer, list(gen.stop))[0] if i not in ids]


BACKENDS.register(LLAMA_CPP)(LlamaCppBackend())
