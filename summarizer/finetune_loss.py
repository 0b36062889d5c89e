"""The fine-tuning loss: negative log-likelihood of the summary tokens, and nothing else.

    >>> total, count = summary_loss(model, collate(examples, pad_id))  # doctest: +SKIP
    >>> loss = total / count                    # per summary token      # doctest: +SKIP

An example's ``labels`` are its target ids, and :data:`IGNORE` on the prompt and padding.
Gemma 3's head is 262,144 x 640, tied to the embedding: logits for a whole 450-token prompt
would be 450 x 262k floats (470 MB, and most of the step's time) for the ~40 target positions
that carry a loss. :func:`summary_loss` runs the decoder body to hidden states and applies the
head at the target positions only; :func:`check_loss` refuses a model on which that differs
from the model's own loss.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ModelError

IGNORE = -100  # label of positions without a loss (prompt, padding)


def collate(examples: list[dict[str, Any]], pad_id: int) -> dict[str, Any]:
    """Pad on the right (training: every row starts at position 0; positions past a row's
    end have no attention and no loss)."""
    import torch

    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[row, :n] = torch.tensor(e["input_ids"])
        labels[row, :n] = torch.tensor(e["labels"])
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def summary_loss(model, batch: dict[str, Any]):
    """(sum of the target tokens' negative log-likelihoods, number of target tokens).

    The decoder body gives hidden states for every position; the output layer is applied
    only where the next token is a target token (``labels[:, 1:] != IGNORE``), never to the
    whole sequence.
    """
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    where = targets != IGNORE
    logits = causal.get_output_embeddings()(hidden[:, :-1][where])  # [target tokens, vocab]
    cap = getattr(causal.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    total = torch.nn.functional.cross_entropy(logits.float(), targets[where], reduction="sum")
    return total, where.sum()


def check_loss(model, example: dict[str, Any], tokens: int = 96) -> None:
    """Compare :func:`summary_loss` with the model's own loss (full logits) on the end of one
    example: a model whose output layer does more than the head (and softcapping) would be
    trained on a wrong loss, so it is refused."""
    import torch

    batch = collate([{"input_ids": example["input_ids"][-tokens:], "labels": example["labels"][-tokens:]}], 0)
    batch = {k: v.to(next(model.parameters()).device) for k, v in batch.items()}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            total, count = summary_loss(model, batch)
            own = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
    finally:
        model.train(was_training)
    ours = float(total / count)
    if not math.isclose(ours, float(own), rel_tol=1e-3, abs_tol=1e-3):
        raise ModelError(
            f"the target-only loss ({ours:.4f}) differs from the model's own loss ({float(own):.4f}): this model's "
            "output layer does more than a linear head with softcapping, which the fine-tuning does not reproduce; "
            "use another model (Llama- and Gemma-style causal LMs work)."
        )


def mean_loss(model, examples: list[dict[str, Any]], pad_id: int, batch_size: int = 4) -> float | None:
    """Mean negative log-likelihood per target token over ``examples`` (None for none)."""
    import torch

    if not examples:
        return None
    device = next(model.parameters()).device
    total, count = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(examples), batch_size):
                batch = {k: v.to(device) for k, v in collate(examples[start:start + batch_size], pad_id).items()}
                loss, n = summary_loss(model, batch)
                total, count = total + float(loss), count + int(n)
    finally:
        model.train(was_training)
    return total / max(count, 1)
