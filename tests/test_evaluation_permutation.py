"""The paired permutation (sign-flip) test: exact for few documents, seeded beyond, never p = 0."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from summarizer.evaluation.permutation import EXACT_MAX_N, sign_flip_test

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def brute_force(d):
    """Every sign assignment, counted one by one: the definition of the exact test."""
    d = np.asarray(d, dtype=float)
    observed = abs(d.sum())
    signs = np.array(list(itertools.product([1, -1], repeat=len(d))))
    return float(np.mean(np.abs(signs @ d) >= observed - 1e-9))


@pytest.mark.parametrize("n", [1, 2, 3, 8, 11])
def test_exact_test_counts_every_sign_assignment(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        d = np.round(rng.normal(0.5, 3, n), 2)
        result = sign_flip_test(d)
        assert result.p_value == pytest.approx(brute_force(d), abs=1e-15)
        assert (result.method, result.assignments) == ("exact", 2**n)


@pytest.mark.parametrize("n", [2, 5, 9, EXACT_MAX_N])
def test_exact_test_equals_scipy_permutation_test(n):
    from scipy.stats import permutation_test

    rng = np.random.default_rng(100 + n)
    b, a = rng.normal(31, 9, n), rng.normal(30, 9, n)
    scipy_p = permutation_test((b, a), lambda x, y, axis: np.mean(x - y, axis=axis), vectorized=True,
                               permutation_type="samples", n_resamples=np.inf).pvalue
    assert sign_flip_test(b - a).p_value == pytest.approx(scipy_p, rel=1e-12)


def test_smallest_exact_p_is_two_over_two_to_the_n():
    assert sign_flip_test([1.0] * 8).p_value == 2 / 256
    assert sign_flip_test([-3.0, -1.0, -2.0]).p_value == 2 / 8  # two-sided: the sign does not matter


def test_ties_from_rounding_count_as_ties():
    # 0.1 + 0.2 - 0.3 is 5.6e-17, not 0: no difference at all, p = 1.
    assert sign_flip_test([0.1, 0.2, -0.3]).p_value == 1.0
    assert sign_flip_test([0.0, 0.0]).p_value == 1.0


def test_random_test_is_seeded_never_zero_and_close_to_the_exact_p():
    rng = np.random.default_rng(7)
    d = np.round(rng.normal(0.6, 3, 18), 2)  # above EXACT_MAX_N: random assignments
    exact = brute_force(d)
    result = sign_flip_test(d, permutations=20_000, seed=1)
    assert result.method == "random" and result.assignments == 20_000
    assert abs(result.p_value - exact) < 4 * (exact * (1 - exact) / 20_000) ** 0.5 + 1e-4
    assert sign_flip_test(d, permutations=20_000, seed=1) == result
    assert sign_flip_test(d, permutations=20_000, seed=2) != result
    # Every random assignment less extreme than the observed one: (0 + 1) / (R + 1), not 0.
    assert sign_flip_test([5.0] * 40, permutations=99).p_value == 1 / 100


def test_edge_cases():
    assert sign_flip_test([]) is None
    assert sign_flip_test([2.5]).p_value == 1.0
    with pytest.raises(ValueError, match="at least 1"):
        sign_flip_test([1.0] * 20, permutations=0)


def test_thousands_of_documents_take_well_under_a_few_seconds():
    import time

    d = np.random.default_rng(3).normal(0.1, 10, 5000)
    start = time.perf_counter()
    sign_flip_test(d)
    assert time.perf_counter() - start < 5  # 0.25 s measured on a busy 2-core CPU; scipy's took 14 s


@pytest.fixture(scope="module")
def bbc8(tmp_path_factory):
    """lead3 and extractive on the first 8 BBC dev documents (both model-free: seconds)."""
    data = DATA / "bbc.dev.jsonl"
    if not data.is_file():
        pytest.skip("../shared/data is not there")
    from click.testing import CliRunner

    from summarizer.cli import main

    out = tmp_path_factory.mktemp("bbc8")
    # The measurement: extractive as it was then, position-aware centrality.
    position = ["--set", "extract.strategy=position", "--set", "extract.position_weight=0.7",
                "--set", "extract.max_sentences=3"]
    for pipeline in ("lead3", "extractive"):
        result = CliRunner().invoke(main, ["run", str(data), "-o", str(out / pipeline), "--pipeline", pipeline,
                                           "--limit", "8", *(position if pipeline == "extractive" else [])])
        assert result.exit_code == 0, result.output
    return out


def test_eight_bbc_documents_lead3_against_extractive(bbc8):
    from summarizer.evaluation.report import evaluate

    report = evaluate([bbc8 / "lead3" / "summaries.jsonl", bbc8 / "extractive" / "summaries.jsonl"])
    comparison = report.systems[1].summary["vs_first"]
    # The paired bootstrap said p = 0.0 for rouge1, rougeL and rougeLsum. The exact test on 8
    # documents can only give multiples of 2/256: all 8 better on rouge1 (2/256), rougeLsum 4/256.
    assert comparison["rouge1"]["p_value"] == 2 / 256
    assert comparison["rougeLsum"]["p_value"] == 4 / 256 == 0.015625
    assert all(comparison[t]["p_value"] > 0 and comparison[t]["p_method"] == "exact"
               for t in ("rouge1", "rouge2", "rougeL", "rougeLsum"))
    from summarizer.evaluation.markdown import significance_table

    _, rows = significance_table(report)
    assert "p=0.0156 *" in rows[0][-1] and "p<" not in " ".join(rows[0])
    per_document = json.loads(json.dumps(report.to_dict()))["systems"][1]["vs_first"]["rougeLsum"]
    assert per_document["p_value"] == 0.015625 and "p" not in per_document
