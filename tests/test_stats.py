"""Statistics over seeds, checked on values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmopt.core.stats import bootstrap_ci, ecdf, ert, holm, log_targets, rank_sum_p


def test_ert_counts_every_run_and_divides_by_successes() -> None:
    assert ert([50, 50, 50], [10, None, 30]) == (10 + 50 + 30) / 2
    assert ert([50, 50], [None, None]) == math.inf
    assert ert([8], [8]) == 8


def test_holm_multiplies_by_the_remaining_count_and_keeps_order() -> None:
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "opro": math.nan})
    assert adjusted["a"] == pytest.approx(0.03) and adjusted["c"] == pytest.approx(0.06)
    assert adjusted["b"] == pytest.approx(0.06) and math.isnan(adjusted["opro"])


def test_rank_sum_separates_clearly_different_samples() -> None:
    assert rank_sum_p([1, 2, 3, 4, 5, 6], [10, 11, 12, 13, 14, 15]) < 0.01
    assert rank_sum_p([1, 2, 3], [1, 2, 3]) > 0.5 and rank_sum_p([4, 4], [4, 4]) == 1.0
    assert math.isnan(rank_sum_p([], [1.0]))


def test_bootstrap_interval_holds_the_median_and_is_seeded() -> None:
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    low, high = bootstrap_ci(values)
    assert low <= float(np.median(values)) <= high and bootstrap_ci(values) == (low, high)
    assert all(math.isnan(v) for v in bootstrap_ci([]))


def test_fixed_target_ecdf_counts_run_target_pairs() -> None:
    targets = np.array([10.0, 5.0, 1.0])
    curves = [np.array([20.0, 8.0, 4.0]), np.array([9.0, 9.0])]
    shares = ecdf(curves, targets, "min", 3)
    assert shares.tolist() == pytest.approx([1 / 6, 2 / 6, 3 / 6])
    assert log_targets(100.0, 0.0, "min", count=3, decades=2).tolist() == pytest.approx([100.0, 10.0, 1.0])
    assert log_targets(0.0, 100.0, "max", count=2, decades=1).tolist() == pytest.approx([0.0, 90.0])


def test_the_median_of_an_even_count_is_the_midpoint_as_users_know_it() -> None:
    from llmopt.core.stats import median, quantiles

    assert median([0.6164, 5.58]) == pytest.approx(3.0982)  # two seeds: not the lower value
    values = [4.0, 1.0, 3.0, 2.0]
    assert quantiles(values, [0.25, 0.5, 0.75]) == pytest.approx(list(np.percentile(values, [25, 50, 75])))


def test_a_failed_run_makes_a_quantile_infinite_never_nan() -> None:
    from llmopt.core.stats import quantiles

    assert quantiles([1.0, 2.0, math.inf], [0.5, 1.0]) == [2.0, math.inf]
    assert quantiles([1.0, math.inf], [0.5]) == [math.inf]  # between a value and a failure: the failure
    assert quantiles([-math.inf, 1.0], [0.5]) == [-math.inf]
