"""Generate stage: batched greedy decoding with the pipeline's causal language model.

Records are read ``generate.window`` at a time; within a window prompts are sorted by
length and batched ``generate.batch_size`` at a time, so similar lengths share a batch and
little padding is wasted. Batches are padded on the *left*: a decoder-only model continues
from the last position of each row, so every prompt must end at the same position
(right padding would make it continue from pad tokens). Decoding is greedy, hence
deterministic; it stops at the end-of-sequence token (or a chat model's end-of-turn
token), at any ``generate.stop`` string (a blank line by default: the base model's summary is
one paragraph, after which it starts another article), or after ``generate.max_new_tokens``.
A stop string that is a single token is matched by its id, at no cost per step.
The loop itself is :mod:`summarizer.decode` (``generate.decoder = "fast"``: finished rows
leave the batch, optional prompt lookup) or the model's own ``generate``
(``"transformers"``); both give the same tokens. Records come out in their input order.
"""

from __future__ import annotations

import contextlib
import time
from typing import Iterable, Iterator

from .errors import ConfigError
from .records import Record
from .segment import finished_sentences
from .stages import STAGES, Context, in_windows, recording_errors


DECODERS = ("fast", "transformers")
# The fast decoder reads prompts this many tokens (of all rows) at a time: same speed as one
# pass, ~0.3 GB less peak memory for a batch of 16 news prompts (make bench).
PREFILL_TOKENS = 1024


@STAGES.register("generate")
def generate(records: Iterable[Record], ctx: Context) -> Iterator[Record]:
    cfg = ctx.config.generate
    if cfg.decoder not in DECODERS:
        raise ConfigError(f"generate.decoder = {cfg.decoder!r} is not known; valid choices: "
                          f"{', '.join(DECODERS)} (e.g. --set generate.decoder=fast).")
    for name in ("lookup_tokens", "no_repeat_ngram", "min_new_tokens", "loop_ngram", "max_sentences",
                 "share_prefix"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"generate.{name} = {getattr(cfg, name)} must be 0 (off) or more "
                              f"(e.g. --set generate.{name}=0).")
    stops = None  # end-of-sequence ids and stop strings: looked up once, at the first window
    for window, todo in in_windows(records, window_size(cfg), "prompt",
                                   "generate: the record has no prompt: run the prompt stage first"):
        if todo:
            stops = stops or _stops(ctx)
            _generate_window(todo, ctx, *stops)
        yield from window


generate.uses_model = True  # the Ray engine runs it in its model actors


def window_size(cfg) -> int:
    """Documents read, sorted and batched together (the Ray engine cuts its blocks to this)."""
    return max(cfg.window, cfg.batch_size, 1)


def _stops(ctx: Context) -> tuple[list[int], list[str]]:
    """End-of-sequence ids (with single-token stop strings) and the stop strings to look for
    in the text: all of them, since a stop can also arrive inside a longer token (Gemma has
    one token for "\n" and another for "\n\n": a row stopped only by the id of the first
    runs on past the second). Reading a 262k-token vocabulary is done once per stage."""
    tokenizer, model = ctx.tokenizer, ctx.model
    stop_ids, _ = _split_stops(tokenizer, ctx.config.generate.stop)
    eos = _eos_ids(tokenizer, model)
    return eos + [i for i in stop_ids if i not in eos], list(ctx.config.generate.stop)


def batch_size(cfg, device) -> int:
    """The configured batch size, or the automatic one for the device."""
    return cfg.batch_size or (32 if str(device).startswith("cuda") else 16)


def _generate_window(records: list[Record], ctx: Context, eos: list[int], stop_strings: list[str]) -> None:
    cfg = ctx.config.generate
    tokenizer, model = ctx.tokenizer, ctx.model
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
    size = batch_size(cfg, model.device)
    lengths = {id(r): len(tokenizer(r.prompt, add_special_tokens=False)["input_ids"]) for r in records}
    ordered = sorted(records, key=lambda r: lengths[id(r)], reverse=True)
    for start in range(0, len(ordered), size):
        batch = ordered[start : start + size]
        try:
            _generate_batch(batch, tokenizer, model, cfg, eos, stop_strings)
        except Exception:
            if len(batch) == 1:
                with recording_errors(batch[0], "generate"):
                    raise
                continue
            # Find the document that broke the batch: the others still get their summaries.
            for record in batch:
                with recording_errors(record, "generate"):
                    _generate_batch([record], tokenizer, model, cfg, eos, stop_strings)


