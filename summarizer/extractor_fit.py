"""Fitting the learned extractor's two networks with torch (training only; inference is numpy).

    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [0.0], [1.0]]); y = np.array([0.0, 1.0, 0.0, 1.0])
    >>> net, losses = fit_network(x, y, np.ones(4), FitSettings(hidden=4, epochs=200))
    >>> losses[-1] < losses[0], bool(net(np.array([[1.0]]))[0] > net(np.array([[0.0]]))[0])
    (True, True)

- :func:`fit_network`: the sentence scorer, a small multilayer perceptron trained with binary
  cross-entropy on soft targets (:meth:`summarizer.extractor_data.Example.target`), every
  sentence weighted (each document alike within its group, each group alike), full batch
  with Adam: a few tens of thousands of sentences fit in memory and take seconds.
- :func:`fit_length`: the length head. For each document and each length ``k`` it knows the
  ROUGE that the selection of ``k`` sentences would get (``rewards``); it learns a softmax
  over the lengths that maximises the expected reward, so no length is "right" by fiat and a
  length that is nearly as good costs nearly nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Sequence

from .scorer import Network


@dataclass
class FitSettings:
    hidden: int = 32  # units in each of the two hidden layers
    epochs: int = 600  # full-batch steps
    learning_rate: float = 3e-3
    weight_decay: float = 1e-3
    seed: int = 0


def _standardise(x):
    import numpy as np

    mean = x.reshape(-1, x.shape[-1]).mean(axis=0)
    scale = x.reshape(-1, x.shape[-1]).std(axis=0)
    return mean, np.where(scale > 1e-6, scale, 1.0)


def _mlp(inputs: int, hidden: int):
    import torch

    return torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                               torch.nn.ReLU(), torch.nn.Linear(hidden, 1))


@contextmanager
def _one_thread():
    """Run torch on one thread: these matrices are small, and on a busy 2-core machine two
    threads made a training step 7 times slower (17.5 s against 2.4 s for 100 steps)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _to_network(model, mean, scale) -> Network:
    linears = [layer for layer in model if hasattr(layer, "weight")]
    return Network(mean, scale, [(layer.weight.detach().double().numpy(), layer.bias.detach().double().numpy())
                                 for layer in linears])


def fit_network(x, target, weight, settings: FitSettings) -> tuple[Network, list[float]]:
    """The scorer: ``x`` (rows x features), ``target`` in [0, 1] per row, ``weight`` per row.
    Returns the network and the loss at every step."""
    import torch

    torch.manual_seed(settings.seed)
    mean, scale = _standardise(x)
    inputs = torch.tensor((x - mean) / scale, dtype=torch.float32)
    targets = torch.tensor(target, dtype=torch.float32)
    weights = torch.tensor(weight / weight.mean(), dtype=torch.float32)
    model = _mlp(x.shape[1], settings.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    losses = []
    with _one_thread():
        for _ in range(settings.epochs):
            optimizer.zero_grad()
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(model(inputs).squeeze(-1), targets,
                                                                        reduction="none") * weights).mean()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    return _to_network(model, mean, scale), losses


def fit_length(rows, rewards, weight, settings: FitSettings) -> tuple[Network, list[float]]:
    """The length head: ``rows`` (documents x lengths x length features), ``rewards``
    (documents x lengths: the score each length would get), ``weight`` per document. Returns
    the network (one output per length row; the largest wins) and the loss at every step."""
    import torch

    torch.manual_seed(settings.seed)
    mean, scale = _standardise(rows)
    inputs = torch.tensor((rows - mean) / scale, dtype=torch.float32)
    gains = torch.tensor(rewards, dtype=torch.float32)
    weights = torch.tensor(weight / weight.mean(), dtype=torch.float32)
    # Narrower than the scorer: it sees a few thousand documents, not their sentences.
    model = _mlp(rows.shape[-1], max(settings.hidden // 2, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    losses = []
    with _one_thread():
        for _ in range(settings.epochs):
            optimizer.zero_grad()
            chance = torch.softmax(model(inputs).squeeze(-1), dim=1)
            loss = -((chance * gains).sum(dim=1) * weights).mean()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
    return _to_network(model, mean, scale), losses


def sentence_weights(sizes: Sequence[int], groups: Sequence[str]) -> Any:
    """A weight per sentence such that each document weighs alike within its group and each
    group alike (a corpus of long news does not drown a corpus of short dialogues)."""
    import numpy as np

    per_group: dict[str, int] = {}
    for group in groups:
        per_group[group] = per_group.get(group, 0) + 1
    return np.concatenate([np.full(size, 1.0 / max(size, 1) / per_group[group]) for size, group in zip(sizes, groups)]
                          or [np.zeros(0)])


def document_weights(groups: Sequence[str]) -> Any:
    """A weight per document such that each group weighs alike."""
    import numpy as np

    per_group: dict[str, int] = {}
    for group in groups:
        per_group[group] = per_group.get(group, 0) + 1
    return np.array([1.0 / per_group[group] for group in groups])
