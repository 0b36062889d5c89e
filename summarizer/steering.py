"""Source-aware adjustments of greedy decoding's next-token scores.

- **Copy bias** (``generate.copy_bias``): every token that occurs in the row's source (the
  extracted sentences; the whole prompt when no source is given) gets this much added to its
  logit, so that where the model hesitates
  between a word of the article and another, it takes the article's. The stop tokens get it
  too, so that the bias decides which words, not when to stop: without it, the end of the
  summary lost 4 points against every article word and the model wrote to the token limit.
- **Minimum length** (``generate.min_new_tokens``): the stop tokens (end of text, the blank
  line) are excluded until a row has this many new tokens, so the model writes past its
  first sentence; news references run to about three sentences.
- **No repeated n-grams** (``generate.no_repeat_ngram``): a token that would repeat an
  n-gram the summary already holds is excluded. Unlike transformers' processor of the same
  name, the prompt does not count: a summary may copy the article's phrases, only not its own.

One implementation serves both decoders, built for each batch from its
:class:`summarizer.plan.DecodingPlan`: :mod:`summarizer.decode` calls it on the rows still
in its batch (and on the candidate head's columns), the ``transformers`` decoder through
:func:`as_logits_processor`.
"""

from __future__ import annotations


class Steering:
    def __init__(self, input_ids, attention_mask, *, copy_bias: float = 0.0, no_repeat_ngram: int = 0,
                 min_new_tokens: int = 0, head_ids=None, vocab_size: int, stop_ids=(), sources=None):
        import torch

        self.head_ids = head_ids  # sorted candidate ids, or None for the full vocabulary
        self.no_repeat = no_repeat_ngram
        self.min_new = min_new_tokens
        self.stops = torch.tensor(sorted(set(stop_ids)), dtype=torch.long, device=input_ids.device)
        self.bonus = None
        if copy_bias:
            width = len(head_ids) if head_ids is not None else vocab_size
            rows = input_ids.shape[0]
            bonus = torch.zeros((rows, width), dtype=torch.float32, device=input_ids.device)
            for row in range(rows):
                # the row's source tokens when given (few-shot prompts hold examples' words too)
                source = sources[row] if sources is not None and sources[row] is not None else None
                source = (torch.tensor(source, dtype=torch.long, device=input_ids.device) if source is not None
                          else input_ids[row][attention_mask[row].bool()])
                ids = torch.unique(torch.cat([source, self.stops]))
                bonus[row, self._columns(ids)] = copy_bias
            self.bonus = bonus

    def __bool__(self) -> bool:
        return self.bonus is not None or self.no_repeat > 0 or self.min_new > 0

    def _columns(self, ids):
        """Logit columns of those token ids that have one (with a candidate head, only candidates do)."""
        import torch

        if self.head_ids is None:
            return ids
        columns = torch.searchsorted(self.head_ids, ids).clamp(max=len(self.head_ids) - 1)
        return columns[self.head_ids[columns] == ids]

    def __call__(self, logits, active: list[int], generated: list[list[int]]):
        """``logits``: (len(active), columns) scores for the next token of the rows ``active``
        (indices into the batch this was built for); ``generated``: every row's new tokens."""
        import torch

        if self.bonus is not None:
            logits = logits + self.bonus[active].to(logits.dtype)
        lowest = torch.finfo(logits.dtype).min
        if self.min_new and len(self.stops):
            short = [slot for slot, row in enumerate(active) if len(generated[row]) < self.min_new]
            if short:
                stop_columns = self._columns(self.stops)
                logits[torch.tensor(short, device=logits.device)[:, None], stop_columns[None, :]] = lowest
        if self.no_repeat:
            for slot, row in enumerate(active):
                banned = banned_tokens(generated[row], self.no_repeat)
                if banned:
                    ids = torch.tensor(sorted(banned), dtype=torch.long, device=logits.device)
                    logits[slot, self._columns(ids)] = lowest
        return logits


def banned_tokens(tokens: list[int], n: int) -> set[int]:
    """Tokens that would complete an ``n``-gram already in ``tokens``."""
    if n <= 0 or len(tokens) < n:
        return set()
    if n == 1:
        return set(tokens)
    tail = tuple(tokens[len(tokens) - n + 1:])
    return {tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tuple(tokens[i : i + n - 1]) == tail}


def as_logits_processor(steering: Steering, prompt_length: int):
    """The same adjustments as a transformers logits processor (full-vocabulary scores)."""
    from transformers import LogitsProcessor

    class SteeringProcessor(LogitsProcessor):
        def __call__(self, input_ids, scores):
            generated = input_ids[:, prompt_length:].tolist()
            return steering(scores, list(range(scores.shape[0])), generated)

    return SteeringProcessor()
