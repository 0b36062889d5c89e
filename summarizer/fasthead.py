"""A cheaper output head for decoding: logits over a candidate vocabulary only.

Gemma 3's output layer multiplies every hidden state by the 262,144 x 640 embedding matrix:
about half of a decoding step on a CPU. A summary mostly copies words of its source and
otherwise uses common words, so the logits are computed exactly, but only for the
candidates: every token of the batch's prompts, the special tokens, every single-character
token, and the ``size`` lowest token ids (Gemma's vocabulary is ordered roughly by frequency,
except that single characters come last). All other tokens get the lowest finite score and
can never win a greedy step. On 24 CNN/DM and XSum dev articles, the full head's greedy
choice was outside these candidates (size 65,536) at 6 of 827 generated positions, all of
them words absent from the article. The benchmark (``make bench``)
measures how often the output still equals the full head's.

    >>> with restricted_head(model, candidate_ids(tokenizer, input_ids, 32768)):  # doctest: +SKIP
    ...     model.generate(input_ids, ...)
"""

from __future__ import annotations

from contextlib import contextmanager


def candidate_ids(tokenizer, input_ids, size: int):
    """Sorted unique ids: the ``size`` lowest ids, special and single-character tokens, and
    the prompts' tokens."""
    import torch

    fixed = torch.tensor(_fixed_candidates(tokenizer, size), dtype=torch.long, device=input_ids.device)
    return torch.unique(torch.cat([fixed, input_ids.flatten()]))


_FIXED: dict[tuple[int, int], list[int]] = {}


def _fixed_candidates(tokenizer, size: int) -> list[int]:
    """The prompt-independent part, computed once per tokenizer (the vocabulary is large)."""
    key = (id(tokenizer), size)
    if key not in _FIXED:
        # Scanning Gemma's 262k tokens takes 0.3-0.5 s, in every new process: the result is kept
        # on disk, named after the tokenizer's file and everything else it depends on.
        kept = _kept_candidates(tokenizer, size)
        ids = _read_ids(kept)
        if ids is None:
            ids = set(range(min(size, len(tokenizer))))
            ids.update(i for i in tokenizer.all_special_ids if i is not None)
            # "▁" marks a leading space in SentencePiece vocabularies; "Ġ" in byte-level BPE ones.
            ids.update(i for token, i in tokenizer.get_vocab().items() if len(token.lstrip("▁Ġ")) <= 1)
            ids = sorted(ids)
            _write_ids(kept, ids)
        _FIXED[key] = ids
    return _FIXED[key]


def _kept_candidates(tokenizer, size: int):
    """Where the fixed candidates of the tokenizer of a model converted into the cache (the
    embedded one, a .gguf file) are kept, None for any other: the tokenizer's file, the
    candidates' size, the tokenizer's length and special ids (tokens added after loading
    change them) name the entry."""
    from pathlib import Path

    from . import diskcache
    from .models import MARKER

    folder = Path(str(getattr(tokenizer, "name_or_path", "") or ""))
    file = folder / "tokenizer.json"
    if not (folder / MARKER).is_file() or not file.is_file():
        return None
    return diskcache.entry("candidates", file, size, len(tokenizer), sorted(
        i for i in tokenizer.all_special_ids if i is not None), type(tokenizer).__name__, suffix=".txt")


def _read_ids(place) -> list[int] | None:
    from . import diskcache

    data = diskcache.read(place)
    if not data:
        return None
    try:
        ids = [int(x) for x in data.split()]
    except ValueError:
        return None
    return ids if ids == sorted(set(ids)) else None


def _write_ids(place, ids: list[int]) -> None:
    from . import diskcache

    diskcache.write(place, " ".join(map(str, ids)).encode("ascii"))


@contextmanager
def restricted_head(model, ids, compact: bool = False):
    """Within the block, ``model``'s output layer computes logits for ``ids`` only: as a
    full-width row where every other token has the lowest score, or, with ``compact``, as
    ``len(ids)`` columns (column ``j`` is token ``ids[j]``; cheaper for a caller that maps
    them back itself, like :mod:`summarizer.decode`)."""
    import torch

    head = model.get_output_embeddings()
    # The candidates start with every id below `size`: those rows are a view of the matrix
    # (no copy); only the others (prompt words, single characters) are gathered.
    prefix = int((ids == torch.arange(len(ids), device=ids.device)).sum())
    low = head.weight[:prefix]
    extra = _gather_rows(head.weight, ids[prefix:])  # once per batch, reused at every step
    vocab = head.weight.shape[0]
    bias = head.bias[ids].detach() if getattr(head, "bias", None) is not None else None

    class SubsetHead(torch.nn.Module):
        def forward(self, hidden):
            logits = torch.cat([torch.nn.functional.linear(hidden, low),
                                torch.nn.functional.linear(hidden, extra)], dim=-1)
            if bias is not None:
                logits = logits + bias
            if compact:
                return logits
            full = logits.new_full((*logits.shape[:-1], vocab), torch.finfo(logits.dtype).min)
            full[..., ids] = logits
            return full

    attribute = _head_attribute(model, head)
    setattr(model, attribute, SubsetHead())
    try:
        yield
    finally:
        setattr(model, attribute, head)


_BUFFERS: dict[int, object] = {}


def _gather_rows(matrix, ids):
    """``matrix[ids]`` written into one buffer per matrix that is reused from batch to batch:
    a fresh copy for every batch fragmented the heap (peak RSS +0.8 GB on 20 articles, when
    the copy held all 65k candidates)."""
    import torch

    buffer = _BUFFERS.get(id(matrix))
    # A normal tensor, not an inference tensor, even when made under inference_mode: it is
    # written again later, perhaps outside inference_mode, which inference tensors refuse.
    with torch.inference_mode(False), torch.no_grad():
        if buffer is None or buffer.shape[0] < len(ids):
            buffer = torch.empty((len(ids) + 8192, matrix.shape[1]), dtype=matrix.dtype, device=matrix.device)
            _BUFFERS[id(matrix)] = buffer
        rows = buffer[: len(ids)]
        torch.index_select(matrix, 0, ids.clone(), out=rows)
    return rows


def _head_attribute(model, head) -> str:
    for name, module in model.named_children():
        if module is head:
            return name
    raise ValueError("the model's output layer is not a direct child module; use generate.head_vocab=0")
