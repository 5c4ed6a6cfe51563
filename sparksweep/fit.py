"""Amdahl's law and the Universal Scalability Law fitted to run times over worker counts,
bootstrap intervals over the runs, and the Karp-Flatt metric."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import OptimizeWarning, curve_fit, least_squares, lsq_linear

from sparksweep.errors import FitError

# The trust-region solver keeps its iterates strictly inside the bounds, so a p that belongs
# on a bound (no serial part, or no parallel part) comes back a hair inside it; with the
# tight tolerances below that hair is under 1e-9. Snapping it lets p = 1 report an unbounded
# ceiling instead of an arbitrary 1e9x, which no sweep of a few workers could tell apart.
_BOUND_SNAP = 1e-8
_SOLVER_TOL = 1e-12
# A resample's estimate only has to place it among a thousand others: far looser will do.
_BOOTSTRAP_TOL = 1e-8
# Bootstrap defaults: the seed is recorded with each interval, so a report can be redrawn
# exactly; 1,000 resamples put the 2.5% and 97.5% percentiles 25 resamples from each end.
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 1000
# The law choice: "usl" only when even the low end of beta's 95% interval shows contention
# this large (at N = 10 it adds 0.9% of T1 to the time, about the run-to-run jitter).
USL_BETA_THRESHOLD = 1e-4


@dataclass(frozen=True)
class BootstrapInterval:
    """A percentile bootstrap 95% interval over the runs, resampled within each worker count.

    low and high are None when the runs cannot give one (note says why); seed and resamples
    redraw it exactly.
    """

    low: float | None
    high: float | None
    note: str | None
    seed: int
    resamples: int

    @property
    def ci95(self) -> tuple[float, float] | None:
        if self.low is None or self.high is None:
            return None
        return self.low, self.high


@dataclass(frozen=True)
class AmdahlFit:
    """Amdahl's law T(w) = t1 * ((1 - p) + p / w) fitted to measured times."""

    t1: float
    parallel_fraction: float
    serial_fraction: float
    # None when the data leave no degrees of freedom or the covariance is singular;
    # ci95_note then says why.
    ci95: tuple[float, float] | None
    ci95_note: str | None
    # None when every time is identical: there is no variance for the model to explain.
    r2: float | None
    # 1 / (1 - p): the speedup no number of workers can exceed; math.inf when p = 1.
    ceiling: float
    n_points: int
    workers: tuple[int, ...]
    # fit_amdahl(..., bootstrap_seed=S) only: p's interval from resampling the runs.
    bootstrap: BootstrapInterval | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: the tuple becomes a list and an unbounded ceiling becomes None.

        The bootstrap keys are None unless the fit was asked for a bootstrap.
        """
        boot = self.bootstrap
        return {
            "t1": self.t1,
            "parallel_fraction": self.parallel_fraction,
            "serial_fraction": self.serial_fraction,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
            "ci95_note": self.ci95_note,
            "r2": self.r2,
            "ceiling": self.ceiling if math.isfinite(self.ceiling) else None,
            "n_points": self.n_points,
            "workers": list(self.workers),
            "ci95_bootstrap": _listed(boot.ci95) if boot is not None else None,
            "ci95_bootstrap_note": boot.note if boot is not None else None,
            "bootstrap_seed": boot.seed if boot is not None else None,
            "bootstrap_resamples": boot.resamples if boot is not None else None,
        }


@dataclass(frozen=True)
class UslFit:
    """The Universal Scalability Law T(N) = t1 (1 + alpha (N - 1) + beta N (N - 1)) / N.

    That is Gunther's X(N) = gamma N / (1 + alpha (N - 1) + beta N (N - 1)) (as in the R
    package usl) with the throughput X = 1 / T and gamma = 1 / t1: the speedup
    S(N) = T(1) / T(N) = N / (1 + alpha (N - 1) + beta N (N - 1)). alpha is contention (a
    serial share, as Amdahl's 1 - p), beta coherency: a cost that grows with the pairs of
    workers and makes the speedup fall again past n_star.
    """

    t1: float
    alpha: float
    beta: float
    alpha_ci95: tuple[float, float] | None
    beta_ci95: tuple[float, float] | None
    # Why there are no intervals (then law is "amdahl": no evidence of beta > 0).
    ci95_note: str | None
    # sqrt((1 - alpha) / beta), where the speedup peaks; math.inf when beta = 0.
    n_star: float
    # The largest speedup at any N >= 1: S(max(n_star, 1)); when beta = 0 the limit 1 / alpha
    # (math.inf when alpha = 0 too).
    peak_speedup: float
    # "usl" when the low end of beta's 95% interval is above USL_BETA_THRESHOLD, else "amdahl".
    law: str
    law_reason: str
    # None when every time is identical.
    r2: float | None
    n_points: int
    workers: tuple[int, ...]
    bootstrap_seed: int
    bootstrap_resamples: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: tuples become lists, infinities None."""
        return {
            "t1": self.t1,
            "alpha": self.alpha,
            "beta": self.beta,
            "alpha_ci95": _listed(self.alpha_ci95),
            "beta_ci95": _listed(self.beta_ci95),
            "ci95_note": self.ci95_note,
            "n_star": _finite(self.n_star),
            "peak_speedup": _finite(self.peak_speedup),
            "law": self.law,
            "law_reason": self.law_reason,
            "r2": self.r2,
            "n_points": self.n_points,
            "workers": list(self.workers),
            "bootstrap_seed": self.bootstrap_seed,
            "bootstrap_resamples": self.bootstrap_resamples,
        }


def amdahl_time(w: np.ndarray | float, t1: float, p: float) -> np.ndarray | float:
    """Run time on w workers predicted by Amdahl's law."""
    return t1 * ((1.0 - p) + p / w)


def amdahl_speedup(w: np.ndarray | float, p: float) -> np.ndarray | float:
    """Speedup over one worker predicted by Amdahl's law."""
    return 1.0 / ((1.0 - p) + p / w)


def usl_time(w: np.ndarray | float, t1: float, alpha: float, beta: float) -> np.ndarray | float:
    """Run time on w workers predicted by the Universal Scalability Law."""
    return t1 * (1.0 + alpha * (w - 1.0) + beta * w * (w - 1.0)) / w


def usl_speedup(w: np.ndarray | float, alpha: float, beta: float) -> np.ndarray | float:
    """Speedup over one worker predicted by the Universal Scalability Law."""
    return w / (1.0 + alpha * (w - 1.0) + beta * w * (w - 1.0))


def fit_amdahl(
    workers: Sequence[int],
    times: Sequence[float],
    *,
    bootstrap_seed: int | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> AmdahlFit:
    """Fit Amdahl's law by nonlinear least squares, with p bounded to [0, 1] and t1 > 0.

    Every repeat is one point rather than one median per worker count: the residuals then
    carry the run-to-run noise, so the confidence interval says how well the repeats pin p
    down, and a sweep of three worker counts with three repeats keeps seven degrees of
    freedom instead of one. The price is sensitivity to an outlying repeat, which the
    report's per-worker medians expose next to the fit.

    Residuals are relative (each point weighted by 1 / its time): run-to-run jitter grows
    with a run's length, and one worker runs several times longer than eight. Unweighted,
    the slow points dominate and the 95% interval covered the true p in only about 85% of
    simulated sweeps with 2% relative noise; weighted, about 95%, and still so under
    constant absolute noise. R² stays the plain share of the times' variance explained.

    With bootstrap_seed, p also gets a bootstrap interval over the runs (bootstrap_amdahl),
    in the bootstrap field; the t-based ci95 stays as it is.
    """
    w, t, distinct = _checked(workers, times, "an Amdahl fit", 2)
    p, t1, pcov = _amdahl_solve(w, t)
    n = int(t.size)
    ci95, ci95_note = _confidence_interval(p, pcov, n)
    residuals = t - amdahl_time(w, t1, p)
    return AmdahlFit(
        t1=t1,
        parallel_fraction=p,
        serial_fraction=1.0 - p,
        ci95=ci95,
        ci95_note=ci95_note,
        r2=_r2(t, residuals),
        ceiling=math.inf if p == 1.0 else 1.0 / (1.0 - p),
        n_points=n,
        workers=distinct,
        bootstrap=(
            bootstrap_amdahl(workers, times, seed=bootstrap_seed, resamples=resamples)
            if bootstrap_seed is not None
            else None
        ),
    )


def bootstrap_amdahl(
    workers: Sequence[int],
    times: Sequence[float],
    *,
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> BootstrapInterval:
    """A 95% interval for Amdahl's p from the runs themselves, not from normal errors.

    Each resample draws, at every worker count with n runs, n - 1 of them with replacement
    (_resample_indices says why n - 1, and how often the interval covers), and refits; the
    interval is the 2.5th and 97.5th percentiles of the refitted p. It needs two or more
    runs at every worker count: a count with one run would be the same in every resample,
    and the interval would claim a certainty the sweep does not have. With few repeats it
    is too narrow: expect about 80% coverage with 2 repeats, 90% with 3 or more.
    """
    w, t, _ = _checked(workers, times, "an Amdahl fit", 2)
    p_hat, t1_hat, _ = _amdahl_solve(w, t)
    note = _bootstrap_refusal(w)
    if note is not None:
        return BootstrapInterval(None, None, note, seed, resamples)
    values = [
        _amdahl_resample(w[idx], t[idx], start=(t1_hat, p_hat))
        for idx in _resample_indices(w, seed, resamples)
    ]
    low, high = np.percentile(values, [2.5, 97.5])
    return BootstrapInterval(float(low), float(high), None, seed, resamples)


def fit_usl(
    workers: Sequence[int],
    times: Sequence[float],
    *,
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> UslFit:
    """Fit the Universal Scalability Law to every run, with bootstrap intervals for alpha, beta.

    Nonlinear least squares (scipy's least_squares) on t1, alpha and beta, bounded to t1 > 0,
    0 <= alpha <= 1 and beta >= 0, with relative residuals as in fit_amdahl. Three
    parameters need three or more worker counts. The 95% intervals are percentile
    bootstrap intervals over the runs, resampled within each worker count (seeded; see
    bootstrap_amdahl): run times are skewed and their noise is not normal, and alpha and
    beta sit on their bounds often enough that a normal interval around them would be wrong
    by construction.

    law is "usl" when the low end of beta's interval is above USL_BETA_THRESHOLD (the
    coherency cost is real), else "amdahl" (beta = 0 cannot be ruled out; Amdahl's law
    with 1 - p = alpha is then the simpler account). Without an interval it is "amdahl".
    """
    w, t, distinct = _checked(workers, times, "a USL fit", 3)
    t1, alpha, beta = _usl_solve(w, t)
    note = _bootstrap_refusal(w)
    alpha_ci: tuple[float, float] | None = None
    beta_ci: tuple[float, float] | None = None
    if note is None:
        estimates = np.array(
            [
                _usl_resample(w[idx], t[idx], start=(t1, alpha, beta))
                for idx in _resample_indices(w, seed, resamples)
            ]
        )
        a_lo, a_hi, b_lo, b_hi = np.percentile(estimates[:, 1:], [2.5, 97.5], axis=0).T.ravel()
        alpha_ci, beta_ci = (float(a_lo), float(a_hi)), (float(b_lo), float(b_hi))

    if beta_ci is None:
        law, reason = "amdahl", f"no interval for beta ({note}), so no evidence that beta > 0"
    elif beta_ci[0] > USL_BETA_THRESHOLD:
        law = "usl"
        reason = (
            f"the low end of beta's 95% interval, {beta_ci[0]:.3g}, is above "
            f"{USL_BETA_THRESHOLD:g}: the coherency cost is real"
        )
    else:
        law = "amdahl"
        reason = (
            f"the low end of beta's 95% interval, {beta_ci[0]:.3g}, is not above "
            f"{USL_BETA_THRESHOLD:g}: beta = 0 cannot be ruled out"
        )

    n_star = math.inf if beta == 0.0 else math.sqrt((1.0 - alpha) / beta)
    if math.isfinite(n_star):
        peak = float(usl_speedup(max(n_star, 1.0), alpha, beta))
    else:
        peak = math.inf if alpha == 0.0 else 1.0 / alpha
    return UslFit(
        t1=t1,
        alpha=alpha,
        beta=beta,
        alpha_ci95=alpha_ci,
        beta_ci95=beta_ci,
        ci95_note=note,
        n_star=n_star,
        peak_speedup=peak,
        law=law,
        law_reason=reason,
        r2=_r2(t, t - usl_time(w, t1, alpha, beta)),
        n_points=int(t.size),
        workers=distinct,
        bootstrap_seed=seed,
        bootstrap_resamples=resamples,
    )


def _checked(
    workers: Sequence[int], times: Sequence[float], what: str, counts: int
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """The workers and times as arrays, and the distinct worker counts; FitError when the
    data cannot support a model with counts parameters."""
    w = np.asarray(workers, dtype=float)
    t = np.asarray(times, dtype=float)
    if w.shape != t.shape or w.ndim != 1:
        raise ValueError(
            f"workers and times must be two lists of one length, got {w.shape}, {t.shape}"
        )
    distinct = tuple(sorted({int(x) for x in w}))
    if len(distinct) < counts:
        found = ("only w=" + ", ".join(str(x) for x in distinct)) if distinct else "none"
        words = {2: "two", 3: "three"}[counts]
        raise FitError(
            f"{what} needs times at {words} or more distinct worker counts, found {found}: "
            "sweep more worker counts, or rerun those whose runs failed"
        )
    bad = t[~(np.isfinite(t) & (t > 0))]
    if bad.size:
        raise FitError(f"{what} needs positive, finite times, got {bad.tolist()}")
    if np.any(w < 1):
        raise FitError(f"worker counts must be at least 1, got {w.tolist()}")
    return w, t, distinct


def _amdahl_solve(
    w: np.ndarray, t: np.ndarray, start: tuple[float, float] | None = None
) -> tuple[float, float, np.ndarray]:
    """p, t1 and the covariance of (t1, p), p snapped onto a bound it touches."""
    t1_guess, p_guess = start if start is not None else _linear_guess(w, t)
    with warnings.catch_warnings():
        # Two points fit exactly and leave no residual variance; curve_fit warns and
        # returns an infinite covariance, which is handled below.
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            popt, pcov = curve_fit(
                amdahl_time,
                w,
                t,
                p0=[t1_guess, p_guess],
                sigma=t,
                bounds=([0.0, 0.0], [np.inf, 1.0]),
                xtol=_SOLVER_TOL,
                ftol=_SOLVER_TOL,
                gtol=_SOLVER_TOL,
            )
        except (RuntimeError, ValueError) as exc:
            raise FitError(f"the Amdahl fit did not converge: {exc}") from exc

    t1, p = float(popt[0]), float(popt[1])
    if p > 1.0 - _BOUND_SNAP:
        p = 1.0
    elif p < _BOUND_SNAP:
        p = 0.0
    return p, t1, pcov


def _amdahl_resample(w: np.ndarray, t: np.ndarray, start: tuple[float, float]) -> float:
    """p of one bootstrap resample; as _usl_resample, numpy's linear least squares first.

    In (t1 (1 - p), t1 p) the relative residuals (a + b / w) / t - 1 are linear, and the
    bounds 0 <= p <= 1 are a, b >= 0.
    """
    design = np.column_stack([1.0 / t, 1.0 / (w * t)])
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(w))
    if a >= 0 and b >= 0 and a + b > 0:
        return float(b / (a + b))
    return _amdahl_solve(w, t, start=start)[0]


def _usl_solve(
    w: np.ndarray,
    t: np.ndarray,
    start: tuple[float, float, float] | None = None,
    tol: float = _SOLVER_TOL,
) -> tuple[float, float, float]:
    """t1, alpha and beta by bounded least squares on the relative residuals.

    N T(N) = t1 + t1 alpha (N - 1) + t1 beta N (N - 1) is linear in (t1, t1 alpha, t1 beta),
    and dividing each row by N T(N) gives the same relative residuals: that linear problem,
    with its coefficients bounded to be non-negative, is the starting point.
    """
    design = _usl_design(w, t)
    if start is None:
        a, b, c = lsq_linear(design, np.ones_like(w), bounds=(0.0, np.inf)).x
        t1_0 = a if a > 0 else float(t[w == w.min()].mean())
        start = (t1_0, float(np.clip(b / t1_0, 0.0, 1.0)), max(float(c / t1_0), 0.0))
    # least_squares needs a start strictly inside the bounds.
    x0 = np.array([max(start[0], 1e-12), np.clip(start[1], 1e-9, 1.0 - 1e-9), max(start[2], 1e-12)])

    def residuals(x: np.ndarray) -> np.ndarray:
        return (usl_time(w, x[0], x[1], x[2]) - t) / t

    # d/dt1, d/dalpha, d/dbeta of the residuals, in closed form: the bootstrap refits the
    # model a thousand times, and finite differences would triple the cost of each.
    def jacobian(x: np.ndarray) -> np.ndarray:
        growth = 1.0 + x[1] * (w - 1.0) + x[2] * w * (w - 1.0)
        return np.column_stack([growth / (w * t), x[0] * (w - 1.0) / (w * t), x[0] * (w - 1.0) / t])

    try:
        result = least_squares(
            residuals,
            x0,
            jac=jacobian,
            bounds=([0.0, 0.0, 0.0], [np.inf, 1.0, np.inf]),
            # dogbox puts a parameter that belongs on a bound (beta = 0 above all) exactly
            # there; trf keeps its iterates strictly inside and stops a hair away.
            method="dogbox",
            x_scale="jac",
            xtol=tol,
            ftol=tol,
            gtol=tol,
        )
    except ValueError as exc:
        raise FitError(f"the USL fit did not converge: {exc}") from exc
    if result.status <= 0:
        raise FitError(f"the USL fit did not converge: {result.message}")
    t1, alpha, beta = (float(x) for x in result.x)
    # As for Amdahl's p: a parameter that belongs on a bound comes back a hair inside it.
    alpha = 0.0 if alpha < _BOUND_SNAP else 1.0 if alpha > 1.0 - _BOUND_SNAP else alpha
    beta = 0.0 if beta < _BOUND_SNAP else beta
    return t1, alpha, beta


def _usl_design(w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Rows [1, N - 1, N (N - 1)] / (N t): times (t1, t1 alpha, t1 beta), less 1, they are
    the relative residuals."""
    return np.column_stack([np.ones_like(w), w - 1.0, w * (w - 1.0)]) / (w * t)[:, None]


def _usl_resample(
    w: np.ndarray, t: np.ndarray, start: tuple[float, float, float]
) -> tuple[float, float, float]:
    """_usl_solve for one bootstrap resample, a thousand times faster when no bound binds.

    In (t1, t1 alpha, t1 beta) the relative residuals are linear, so the bounded fit is a
    convex least-squares problem: when numpy's unbounded solution already lies inside the
    bounds it is the bounded optimum too, and least_squares is only needed otherwise.
    """
    (a, b, c), *_ = np.linalg.lstsq(_usl_design(w, t), np.ones_like(w))
    if a > 0 and 0 <= b <= a and c >= 0:
        return float(a), float(b / a), float(c / a)
    return _usl_solve(w, t, start=start, tol=_BOOTSTRAP_TOL)


def _bootstrap_refusal(w: np.ndarray) -> str | None:
    """Why resampling runs within each worker count cannot give an interval, or None."""
    counts, sizes = np.unique(w.astype(int), return_counts=True)
    single = [str(c) for c, n in zip(counts, sizes, strict=True) if n < 2]
    if single:
        return (
            f"one run at w={', '.join(single)}: the bootstrap resamples runs within each "
            "worker count and needs two or more at every count; sweep with --repeats 2 or more"
        )
    return None


def _resample_indices(w: np.ndarray, seed: int, resamples: int) -> list[np.ndarray]:
    """For each resample, indices into the runs: at every worker count with n runs, n - 1
    of them drawn with replacement.

    n - 1, not n, is Rao and Wu's rescaling bootstrap (J. Amer. Statist. Assoc. 83, 1988)
    with m = n - 1: drawing n of n runs makes a count's mean vary by (n - 1) / n of its
    true variance, too little when n is a few repeats. In simulated sweeps (7 worker
    counts, 2% normal noise, 100 to 300 sweeps each) the 95% intervals of alpha, beta and
    p covered the truth in 71-74% of sweeps with 2 repeats, 82-85% with 3 and 87-89% with
    5 when drawing n; drawing n - 1, in 79-81% with 2, 89-92% with 3, 88-93% with 5 and
    90-94% with 10. Still short of 95%: the noise's spread is itself estimated from a few
    runs per count, which no resampling of those runs can make up for.
    """
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(w == c) for c in np.unique(w)]
    draws = [g[rng.integers(0, g.size, size=(resamples, g.size - 1))] for g in groups]
    return list(np.concatenate(draws, axis=1))


def _r2(t: np.ndarray, residuals: np.ndarray) -> float | None:
    if np.ptp(t) == 0:
        return None
    return 1.0 - float(np.sum(residuals**2)) / float(np.sum((t - t.mean()) ** 2))


def _listed(pair: tuple[float, float] | None) -> list[float] | None:
    return list(pair) if pair is not None else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def karp_flatt(speedup: float, w: int) -> float:
    """Experimentally determined serial fraction e = (1/S - 1/w) / (1 - 1/w), for w > 1.

    Unlike Amdahl's p it is computed per worker count, so a serial fraction that grows with
    w points to overhead (communication, contention) rather than a fixed serial part.
    """
    if w <= 1:
        raise ValueError(f"the Karp-Flatt metric needs more than one worker, got {w}")
    if speedup <= 0:
        raise ValueError(f"a speedup must be positive, got {speedup}")
    return (1.0 / speedup - 1.0 / w) / (1.0 - 1.0 / w)


def _linear_guess(w: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Starting point from the linear form T = a + b / w, where a = t1 (1-p) and b = t1 p."""
    b, a = np.polyfit(1.0 / w, t, 1)
    t1 = a + b
    if t1 <= 0:
        return float(t.max()), 0.5
    return float(t1), float(np.clip(b / t1, 0.0, 1.0))


def _confidence_interval(
    p: float, pcov: np.ndarray, n: int
) -> tuple[tuple[float, float] | None, str | None]:
    dof = n - 2
    if dof <= 0:
        return None, f"{n} points leave no degrees of freedom after fitting two parameters"
    var_p = float(pcov[1, 1])
    if not math.isfinite(var_p) or var_p < 0:
        return None, "the covariance of the fit is singular"
    half = float(stats.t.ppf(0.975, dof)) * math.sqrt(var_p)
    return (max(0.0, p - half), min(1.0, p + half)), None
