"""Distribution-free intervals for a worker count's median run time, from order statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class MedianInterval:
    """[low, high] = the order statistics x(j) and x(n + 1 - j) of n runs.

    Whatever the distribution of a run's time (continuous), the population median lies
    between x(j) and x(n + 1 - j) with probability P(j <= B <= n - j), B ~ Binomial(n, 1/2):
    coverage is that probability, exact, and at least the confidence asked for. Tied times
    only make the closed interval cover more often.
    """

    median: float
    n: int
    confidence: float
    # None when no pair of order statistics reaches the confidence (note says why).
    low: float | None
    high: float | None
    coverage: float | None
    # 1-based ranks (j, n + 1 - j) of low and high among the sorted runs.
    ranks: tuple[int, int] | None
    # The coverage of the widest interval, from the fastest run to the slowest: what the
    # runs can give at most (0 for a single run).
    widest_coverage: float
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "n": self.n,
            "confidence": self.confidence,
            "low": self.low,
            "high": self.high,
            "coverage": self.coverage,
            "ranks": list(self.ranks) if self.ranks is not None else None,
            "widest_coverage": self.widest_coverage,
            "note": self.note,
        }


def median_interval(values: Sequence[float], confidence: float = 0.95) -> MedianInterval:
    """The narrowest symmetric order-statistic interval for the median with coverage at
    least confidence, or none, said so, when n runs are too few.

    With n runs the widest interval, [min, max], covers the median with probability
    1 - 2 / 2^n: 93.75% for five runs, so a 95% interval needs six or more (fewest_runs).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"a confidence is between 0 and 1, got {confidence}")
    x = np.sort(np.asarray(values, dtype=float))
    if x.ndim != 1 or x.size == 0:
        raise ValueError("a median interval needs one or more values")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"a median interval needs finite values, got {x.tolist()}")
    n = int(x.size)
    median = float(np.median(x))
    widest = _coverage(n, 1)
    # The coverage falls as j grows: take the largest j that still reaches the confidence.
    j = 0
    for rank in range(1, n // 2 + 1):
        if _coverage(n, rank) < confidence:
            break
        j = rank
    if j == 0:
        needed = fewest_runs(confidence)
        return MedianInterval(
            median=median,
            n=n,
            confidence=confidence,
            low=None,
            high=None,
            coverage=None,
            ranks=None,
            widest_coverage=widest,
            note=(
                f"{n} run{'s' if n != 1 else ''}: the widest interval, from the fastest run "
                f"to the slowest, covers the median with probability {widest:.2%}, under "
                f"{confidence:.0%}; {needed} runs are the fewest that give one"
            ),
        )
    return MedianInterval(
        median=median,
        n=n,
        confidence=confidence,
        low=float(x[j - 1]),
        high=float(x[n - j]),
        coverage=_coverage(n, j),
        ranks=(j, n + 1 - j),
        widest_coverage=widest,
        note=None,
    )


def fewest_runs(confidence: float = 0.95) -> int:
    """The fewest runs whose widest interval, [min, max], reaches the confidence."""
    # 1 - 2 / 2^n >= confidence  <=>  n >= 1 + log2(1 / (1 - confidence)).
    n = max(2, math.ceil(1 + math.log2(1 / (1 - confidence))))
    while _coverage(n, 1) < confidence:
        n += 1
    return n


def _coverage(n: int, j: int) -> float:
    """P(j <= B <= n - j) for B ~ Binomial(n, 1/2): how often [x(j), x(n + 1 - j)] holds the
    median. 0 when the interval does not exist (n + 1 - j < j)."""
    if j < 1 or n + 1 - j < j:
        return 0.0
    return float(stats.binom.cdf(n - j, n, 0.5) - stats.binom.cdf(j - 1, n, 0.5))
