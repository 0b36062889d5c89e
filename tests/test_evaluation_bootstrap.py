import pytest

from summarizer.evaluation.bootstrap import confidence_interval, paired_test

VALUES = [12.5, 40.0, 33.3, 27.1, 50.0, 8.0, 19.9, 44.4, 36.0, 21.7]


def test_two_runs_give_identical_intervals():
    assert confidence_interval(VALUES) == confidence_interval(list(VALUES))
    assert paired_test(VALUES, VALUES[::-1]) == paired_test(VALUES, VALUES[::-1])


def test_interval_brackets_the_mean_and_depends_on_the_seed():
    low, high = confidence_interval(VALUES, resamples=1000, seed=1)
    mean = sum(VALUES) / len(VALUES)
    assert low < mean < high
    assert (low, high) != confidence_interval(VALUES, resamples=1000, seed=2)


def test_edge_cases():
    assert confidence_interval([]) is None
    assert confidence_interval([7.0]) == (7.0, 7.0)
    assert paired_test([], []) is None
    with pytest.raises(ValueError):
        paired_test([1.0], [1.0, 2.0])


def test_paired_test_finds_a_consistent_difference_and_not_a_tie():
    better = [v + 5 + (i % 3) for i, v in enumerate(VALUES)]
    result = paired_test(VALUES, better)
    # Ten documents, every one better: the exact permutation test's smallest p, 2/2^10.
    assert result.delta == pytest.approx(5.9) and result.low > 0 and result.p_value == 2 / 2**10
    assert (result.p_method, result.p_assignments) == ("exact", 1024)
    tie = paired_test(VALUES, VALUES)
    assert tie.delta == 0 and tie.p_value == 1.0


def test_p_value_is_never_zero_even_when_no_resample_crosses_zero():
    # The old bootstrap p was the share of resampled means across zero: 0 here, printed "p<0.001".
    better = [v + 5 for v in VALUES] * 3  # 30 documents: the seeded random test
    result = paired_test(VALUES * 3, better, permutations=999)
    assert result.p_value == 1 / 1000 and result.p_method == "random"
    assert paired_test(VALUES * 3, better, permutations=999) == result
