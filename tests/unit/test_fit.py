"""Amdahl fit and Karp-Flatt metric on timings built from known parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sparksweep.errors import FitError
from sparksweep.fit import amdahl_time, fit_amdahl, karp_flatt

T1 = 100.0
WORKERS = np.repeat(np.arange(1, 9), 5)
# Relative run-to-run jitter of 2%: what repeats of one Spark job on an idle host show.
NOISE = 0.02


def noisy_times(p: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    exact = amdahl_time(WORKERS, T1, p)
    return (exact * (1 + NOISE * rng.standard_normal(WORKERS.size))).tolist()


def test_recovers_p_from_exact_timings() -> None:
    workers = list(range(1, 9))
    fit = fit_amdahl(workers, [amdahl_time(w, T1, 0.95) for w in workers])

    assert fit.parallel_fraction == pytest.approx(0.95, abs=1e-9)
    assert fit.serial_fraction == pytest.approx(0.05, abs=1e-9)
    assert fit.t1 == pytest.approx(T1, rel=1e-9)
    assert fit.ceiling == pytest.approx(20.0, rel=1e-6)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.n_points == 8
    assert fit.workers == tuple(workers)


def test_recovers_p_under_seeded_noise() -> None:
    fit = fit_amdahl(WORKERS.tolist(), noisy_times(0.95, seed=42))

    # Over 200 seeds of this design the estimate's standard deviation is 0.0018 and its
    # largest error 0.0055, so 0.01 (over five standard deviations) fails only on a real
    # change in the fit, not on an unlucky draw.
    assert fit.parallel_fraction == pytest.approx(0.95, abs=0.01)
    assert fit.ci95 is not None
    assert fit.ci95[0] <= 0.95 <= fit.ci95[1]
    assert fit.ci95[1] - fit.ci95[0] < 0.02
    assert fit.r2 is not None
    assert fit.r2 > 0.99


def test_confidence_interval_covers_true_p_about_95_percent_of_the_time() -> None:
    trials = 200
    covered = 0
    for seed in range(trials):
        ci95 = fit_amdahl(WORKERS.tolist(), noisy_times(0.8, seed)).ci95
        assert ci95 is not None
        covered += ci95[0] <= 0.8 <= ci95[1]

    # The binomial standard deviation of the coverage over 200 trials is 0.015; the bounds
    # are three of them from 95% and still catch an interval that is off by a factor.
    assert 0.90 <= covered / trials <= 0.99


def test_fully_parallel_timings_give_p_one_and_unbounded_ceiling() -> None:
    workers = [1, 1, 2, 2, 4, 4]
    fit = fit_amdahl(workers, [T1 / w for w in workers])

    assert fit.parallel_fraction == 1.0
    assert fit.serial_fraction == 0.0
    assert fit.ceiling == math.inf
    assert fit.as_dict()["ceiling"] is None


def test_flat_timings_give_p_zero_and_ceiling_one() -> None:
    fit = fit_amdahl([1, 2, 3, 4], [T1] * 4)

    assert fit.parallel_fraction == 0.0
    assert fit.ceiling == 1.0
    # Identical times leave no variance to explain.
    assert fit.r2 is None


def test_two_points_fit_exactly_but_give_no_interval() -> None:
    fit = fit_amdahl([1, 2], [amdahl_time(1, T1, 0.9), amdahl_time(2, T1, 0.9)])

    assert fit.parallel_fraction == pytest.approx(0.9, abs=1e-9)
    assert fit.ci95 is None
    assert fit.ci95_note is not None
    assert "degrees of freedom" in fit.ci95_note
    assert fit.as_dict()["ci95"] is None


@pytest.mark.parametrize(
    ("workers", "times"),
    [([], []), ([2], [50.0]), ([1, 1, 1], [100.0, 101.0, 99.0])],
    ids=["none", "one-point", "one-worker-count"],
)
def test_refuses_fewer_than_two_distinct_worker_counts(
    workers: list[int], times: list[float]
) -> None:
    with pytest.raises(FitError, match="two or more distinct worker counts"):
        fit_amdahl(workers, times)


def test_refuses_non_positive_times() -> None:
    with pytest.raises(FitError, match="positive, finite times"):
        fit_amdahl([1, 2], [100.0, 0.0])


def test_as_dict_is_plain_json_types() -> None:
    fit = fit_amdahl(WORKERS.tolist(), noisy_times(0.9, seed=1))
    data = fit.as_dict()

    assert set(data) >= {"t1", "parallel_fraction", "serial_fraction", "ci95", "r2", "ceiling"}
    assert isinstance(data["ci95"], list)
    assert data["ceiling"] == pytest.approx(1 / (1 - data["parallel_fraction"]))


def test_karp_flatt_of_an_amdahl_speedup_is_its_serial_fraction() -> None:
    # On a pure Amdahl curve the measured serial fraction is the same at every w.
    for w in (2, 4, 16):
        speedup = T1 / amdahl_time(w, T1, 0.9)
        assert karp_flatt(speedup, w) == pytest.approx(0.1)


def test_karp_flatt_known_value() -> None:
    # S = 3 on 4 workers: (1/3 - 1/4) / (1 - 1/4) = (1/12) / (3/4) = 1/9.
    assert karp_flatt(3.0, 4) == pytest.approx(1 / 9)
    assert karp_flatt(4.0, 4) == pytest.approx(0.0)


def test_karp_flatt_needs_more_than_one_worker() -> None:
    with pytest.raises(ValueError, match="more than one worker"):
        karp_flatt(1.0, 1)
