"""Greedy decoding of a left-padded batch, written for a CPU's cost profile.

transformers' ``generate`` is general (sampling, beams, processors, streaming); for plain
greedy decoding on a CPU three things it does cost more than the model's own step:

- every row stays in the batch until the last one finishes, so a batch whose summaries
  end at 20, 25 and 60 tokens pays 60 steps for all of them. Here a finished row leaves the
  batch and the key/value cache at once (the cache keeps its other rows as they were);
- every step builds, processes and searches logits over the whole vocabulary (262,144 for
  Gemma), even when the head computes only a candidate subset. Here the subset's logits are
  searched directly and mapped back to token ids;
- a stop string is checked on decoded text; here single-token stops are ids.

And one thing it cannot do for a batch: **prompt lookup**. A summary copies phrases of its
source, so after each step the loop looks for the row's last ``lookup_ngram`` tokens in its
own prompt and proposes the ``lookup_tokens`` tokens that followed them there. One forward
pass over the proposal scores every proposed position at once; the row keeps the proposed
tokens up to the first one greedy decoding would not have picked, plus greedy's own pick
there. Greedy output is therefore the same token for token; only the number of passes
falls. On a CPU a pass over 5 tokens costs little more than a pass over one (the step is
dominated by per-operation overhead, not arithmetic). Rows of a batch keep different
numbers of tokens: the positions a row rejected stay in the cache, hidden by the attention
mask, and each row's position ids count only what it kept, so every row sees exactly the
sequence it would see alone.

The result is token for token what ``generate`` (greedy) returns, up to floating-point
rounding differences between batch shapes; ``make bench`` counts identical summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Decoded:
    tokens: list[list[int]]  # per row: the new tokens, including a final end/stop token
    passes: int = 0  # forward passes after the prompt pass
    proposed: int = 0  # tokens proposed by prompt lookup
    accepted: int = 0  # of which greedy decoding agreed with
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    rows_per_pass: list[int] = field(default_factory=list)
    loops: int = 0  # rows ended because they began to repeat themselves (``stopped`` said LOOP)
    shared_prefix: int = 0  # prompt tokens common to all rows, read once (share_prefix)


def greedy(model, input_ids, attention_mask, *, max_new_tokens: int, stop_ids: list[int],
           head_ids=None, lookup_tokens: int = 0, lookup_ngram: int = 2, stopped=None,
           prefill_tokens: int = 0, steer=None, share_prefix: int = 0) -> Decoded:
    """Greedy continuation of each row of a left-padded batch.

    ``head_ids``: when the model's output layer computes logits only for these (sorted) token
    ids (see :mod:`summarizer.fasthead`), column ``j`` of the logits is token ``head_ids[j]``.
    ``lookup_tokens``: tokens proposed per pass by prompt lookup (0: off).
    ``prefill_tokens``: the prompt pass reads this many tokens (all rows) at a time; 0: all.
    ``steer``: a :class:`summarizer.steering.Steering` (copy bias, no repeated n-grams) applied
    to every step's scores; prompt lookup is off with it (its proposals are verified against
    unadjusted scores).
    ``stopped(tokens)``: called with a row's new tokens after each one; a truthy result (the
    reason) ends the row: a :class:`summarizer.plan.RowStop` (stop strings, a sentence count,
    :data:`LOOP` when the row has started to repeat itself, counted in ``Decoded.loops``).
    ``share_prefix``: when every row's prompt begins with the same this-many tokens or more
    (few-shot examples, an instruction), that prefix is read once, not once per row (0: off).
    """
    import time

    import torch

    start = time.perf_counter()
    rows = input_ids.shape[0]
    device = input_ids.device
    stop_ids = set(stop_ids)
    if steer:
        lookup_tokens = 0
    if lookup_tokens:
        indexes = [_NgramIndex(input_ids[i][attention_mask[i].bool()].tolist(), lookup_ngram) for i in range(rows)]
    # Rejected proposals stay in the cache as hidden slots. With sliding-window attention
    # (Gemma: 512) the window counts slots, so proposals stop before they could push a real
    # token out of it.
    window = getattr(model.config, "sliding_window", None) or float("inf")
    out = Decoded(tokens=[[] for _ in range(rows)])
    cache_name = _cache_name(model)

    def pick(logits):
        best = logits.argmax(-1)
        return head_ids[best] if head_ids is not None else best

    mask = attention_mask.clone()
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    # The prompt pass in slices of about `prefill_tokens` tokens (all rows together): the
    # activations of a whole 16 x 450-token batch at once raised peak memory by ~0.5 GB.
    length = input_ids.shape[1]
    piece = max(1, prefill_tokens // rows) if prefill_tokens else length
    cache, shared = None, 0
    if share_prefix:
        shared = _common_prefix(input_ids, attention_mask, window)
        if shared >= share_prefix:
            cache = _prefix_cache(model, input_ids, attention_mask, shared, cache_name)
        else:
            shared = 0
    out.shared_prefix = shared
    for begin in range(shared, length, piece):
        end = min(begin + piece, length)
        result = model(input_ids=input_ids[:, begin:end], attention_mask=mask[:, :end],
                       position_ids=positions[:, begin:end], use_cache=True, logits_to_keep=1,
                       **({cache_name: cache} if cache is not None else {}))
        cache = _returned_cache(result)
    next_positions = positions[:, -1] + 1
    active = list(range(rows))  # batch row -> original row
    logits = result.logits[:, -1]
    chosen = pick(steer(logits, active, out.tokens) if steer else logits)  # one token per row
    out.prefill_seconds = time.perf_counter() - start

    while True:
        # Take the chosen tokens; a row is done at a stop token or at the length limit.
        keep = []
        for slot, row in enumerate(active):
            new = chosen[slot] if chosen.dim() > 1 else chosen[slot : slot + 1]
            new = new[new >= 0].tolist()
            tokens = out.tokens[row]
            finished = False
            for token in new:
                tokens.append(token)
                if token in stop_ids or len(tokens) >= max_new_tokens:
                    finished = True
                    break
                reason = stopped(tokens) if stopped else None
                if reason:
                    if reason == LOOP:
                        out.loops += 1
                    finished = True
                    break
            if not finished:
                keep.append(slot)
        if not keep:
            break
        if len(keep) < len(active):
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            mask, next_positions = mask[index], next_positions[index]
            active = [active[slot] for slot in keep]

        last = torch.tensor([[out.tokens[row][-1]] for row in active], device=device)
        drafts = None
        # Room for the proposal and every plain step still possible, inside the window.
        room = mask.shape[1] + 1 + lookup_tokens + max_new_tokens - min(len(out.tokens[r]) for r in active)
        if lookup_tokens and room <= window:
            drafts = _drafts(indexes, out.tokens, active, lookup_tokens, lookup_ngram, device)
        step = last if drafts is None else torch.cat([last, drafts], dim=1)
        width = step.shape[1]
        valid = torch.ones((len(active), width), dtype=mask.dtype, device=device)
        mask = torch.cat([mask, valid], dim=1)
        step_positions = next_positions[:, None] + torch.arange(width, device=device)
        result = model(input_ids=step, attention_mask=mask, position_ids=step_positions,
                       use_cache=True, logits_to_keep=width, **{cache_name: cache})
        out.passes += 1
        out.rows_per_pass.append(len(active))
        if drafts is None:
            logits = result.logits[:, -1]
            chosen = pick(steer(logits, active, out.tokens) if steer else logits)
            next_positions = next_positions + 1
            continue
        greedy_picks = pick(result.logits)  # (rows, width): greedy's token after each input
        # Keep the proposal up to its first disagreement with greedy, then greedy's own token.
        agree = (greedy_picks[:, :-1] == drafts).long().cumprod(dim=1)
        taken = agree.sum(dim=1)  # proposed tokens kept, per row
        out.proposed += int(drafts.numel())
        out.accepted += int(taken.sum())
        # Tokens kept: drafts[:taken] then greedy_picks[taken]; the rest is marked -1.
        columns = torch.arange(width, device=device)[None, :]
        chosen = torch.where(columns < taken[:, None], torch.cat([drafts, drafts[:, :1]], dim=1), -1)
        chosen.scatter_(1, taken[:, None], greedy_picks.gather(1, taken[:, None]))
        # Cache entries past what a row kept (its rejected proposals) are hidden from now on.
        kept_inputs = columns <= taken[:, None]  # the last token plus the accepted proposals
        mask[:, -width:] = kept_inputs.to(mask.dtype)
        next_positions = next_positions + taken + 1
        # A stop token among the accepted proposals ends the row there (handled above).
    out.decode_seconds = time.perf_counter() - start - out.prefill_seconds
    return out


def _common_prefix(input_ids, attention_mask, window) -> int:
    """Tokens that begin every row's prompt, leaving each row at least one of its own and
    (sliding-window attention) fitting in the window that the prefix pass's cache keeps."""
    rows = [input_ids[i][attention_mask[i].bool()].tolist() for i in range(input_ids.shape[0])]
    shortest = min(len(r) for r in rows)
    common = 0
    while common < shortest - 1 and all(r[common] == rows[0][common] for r in rows):
        common += 1
    return int(min(common, window - 1))


