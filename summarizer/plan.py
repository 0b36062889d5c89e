"""The decoding plan: everything one batch's decoding does, decided once and handed as a
whole to whichever decoder runs it.

    plan = DecodingPlan.for_batch(cfg, tokenizer, stop_ids, encoded["input_ids"], sources)
    tokens, timing = decoder(encoded, model, plan)  # generate._fast or generate._transformers

The plan holds the stops (end-of-sequence and one-token stop ids, stop strings,
``max_sentences``, ``loop_ngram``), the limits (``max_new_tokens``, ``min_new_tokens``), the
steering settings (copy bias and its sources, ``no_repeat_ngram``), the candidate head's ids
and the fast decoder's own speed-ups (``lookup_tokens``, ``share_prefix``, which leave the
tokens as they are). Each feature is implemented once, here or in the module named, and
both decoders use that implementation:

- :class:`RowStop`, "has this row ended?" over the row's new tokens: a stop string in its
  text, enough finished sentences, the start of a loop. :func:`summarizer.decode.greedy`
  calls it after every token; the ``transformers`` decoder through
  :func:`as_stopping_criteria`. Stop ids and the length limit are each loop's own check
  (transformers needs its end ids anyway to pad the rows that finished);
- :meth:`DecodingPlan.steering`: a :class:`summarizer.steering.Steering` for the logit
  columns that the decoder computes (the candidate head's in the fast decoder, the whole
  vocabulary in the other);
- :meth:`DecodingPlan.head`: the candidate head (:mod:`summarizer.fasthead`).
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable

from .decode import LOOP, ends_in_repeat
from .fasthead import candidate_ids, restricted_head
from .segment import finished_sentences
from .steering import Steering

STOP_STRING = "stop string"
SENTENCES = "sentences"


@dataclass
class RowStop:
    """Whether a row has ended, judged on its new tokens after each one: the reason
    (:data:`STOP_STRING`, :data:`SENTENCES`, :data:`summarizer.decode.LOOP`) or None.
    False when nothing is set, so that a decoder can skip it at no cost per step.

        >>> stop = RowStop(loop_ngram=2)
        >>> stop([5, 6, 7]), stop([5, 6, 7, 5, 6])
        (None, 'loop')
    """

    strings: list[str] = field(default_factory=list)  # matched anywhere in the text, however tokenized
    max_sentences: int = 0
    loop_ngram: int = 0
    tokenizer: Any = field(default=None, compare=False, repr=False)

    def __bool__(self) -> bool:
        return bool(self.strings or self.max_sentences or self.loop_ngram)

    def __call__(self, tokens: list[int]) -> str | None:
        if self.strings:
            # A token is at least one character, so the last `longest` tokens hold any stop
            # that the newest token completed (earlier ones were found at earlier tokens).
            longest = max(len(s) for s in self.strings)
            tail = self.tokenizer.decode(tokens[-longest:], skip_special_tokens=True)
            if any(stop in tail for stop in self.strings):
                return STOP_STRING
        if self.max_sentences and finished_sentences(
                self.tokenizer.decode(tokens, skip_special_tokens=True)) >= self.max_sentences:
            return SENTENCES
        if self.loop_ngram and ends_in_repeat(tokens, self.loop_ngram):
            return LOOP
        return None


@dataclass
class DecodingPlan:
    stop_ids: list[int]  # end-of-sequence ids, then the stop strings that are one token
    row_stop: RowStop
    max_new_tokens: int
    min_new_tokens: int = 0  # no stop id before this many new tokens (a Steering adjustment)
    copy_bias: float = 0.0
    no_repeat_ngram: int = 0
    # per row: the tokens that the copy bias favours (None: the row's prompt); None without copy bias
    sources: list[list[int] | None] | None = None
    head_ids: Any = field(default=None, compare=False)  # sorted candidate ids (a tensor), or None
    lookup_tokens: int = 0
    share_prefix: int = 0
    pad_id: int | None = None

    @classmethod
    def for_batch(cls, cfg, tokenizer, stop_ids: list[int], input_ids,
                  source_ids: Callable[[int], list[int] | None]) -> "DecodingPlan":
        """The plan for one batch: ``cfg`` is the ``generate`` settings, ``stop_ids`` the
        end-of-sequence and one-token stop ids (looked up once per stage), ``input_ids`` the
        batch's prompts (the candidate head includes their tokens), ``source_ids(row)`` the
        tokens the copy bias favours in that row (asked only when there is a bias)."""
        head_ids = None
        if cfg.head_vocab:
            head_ids = candidate_ids(tokenizer, input_ids, cfg.head_vocab)
        return cls(
            stop_ids=list(stop_ids),
            row_stop=RowStop(list(cfg.stop), cfg.max_sentences, cfg.loop_ngram, tokenizer),
            max_new_tokens=cfg.max_new_tokens, min_new_tokens=cfg.min_new_tokens,
            copy_bias=cfg.copy_bias, no_repeat_ngram=cfg.no_repeat_ngram,
            sources=[source_ids(row) for row in range(input_ids.shape[0])] if cfg.copy_bias else None,
            head_ids=head_ids, lookup_tokens=cfg.lookup_tokens, share_prefix=cfg.share_prefix,
            pad_id=tokenizer.pad_token_id,
        )

    def steering(self, encoded, model, *, compact: bool):
        """The score adjustments for this batch, or None when there are none. ``compact``:
        the scores are the candidate head's columns (see :meth:`head`). Call it before
        entering :meth:`head`: it reads the size of the model's full output layer."""
        if not (self.copy_bias or self.no_repeat_ngram or self.min_new_tokens):
            return None
        return Steering(encoded["input_ids"], encoded["attention_mask"], copy_bias=self.copy_bias,
                        no_repeat_ngram=self.no_repeat_ngram, min_new_tokens=self.min_new_tokens,
                        head_ids=self.head_ids if compact else None,
                        vocab_size=model.get_output_embeddings().weight.shape[0], stop_ids=self.stop_ids,
                        sources=self.sources)

    def head(self, model, *, compact: bool):
        """A context in which ``model`` computes only the candidates' logits (nothing changes
        without a candidate head); ``compact``: as ``len(head_ids)`` columns."""
        if self.head_ids is None:
            return nullcontext()
        return restricted_head(model, self.head_ids, compact=compact)


