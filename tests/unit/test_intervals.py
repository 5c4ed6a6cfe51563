"""The order-statistic interval for a worker count's median, against its exact coverage."""

from __future__ import annotations

import numpy as np
import pytest

from sparksweep.intervals import fewest_runs, median_interval

DRAWS = 1000


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_too_few_runs_give_no_interval_and_say_what_they_could(n: int) -> None:
    interval = median_interval([10.0 + i for i in range(n)])

    assert (interval.low, interval.high, interval.coverage, interval.ranks) == (None,) * 4
    assert interval.widest_coverage == pytest.approx(max(0.0, 1 - 2 / 2**n))
    assert interval.note is not None
    assert f"{n} run" in interval.note
    assert "6 runs are the fewest" in interval.note
    assert interval.median == pytest.approx(np.median([10.0 + i for i in range(n)]))


def test_five_runs_name_their_actual_coverage() -> None:
    note = median_interval([3.0, 1.0, 2.0, 5.0, 4.0]).note

    assert note is not None
    assert "93.75%, under 95%" in note


@pytest.mark.parametrize(
    ("n", "ranks", "coverage"),
    [(6, (1, 6), 1 - 2 / 64), (9, (2, 8), 1 - 2 * 10 / 512), (10, (2, 9), 1 - 2 * 11 / 1024)],
)
def test_the_interval_is_the_narrowest_pair_of_order_statistics_reaching_95(
    n: int, ranks: tuple[int, int], coverage: float
) -> None:
    values = [float(v) for v in np.random.default_rng(n).permutation(n)]
    interval = median_interval(values)

    assert interval.ranks == ranks
    assert interval.coverage == pytest.approx(coverage)
    assert interval.coverage >= 0.95
    # The values are 0..n-1 shuffled: the j-th smallest is j - 1.
    assert (interval.low, interval.high) == (ranks[0] - 1, ranks[1] - 1)
    assert interval.note is None


def test_fewest_runs() -> None:
    assert fewest_runs(0.95) == 6
    assert fewest_runs(0.99) == 8
    assert fewest_runs(0.5) == 2


@pytest.mark.parametrize("n", [6, 9, 17, 20])
def test_the_interval_covers_the_true_median_at_its_stated_rate(n: int) -> None:
    # Run times are skewed: lognormal with median 1. Over 1,000 seeded draws the binomial
    # standard deviation of the coverage is under 0.7 points, so 3 points is over four.
    rng = np.random.default_rng(100 + n)
    covered = 0
    stated = median_interval(np.ones(n)).coverage
    for _ in range(DRAWS):
        interval = median_interval(rng.lognormal(0.0, 0.5, n))
        assert interval.low is not None and interval.high is not None
        covered += interval.low <= 1.0 <= interval.high

    assert stated is not None and stated >= 0.95
    assert covered / DRAWS == pytest.approx(stated, abs=0.03)
    assert covered / DRAWS >= 0.95 - 0.03


def test_as_dict_is_plain() -> None:
    data = median_interval([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).as_dict()

    assert data["ranks"] == [1, 6]
    assert (data["low"], data["high"]) == (1.0, 6.0)
    assert median_interval([1.0]).as_dict()["low"] is None


@pytest.mark.parametrize(
    ("values", "confidence"), [([], 0.95), ([1.0, float("nan")], 0.95), ([1.0], 1.0)]
)
def test_bad_input_is_a_value_error(values: list[float], confidence: float) -> None:
    with pytest.raises(ValueError):
        median_interval(values, confidence)