def _generate_batch(batch: list[Record], tokenizer, model, cfg, eos: list[int], stop_strings: list[str]) -> None:
    import torch

    encoded = tokenizer(
        [r.prompt for r in batch], return_tensors="pt", padding=True,
        add_special_tokens=_adds_special_tokens(tokenizer, batch[0].prompt),
    ).to(model.device)
    run = _fast if cfg.decoder == "fast" else _transformers
    ids = None
    head = contextlib.nullcontext()
    if cfg.head_vocab:
        from .fasthead import candidate_ids, restricted_head

        ids = candidate_ids(tokenizer, encoded["input_ids"], cfg.head_vocab)
        head = restricted_head(model, ids, compact=run is _fast)
    steer = None
    if cfg.copy_bias or cfg.no_repeat_ngram or cfg.min_new_tokens:
        from .steering import Steering

        steer = Steering(encoded["input_ids"], encoded["attention_mask"], copy_bias=cfg.copy_bias,
                         no_repeat_ngram=cfg.no_repeat_ngram, min_new_tokens=cfg.min_new_tokens,
                         head_ids=ids if run is _fast else None,
                         vocab_size=model.get_output_embeddings().weight.shape[0], stop_ids=eos,
                         sources=[_source_ids(tokenizer, r) for r in batch])
    with torch.inference_mode(), head:
        tokens, timing = run(encoded, tokenizer, model, cfg, eos, stop_strings, ids, steer)
    seconds = timing["prefill"] + timing["decode"]
    texts = tokenizer.batch_decode(tokens, skip_special_tokens=True)
    for row, (record, text) in enumerate(zip(batch, texts)):
        record.generation = text
        record.add_trace(
            "generate",
            seconds / len(batch),  # the batch's time, shared out
            batch_size=len(batch),
            prompt_tokens=int(encoded["attention_mask"][row].sum()),
            new_tokens=len(tokens[row]),
            # Batch-level split: the prompt pass, then the decoding passes.
            batch_prefill_seconds=round(timing["prefill"], 4),
            batch_decode_seconds=round(timing["decode"], 4),
            batch_decode_steps=timing["passes"],
            **({"lookup_accepted": timing["accepted"]} if cfg.lookup_tokens and run is _fast else {}),
            **({"shared_prefix_tokens": timing["shared"]} if timing.get("shared") else {}),
        )


def _source_ids(tokenizer, record: Record) -> list[int] | None:
    """The tokens of the record's extract, which the copy bias favours (not the template's or
    few-shot examples' words); None without an extract (then the prompt's tokens count)."""
    if record.extract is None:
        return None
    text = record.extract_text()
    # a word inside the prompt is tokenized with its leading space, the first one without
    return tokenizer(text, add_special_tokens=False)["input_ids"] + tokenizer(
        " " + text.split(" ", 1)[0], add_special_tokens=False)["input_ids"]


def _fast(encoded, tokenizer, model, cfg, eos, stop_strings, head_ids, steer):
    from .decode import greedy

    decoded = greedy(model, encoded["input_ids"], encoded["attention_mask"], max_new_tokens=cfg.max_new_tokens,
                     stop_ids=eos, head_ids=head_ids, lookup_tokens=cfg.lookup_tokens,
                     stopped=_text_stop(tokenizer, stop_strings, cfg.max_sentences),
                     prefill_tokens=PREFILL_TOKENS, steer=steer, loop_ngram=cfg.loop_ngram,
                     share_prefix=cfg.share_prefix)
    timing = {"prefill": decoded.prefill_seconds, "decode": decoded.decode_seconds,
              "passes": decoded.passes, "accepted": decoded.accepted, "shared": decoded.shared_prefix}
    return decoded.tokens, timing


def _text_stop(tokenizer, stop_strings: list[str], max_sentences: int):
    """``stopped(tokens)`` for the fast decoder: a multi-token stop string, or enough finished
    sentences; None when neither is set (nothing to decode per step)."""
    if not stop_strings and not max_sentences:
        return None
    longest = max((len(s) for s in stop_strings), default=0)

    def stopped(tokens: list[int]) -> bool:
        # A token is at least one character, so the last `longest` tokens hold any stop.
        if stop_strings:
            tail = tokenizer.decode(tokens[-longest:], skip_special_tokens=True)
            if any(stop in tail for stop in stop_strings):
                return True
        return bool(max_sentences) and finished_sentences(
            tokenizer.decode(tokens, skip_special_tokens=True)) >= max_sentences

    return stopped