def _prefix_cache(model, input_ids, attention_mask, shared: int, cache_name: str):
    """The cache of the first ``shared`` slots of a left-padded batch, from one pass over the
    common prefix: row ``i``, left-padded by ``pad_i``, holds the prefix's first
    ``shared - pad_i`` tokens after its pads (zeros, masked); its remaining prefix tokens are
    read with the rest of its prompt. Key/value entries depend only on the tokens before them
    and their positions, which are the same in every row."""
    import torch

    prefix = input_ids[:1, :][attention_mask[:1, :].bool()][:shared][None, :]
    result = model(input_ids=prefix, use_cache=True, logits_to_keep=1)
    cache = _returned_cache(result)
    pads = (attention_mask.shape[1] - attention_mask.sum(dim=1)).tolist()
    for layer in cache.layers:
        for name in ("keys", "values"):
            one = getattr(layer, name)  # (1, heads, shared, dim)
            batch = one.new_zeros((input_ids.shape[0], *one.shape[1:]))
            for row, pad in enumerate(pads):
                if pad < shared:
                    batch[row, :, pad:] = one[0, :, : shared - pad]
            setattr(layer, name, batch)
    return cache


def _cache_name(model) -> str:
    # transformers 5 renamed `past_key_values` to `cache` (the old name warns); 4.56 knows only the old.
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


