"""Seeded bootstrap: confidence intervals of a mean, and a paired test between two systems.

    >>> confidence_interval([40.0, 42.0, 38.0, 45.0], resamples=1000, seed=12345)
    (39.0, 43.75)

Documents are resampled with replacement ``resamples`` times from
``numpy.random.default_rng(seed)``; the interval is the percentile interval of the
resampled means (rouge-score's ``BootstrapAggregator`` does the same, but unseeded). The
same seed gives the same numbers on every run and every machine: an unseeded bootstrap
moves the last digit of a table from one run to the next.

:func:`paired_test` resamples the *same* documents for both systems (Koehn 2004;
Berg-Kirkpatrick et al. 2012), so the document-to-document variation that both systems
share does not hide a real difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 12345
# Resampled means are computed this many resamples at a time, to bound memory on big sets.
_BLOCK = 100


def _resampled_means(values: Sequence[float], resamples: int, seed: int):
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, _BLOCK):
        size = min(_BLOCK, resamples - start)
        means[start:start + size] = data[rng.integers(0, len(data), size=(size, len(data)))].mean(axis=1)
    return means


def confidence_interval(
    values: Sequence[float],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> tuple[float, float] | None:
    """The bootstrap percentile interval of the mean of ``values``; None when empty."""
    import numpy as np

    if len(values) == 0:
        return None
    means = _resampled_means(values, resamples, seed)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class PairedResult:
    n: int
    delta: float  # mean(b) - mean(a)
    low: float
    high: float
    # Two-sided: twice the share of resampled differences on the other side of zero.
    p: float

    def to_dict(self) -> dict:
        return {"n": self.n, "delta": self.delta, "low": self.low, "high": self.high, "p": self.p}


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> PairedResult | None:
    """Paired bootstrap of system ``b`` against system ``a`` on the same documents
    (``a[i]`` and ``b[i]`` score document i); None when there are no documents."""
    import numpy as np

    if len(a) != len(b):
        raise ValueError(f"paired_test needs scores of the same documents; got {len(a)} and {len(b)}.")
    if len(a) == 0:
        return None
    diffs = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    means = _resampled_means(diffs, resamples, seed)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    p = min(1.0, 2 * min(float(np.mean(means <= 0)), float(np.mean(means >= 0))))
    return PairedResult(n=len(diffs), delta=float(diffs.mean()), low=float(low), high=float(high), p=p)