def _transformers(encoded, tokenizer, model, cfg, eos, stop_strings, head_ids, steer):
    from transformers import GenerationConfig

    from .decode import until_stop

    generation_config = GenerationConfig(
        max_new_tokens=cfg.max_new_tokens,
        do_sample=False,
        num_beams=1,
        stop_strings=stop_strings or None,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=eos,
    )
    clock = _StepClock()
    processors = [clock]
    if steer:
        from .steering import as_logits_processor

        processors.append(as_logits_processor(steer, encoded["input_ids"].shape[1]))
    criteria = [_LoopStop(cfg.loop_ngram, encoded["input_ids"].shape[1])] if cfg.loop_ngram else []
    if cfg.max_sentences:
        criteria.append(_SentenceStop(tokenizer, cfg.max_sentences, encoded["input_ids"].shape[1]))
    start = time.perf_counter()
    output = model.generate(**encoded, generation_config=generation_config, tokenizer=tokenizer,
                            logits_processor=processors, stopping_criteria=criteria)
    seconds = time.perf_counter() - start
    prefill = (clock.first - start) if clock.first else seconds
    pad = tokenizer.pad_token_id
    # generate pads finished rows (also those a stopping criterion ended, after any end token)
    tokens = []
    for row in output[:, encoded["input_ids"].shape[1]:].tolist():
        kept = until_stop(row, eos)
        while kept and kept[-1] == pad and pad not in eos:
            kept.pop()
        tokens.append(kept)
    return tokens, {"prefill": prefill, "decode": seconds - prefill, "passes": clock.steps, "accepted": 0}


def _adds_special_tokens(tokenizer, prompt: str) -> bool:
    # A chat template already starts with the BOS token; a plain prompt needs it added.
    bos = tokenizer.bos_token or ""
    return not (bos and prompt.startswith(bos))


def encode_prompt(tokenizer, prompt: str) -> list[int]:
    """The token ids of one prompt, exactly as a batch here encodes it (without padding);
    fine-tuning trains on these."""
    return tokenizer(prompt, add_special_tokens=_adds_special_tokens(tokenizer, prompt))["input_ids"]


class _LoopStop:
    """transformers' counterpart of the fast decoder's ``loop_ngram``: a row is done once its
    last ``n`` new tokens already occurred among its new tokens."""

    def __init__(self, n: int, prompt_length: int):
        self.n, self.prompt_length = n, prompt_length

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        from .decode import ends_in_repeat

        done = [ends_in_repeat(row, self.n) for row in input_ids[:, self.prompt_length:].tolist()]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class _SentenceStop:
    """transformers' counterpart of the fast decoder's ``max_sentences`` stop."""

    def __init__(self, tokenizer, n: int, prompt_length: int):
        self.tokenizer, self.n, self.prompt_length = tokenizer, n, prompt_length

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length:], skip_special_tokens=True)
        return torch.tensor([finished_sentences(t) >= self.n for t in texts], dtype=torch.bool,
                            device=input_ids.device)


class _StepClock:
    """A pass-through logits processor that notes when the first token's logits arrive
    (the end of the prompt pass) and counts decoding steps."""

    def __init__(self):
        self.first: float | None = None
        self.steps = 0

    def __call__(self, input_ids, scores):
        if self.first is None:
            self.first = time.perf_counter()
        self.steps += 1
        return scores


def _split_stops(tokenizer, stops: list[str]) -> tuple[list[int], list[str]]:
    """Stop strings that are one token of the vocabulary (Gemma has "\\n\\n") are matched by
    id, like <eos>, which costs nothing; the others go to transformers' string matcher, which
    decodes the sequences at every step (make bench measured it at 6-11% of the run)."""
    ids, strings = [], []
    for stop in stops:
        pieces = tokenizer(stop, add_special_tokens=False)["input_ids"]
        if len(pieces) == 1 and tokenizer.decode(pieces) == stop:
            ids.append(pieces[0])
        else:
            strings.append(stop)
    return ids, strings


def _eos_ids(tokenizer, model) -> list[int]:
    ids: list[int] = []
    configured = getattr(model.generation_config, "eos_token_id", None)
    for value in (configured if isinstance(configured, list) else [configured]) + [tokenizer.eos_token_id]:
        if value is not None and value not in ids:
            ids.append(value)
    # Chat models end their turn with a special token of their own (Gemma: <end_of_turn>).
    vocab = tokenizer.get_vocab()
    for token in ("<end_of_turn>", "<|im_end|>", "<|eot_id|>"):
        if token in vocab and vocab[token] not in ids:
            ids.append(vocab[token])
    return ids