def as_stopping_criteria(stop: RowStop, prompt_length: int):
    """``stop`` as a transformers stopping criterion (rows of prompt plus new tokens)."""
    import torch
    from transformers import StoppingCriteria

    class RowStopCriteria(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            done = [stop(row) is not None for row in input_ids[:, prompt_length:].tolist()]
            return torch.tensor(done, dtype=torch.bool, device=input_ids.device)

    return RowStopCriteria()


def cut_text(text: str, stops: list[str], max_sentences: int = 0, loop_ngram: int = 0) -> str:
    """What :class:`RowStop` would have kept of ``text``, for a backend that returns a whole
    generation instead of deciding after each token (a server): up to the first stop string
    (kept, as a stop id is), the ``max_sentences``-th finished sentence, or the word that
    completes a repeated ``loop_ngram`` (counted in words here, not tokens)."""
    ends = [text.index(s) + len(s) for s in stops if s in text]
    if ends:
        text = text[: min(ends)]
    if max_sentences and finished_sentences(text) >= max_sentences:
        # the shortest prefix with that many finished sentences (a sentence is finished by
        # the white space after its full stop, so cut at a space or newline)
        for index, char in enumerate(text):
            if char.isspace() and finished_sentences(text[: index + 1]) >= max_sentences:
                text = text[: index + 1]
                break
    if loop_ngram:
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        seen: set[tuple[str, ...]] = set()
        tokens = [text[a:b] for a, b in words]
        for end in range(loop_ngram, len(tokens) + 1):
            gram = tuple(tokens[end - loop_ngram : end])
            if gram in seen:
                return text[: words[end - 1][1]]
            seen.add(gram)
    return text
