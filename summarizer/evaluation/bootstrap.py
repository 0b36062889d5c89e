"""Seeded bootstrap: confidence intervals of a mean, and the paired comparison of two systems.

    >>> confidence_interval([40.0, 42.0, 38.0, 45.0], resamples=1000, seed=12345)
    (39.0, 43.75)

Documents are resampled with replacement ``resamples`` times from
``numpy.random.default_rng(seed)``; the interval is the percentile interval of the
resampled means (rouge-score's ``BootstrapAggregator`` does the same, but unseeded). The
same seed gives the same numbers on every run and every machine: an unseeded bootstrap
moves the last digit of a table from one run to the next.

:func:`paired_test` resamples the *same* documents for both systems (Koehn 2004;
Berg-Kirkpatrick et al. 2012), so the document-to-document variation that both systems
share does not hide a real difference: that gives the interval of the mean difference. Its
p-value comes from the paired permutation test of :mod:`summarizer.evaluation.permutation`
(exact for few documents), not from the resamples: a bootstrap share of resampled means
across zero is 0 whenever none crosses, which says nothing about how small p really is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .permutation import DEFAULT_PERMUTATIONS, DEFAULT_SEED, sign_flip_test

DEFAULT_RESAMPLES = 1000
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
    low: float  # the paired bootstrap interval of delta
    high: float
    # Two-sided paired permutation (sign-flip) test; "exact" or "random" (seeded) assignments.
    p_value: float
    p_method: str
    p_assignments: int

    def to_dict(self) -> dict:
        return {"n": self.n, "delta": self.delta, "low": self.low, "high": self.high, "p_value": self.p_value,
                "p_method": self.p_method, "p_assignments": self.p_assignments}


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
    permutations: int = DEFAULT_PERMUTATIONS,
) -> PairedResult | None:
    """System ``b`` against system ``a`` on the same documents (``a[i]`` and ``b[i]`` score
    document i): the mean difference, its paired bootstrap interval and the permutation
    test's p-value; None when there are no documents."""
    import numpy as np

    if len(a) != len(b):
        raise ValueError(f"paired_test needs scores of the same documents; got {len(a)} and {len(b)}.")
    if len(a) == 0:
        return None
    diffs = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    means = _resampled_means(diffs, resamples, seed)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    test = sign_flip_test(diffs, permutations, seed)
    return PairedResult(n=len(diffs), delta=float(diffs.mean()), low=float(low), high=float(high),
                        p_value=test.p_value, p_method=test.method, p_assignments=test.assignments)