# Why a row ended when its last tokens repeat an n-gram it already generated: what follows
# would be the repetition that the ``dedupe`` filter removes anyway (``generate.loop_ngram``).
LOOP = "loop"


def ends_in_repeat(tokens: list[int], n: int) -> bool:
    """Whether the last ``n`` tokens already occurred earlier in ``tokens`` (a loop has begun)."""
    if len(tokens) <= n:
        return False
    last = tuple(tokens[-n:])
    return any(tuple(tokens[i : i + n]) == last for i in range(len(tokens) - n))


def until_stop(tokens: list[int], stop_ids) -> list[int]:
    """``tokens`` up to and including the first stop token (how both decoders report a row)."""
    for index, token in enumerate(tokens):
        if token in stop_ids:
            return tokens[: index + 1]
    return list(tokens)


def _returned_cache(result):
    cache = getattr(result, "cache", None)
    return cache if cache is not None else result.past_key_values


class _NgramIndex:
    """Where each ``n``-gram of a prompt last occurs (with at least one token after it)."""

    def __init__(self, prompt: list[int], n: int):
        self.prompt, self.n = prompt, n
        self.last = {tuple(prompt[i : i + n]): i + n for i in range(len(prompt) - n)}

    def after(self, context: list[int], size: int) -> list[int]:
        follow = self.last.get(tuple(context[-self.n :]))
        return [] if follow is None else self.prompt[follow : follow + size]


def _drafts(indexes, generated, active, size: int, ngram: int, device):
    """Per active row, the tokens that followed the latest occurrence in its prompt of its
    last ``ngram`` tokens, at most ``size``; None when no row has any. Shorter proposals are
    padded with their row's last token: a little compute, never a wrong token (greedy
    verifies every proposed token)."""
    import torch

    proposals = []
    for row in active:
        index = indexes[row]
        context = generated[row] if len(generated[row]) >= ngram else index.prompt + generated[row]
        proposals.append(index.after(context, size))
    width = max(len(p) for p in proposals)
    if not width:
        return None
    padded = [p + [generated[row][-1]] * (width - len(p)) for p, row in zip(proposals, active)]
    return torch.tensor(padded, device=device)
