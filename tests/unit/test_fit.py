"""Amdahl and USL fits, their bootstrap intervals and the Karp-Flatt metric on timings built
from known parameters."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sparksweep.errors import FitError
from sparksweep.fit import (
    amdahl_time,
    bootstrap_amdahl,
    fit_amdahl,
    fit_usl,
    karp_flatt,
    usl_speedup,
    usl_time,
)

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


# --- bootstrap intervals for Amdahl's p -------------------------------------------------


def test_amdahl_bootstrap_is_an_added_option_that_keeps_the_fit() -> None:
    times = noisy_times(0.9, seed=3)
    plain = fit_amdahl(WORKERS.tolist(), times)
    booted = fit_amdahl(WORKERS.tolist(), times, bootstrap_seed=7, resamples=500)

    assert booted.parallel_fraction == plain.parallel_fraction
    assert booted.ci95 == plain.ci95
    assert plain.bootstrap is None
    assert plain.as_dict()["ci95_bootstrap"] is None
    data = booted.as_dict()
    assert set(plain.as_dict()) == set(data)
    low, high = data["ci95_bootstrap"]
    assert low <= 0.9 <= high
    assert (data["bootstrap_seed"], data["bootstrap_resamples"]) == (7, 500)
    # The same seed draws the same resamples.
    assert bootstrap_amdahl(WORKERS.tolist(), times, seed=7, resamples=500).ci95 == (low, high)
    assert bootstrap_amdahl(WORKERS.tolist(), times, seed=8, resamples=500).ci95 != (low, high)


def test_amdahl_bootstrap_needs_two_runs_at_every_worker_count() -> None:
    workers = [1, 1, 2, 2, 4]
    interval = bootstrap_amdahl(workers, [amdahl_time(w, T1, 0.9) for w in workers], seed=1)

    assert interval.ci95 is None
    assert interval.note is not None
    assert "one run at w=4" in interval.note


# --- the Universal Scalability Law ------------------------------------------------------

ALPHA, BETA = 0.05, 0.002
# Three repeats of 1..16 workers: enough to see the speedup turn down past N* = 21.8.
USL_WORKERS = np.repeat(np.arange(1, 17), 3)


def usl_times(alpha: float, beta: float, seed: int, workers: np.ndarray = USL_WORKERS) -> list:
    rng = np.random.default_rng(seed)
    exact = usl_time(workers, T1, alpha, beta)
    return (exact * (1 + NOISE * rng.standard_normal(workers.size))).tolist()


def test_usl_recovers_alpha_and_beta_from_exact_timings() -> None:
    workers = [1, 1, 2, 2, 4, 4, 8, 8, 16, 16]
    fit = fit_usl(workers, [usl_time(w, T1, ALPHA, BETA) for w in workers])

    assert fit.alpha == pytest.approx(ALPHA, abs=1e-9)
    assert fit.beta == pytest.approx(BETA, abs=1e-9)
    assert fit.t1 == pytest.approx(T1, rel=1e-9)
    assert fit.n_star == pytest.approx(math.sqrt((1 - ALPHA) / BETA), rel=1e-6)
    assert fit.peak_speedup == pytest.approx(usl_speedup(fit.n_star, ALPHA, BETA), rel=1e-9)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.workers == (1, 2, 4, 8, 16)
    assert fit.n_points == 10


def test_usl_recovers_alpha_and_beta_under_seeded_noise() -> None:
    fit = fit_usl(USL_WORKERS.tolist(), usl_times(ALPHA, BETA, seed=42))

    # Over 200 seeds of this design the estimates' standard deviations are 0.0037 (alpha),
    # 0.00021 (beta) and 1.2 (N*), their largest errors 0.011, 0.00072 and 5.3: the bounds
    # are five standard deviations.
    assert fit.alpha == pytest.approx(ALPHA, abs=0.02)
    assert fit.beta == pytest.approx(BETA, abs=0.0011)
    assert fit.n_star == pytest.approx(math.sqrt((1 - ALPHA) / BETA), abs=6)
    assert fit.alpha_ci95 is not None and fit.beta_ci95 is not None
    assert fit.alpha_ci95[0] <= ALPHA <= fit.alpha_ci95[1]
    assert fit.beta_ci95[0] <= BETA <= fit.beta_ci95[1]
    assert fit.law == "usl"
    assert "above 0.0001" in fit.law_reason


def test_usl_bootstrap_is_seeded_and_the_seed_recorded() -> None:
    times = usl_times(ALPHA, BETA, seed=5)
    first = fit_usl(USL_WORKERS.tolist(), times, seed=11, resamples=300)
    again = fit_usl(USL_WORKERS.tolist(), times, seed=11, resamples=300)

    assert first == again
    assert first.as_dict()["bootstrap_seed"] == 11
    assert first.as_dict()["bootstrap_resamples"] == 300
    assert fit_usl(USL_WORKERS.tolist(), times, seed=12, resamples=300) != first


def test_usl_resamples_within_each_worker_count_whatever_the_run_order() -> None:
    # The same runs listed count by count and round by round (interleaved) are the same
    # data: each count's runs keep their order, so the resamples draw the same runs.
    times = np.array(usl_times(ALPHA, BETA, seed=6)).reshape(16, 3)
    by_count = fit_usl(np.repeat(np.arange(1, 17), 3).tolist(), times.ravel().tolist())
    by_round = fit_usl(np.tile(np.arange(1, 17), 3).tolist(), times.T.ravel().tolist())

    assert by_round.alpha == pytest.approx(by_count.alpha, abs=1e-9)
    assert by_round.beta_ci95 == pytest.approx(by_count.beta_ci95, abs=1e-9)


def test_law_is_amdahl_when_the_data_have_no_coherency_cost() -> None:
    fit = fit_usl(USL_WORKERS.tolist(), usl_times(0.05, 0.0, seed=42))

    assert fit.beta_ci95 is not None
    assert fit.beta_ci95[0] <= 1e-4
    assert fit.law == "amdahl"
    assert "cannot be ruled out" in fit.law_reason


def test_law_follows_the_low_end_of_betas_interval() -> None:
    usl = fit_usl(USL_WORKERS.tolist(), usl_times(0.05, 0.001, seed=1))
    amdahl = fit_usl(USL_WORKERS.tolist(), usl_times(0.05, 0.00005, seed=1))

    assert usl.beta_ci95 is not None and usl.beta_ci95[0] > 1e-4
    assert usl.law == "usl"
    assert amdahl.beta_ci95 is not None and amdahl.beta_ci95[0] <= 1e-4
    assert amdahl.law == "amdahl"


def test_usl_without_coherency_has_no_peak_and_its_asymptote() -> None:
    workers = [1, 1, 2, 2, 4, 4, 8, 8]
    fit = fit_usl(workers, [usl_time(w, T1, 0.1, 0.0) for w in workers])

    assert fit.beta == 0.0
    assert fit.n_star == math.inf
    assert fit.peak_speedup == pytest.approx(10.0, rel=1e-6)
    data = fit.as_dict()
    assert data["n_star"] is None
    assert data["peak_speedup"] == pytest.approx(10.0, rel=1e-6)


def test_usl_with_one_run_per_worker_count_gives_no_interval_and_says_why() -> None:
    workers = list(range(1, 9))
    fit = fit_usl(workers, [usl_time(w, T1, ALPHA, BETA) for w in workers])

    assert fit.alpha == pytest.approx(ALPHA, abs=1e-9)
    assert fit.alpha_ci95 is None and fit.beta_ci95 is None
    assert fit.ci95_note is not None and "--repeats 2" in fit.ci95_note
    # No interval, no evidence for beta > 0.
    assert fit.law == "amdahl"
    assert fit.as_dict()["beta_ci95"] is None


@pytest.mark.parametrize(
    ("workers", "found"),
    [([1, 1, 2, 2], "only w=1, 2"), ([4], "only w=4"), ([], "none")],
    ids=["two-counts", "one-count", "none"],
)
def test_usl_refuses_fewer_than_three_worker_counts(workers: list[int], found: str) -> None:
    with pytest.raises(FitError, match=f"three or more distinct worker counts, found {found}"):
        fit_usl(workers, [T1 / w for w in workers])


def test_usl_as_dict_is_plain_json() -> None:
    data = fit_usl(USL_WORKERS.tolist(), usl_times(ALPHA, BETA, seed=2), resamples=200).as_dict()

    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert {"alpha", "beta", "alpha_ci95", "beta_ci95", "n_star", "peak_speedup", "law"} <= set(
        data
    )
