"""Amdahl's law fitted to run times over worker counts, and the Karp-Flatt metric."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import OptimizeWarning, curve_fit

from sparksweep.errors import FitError

# The trust-region solver keeps its iterates strictly inside the bounds, so a p that belongs
# on a bound (no serial part, or no parallel part) comes back a hair inside it; with the
# tight tolerances below that hair is under 1e-9. Snapping it lets p = 1 report an unbounded
# ceiling instead of an arbitrary 1e9x, which no sweep of a few workers could tell apart.
_BOUND_SNAP = 1e-8
_SOLVER_TOL = 1e-12


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

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: the tuple becomes a list and an unbounded ceiling becomes None."""
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
        }


def amdahl_time(w: np.ndarray | float, t1: float, p: float) -> np.ndarray | float:
    """Run time on w workers predicted by Amdahl's law."""
    return t1 * ((1.0 - p) + p / w)


def amdahl_speedup(w: np.ndarray | float, p: float) -> np.ndarray | float:
    """Speedup over one worker predicted by Amdahl's law."""
    return 1.0 / ((1.0 - p) + p / w)


def fit_amdahl(workers: Sequence[int], times: Sequence[float]) -> AmdahlFit:
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
    """
    w = np.asarray(workers, dtype=float)
    t = np.asarray(times, dtype=float)
    if w.shape != t.shape or w.ndim != 1:
        raise ValueError(
            f"workers and times must be two lists of one length, got {w.shape}, {t.shape}"
        )
    distinct = tuple(sorted({int(x) for x in w}))
    if len(distinct) < 2:
        found = f"only w={distinct[0]}" if distinct else "none"
        raise FitError(
            f"an Amdahl fit needs times at two or more distinct worker counts, found {found}: "
            "sweep more worker counts, or rerun those whose runs failed"
        )
    bad = t[~(np.isfinite(t) & (t > 0))]
    if bad.size:
        raise FitError(f"an Amdahl fit needs positive, finite times, got {bad.tolist()}")
    if np.any(w < 1):
        raise FitError(f"worker counts must be at least 1, got {w.tolist()}")

    t1_guess, p_guess = _linear_guess(w, t)
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

    n = int(t.size)
    ci95, ci95_note = _confidence_interval(p, pcov, n)
    residuals = t - amdahl_time(w, t1, p)
    ss_res = float(np.sum(residuals**2))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    r2 = None if np.ptp(t) == 0 else 1.0 - ss_res / ss_tot
    return AmdahlFit(
        t1=t1,
        parallel_fraction=p,
        serial_fraction=1.0 - p,
        ci95=ci95,
        ci95_note=ci95_note,
        r2=r2,
        ceiling=math.inf if p == 1.0 else 1.0 / (1.0 - p),
        n_points=n,
        workers=distinct,
    )


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
