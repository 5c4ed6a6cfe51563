"""A sweep's plan: its worker counts, its repeats and the order of its runs.

Computed once, here, from `sparksweep run --workers ... --repeats ... --order ...`; kept
in the sweep's folder as plan.json, so that a resumed sweep keeps its order; and handed
to the playbook as the extra variable sweep_plan, which the spark_sweep role loops over
as it is. The role derives the same default plan itself when it is given only -e workers=N
(tests/unit/test_plan.py renders the role's default against default_runs).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sparksweep.errors import PlanError
from sparksweep.results import RUNS_DIRNAME, write_json_atomic

PLAN_FILE = "plan.json"
PLAN_VERSION = 1
ORDERS = ("interleaved", "random")
WORKERS_FORM = "N (sweeps 1..N) or ascending worker counts like 1,2,4,8 or 1-4,8"
# ASCII digits only: int() also reads '٣' and '1_0', which no one means as a worker count.
_COUNT = "[0-9]+"
_PART = re.compile(f"({_COUNT})(?:-({_COUNT}))?")
# More digits than this is more workers than any limit: compared as text, never converted
# (int() refuses strings of thousands of digits).
_MAX_DIGITS = 9
# Longer than any list a sane limit allows ("1,2,...,16" is 38 characters, 1..200 under
# 700): refused unread, so that no error line quotes a wall of text.
_MAX_TEXT = 1000


def parse_workers(text: str, maximum: int) -> tuple[int, ...]:
    """The worker counts --workers names: N for 1..N, or a list of counts and ranges.

    PlanError names what is wrong: not that form, 0, a count above maximum, a count listed
    twice, counts not in ascending order.
    """
    if len(text) > _MAX_TEXT:
        raise PlanError(f"expected {WORKERS_FORM}, got {len(text)} characters")
    if re.fullmatch(_COUNT, text):
        n = _count(text, text, maximum)
        return tuple(range(1, n + 1))
    counts: list[int] = []
    for part in text.split(","):
        match = _PART.fullmatch(part)
        if match is None:
            raise PlanError(f"expected {WORKERS_FORM}, got {text!r}")
        low = _count(match[1], text, maximum)
        high = _count(match[2], text, maximum) if match[2] is not None else low
        if high < low:
            raise PlanError(
                f"worker counts must be ascending: the range {part} in {text!r} goes down "
                f"(write {high}-{low})"
            )
        counts.extend(range(low, high + 1))
    for i, count in enumerate(counts):
        if count in counts[:i]:
            raise PlanError(f"worker count {count} is listed twice in {text!r}; list it once")
        if i and count < counts[i - 1]:
            raise PlanError(
                f"worker counts must be ascending: {count} comes after {counts[i - 1]} in {text!r}"
            )
    return tuple(counts)


def worker_list(workers: int | Sequence[int]) -> tuple[int, ...]:
    """1..N for a number N, the counts themselves for a list."""
    if isinstance(workers, int):
        return tuple(range(1, workers + 1))
    return tuple(int(w) for w in workers)


def workers_text(workers: Sequence[int]) -> str:
    """--workers as it reads back: N for 1..N, else the counts joined by commas."""
    if tuple(workers) == tuple(range(1, len(workers) + 1)):
        return str(len(workers))
    return ",".join(str(w) for w in workers)


def default_runs(workers: Sequence[int], repeats: int) -> list[tuple[int, int]]:
    """The interleaved order: every worker count once, then every count again, each round
    in ascending order; (workers, repeat) pairs. A drift over the sweep's hours (a warmer
    host, a filling disk) then spreads over every count instead of loading the last."""
    return [(w, r) for r in range(1, repeats + 1) for w in workers]


def random_runs(workers: Sequence[int], repeats: int, seed: int) -> list[tuple[int, int]]:
    """As default_runs, each round shuffled as random_round shuffles it."""
    return [run for r in range(1, repeats + 1) for run in random_round(workers, r, seed)]


def random_round(workers: Sequence[int], repeat: int, seed: int) -> list[tuple[int, int]]:
    """Round repeat of the random order: the counts shuffled by numpy's generator seeded
    with (seed, repeat). The round depends on nothing else, so that a sweep extended from
    R repeats to more gets the rounds a sweep planned with more from the start has."""
    rng = np.random.default_rng([seed, repeat])
    return [(int(w), repeat) for w in rng.permutation(workers)]


@dataclass(frozen=True)
class SweepPlan:
    """The runs of a sweep, in the order the playbook runs them."""

    workers: tuple[int, ...]
    repeats: int
    order: str
    # The shuffle's seed for the random order, None for the interleaved one.
    seed: int | None
    runs: tuple[tuple[int, int], ...]

    @classmethod
    def new(
        cls,
        workers: int | Sequence[int],
        repeats: int = 1,
        order: str = "interleaved",
        seed: int | None = None,
    ) -> SweepPlan:
        """A plan from the options; a random order without a seed draws one (recorded)."""
        counts = worker_list(workers)
        if not counts or repeats < 1:
            raise PlanError(f"a sweep needs worker counts and repeats, got {counts}, {repeats}")
        if order == "interleaved":
            if seed is not None:
                raise PlanError(
                    "--seed shuffles the runs of --order random only; drop it, or add "
                    "--order random"
                )
            return cls(counts, repeats, order, None, tuple(default_runs(counts, repeats)))
        if order == "random":
            seed = secrets.randbelow(2**32) if seed is None else seed
            return cls(counts, repeats, order, seed, tuple(random_runs(counts, repeats, seed)))
        raise PlanError(f"the order is one of {', '.join(ORDERS)}, got {order!r}")

    def extended(self, repeats: int) -> SweepPlan:
        """This plan with its runs as they are, then the rounds after its last up to
        repeats, each ordered by the plan's order (and seed): the plan SweepPlan.new gives
        for repeats, up to the recorded runs' order."""
        if repeats < self.repeats:
            raise PlanError(f"a plan of {self.repeats} repeat(s) cannot shrink to {repeats}")
        added: list[tuple[int, int]] = []
        for r in range(self.repeats + 1, repeats + 1):
            if self.seed is None:
                added += [(w, r) for w in self.workers]
            else:
                added += random_round(self.workers, r, self.seed)
        return SweepPlan(self.workers, repeats, self.order, self.seed, (*self.runs, *added))

    def extravar(self) -> list[dict[str, int]]:
        """The runs as the playbook's sweep_plan: [{workers: w, repeat: r}, ...] in order."""
        return [{"workers": w, "repeat": r} for w, r in self.runs]

    def run_ids(self) -> list[str]:
        return [f"w{w}-r{r}" for w, r in self.runs]

    def options(self) -> list[str]:
        """The `sparksweep run` options that plan this sweep again."""
        argv = ["--workers", workers_text(self.workers), "--repeats", str(self.repeats)]
        argv += ["--order", self.order]
        if self.seed is not None:
            argv += ["--seed", str(self.seed)]
        return argv

    def as_dict(self) -> dict[str, Any]:
        """plan.json."""
        return {
            "plan_version": PLAN_VERSION,
            "workers": list(self.workers),
            "repeats": self.repeats,
            "order": self.order,
            "seed": self.seed,
            "runs": self.extravar(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> SweepPlan:
        """A plan read back; ValueError when data is not one this module writes.

        The runs are taken as recorded, not drawn again: a resumed sweep keeps its order
        even should another numpy shuffle the same seed differently.
        """
        if not isinstance(data, dict) or data.get("plan_version") != PLAN_VERSION:
            raise ValueError(f"plan_version is not {PLAN_VERSION}")
        workers, repeats, order, seed = (
            data.get(k) for k in ("workers", "repeats", "order", "seed")
        )
        if not (isinstance(workers, list) and all(_is_count(w) for w in workers) and workers):
            raise ValueError("workers is not a list of worker counts")
        if not _is_count(repeats) or order not in ORDERS:
            raise ValueError("repeats or order is not one a plan has")
        if (seed is None) != (order == "interleaved") or not (seed is None or _is_count(seed)):
            raise ValueError("the seed does not go with the order")
        items = data.get("runs")
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and set(item) == {"workers", "repeat"} for item in items
        ):
            raise ValueError("runs is not a list of {workers, repeat}")
        runs = tuple((item["workers"], item["repeat"]) for item in items)
        if sorted(runs) != sorted(default_runs(workers, repeats)):
            raise ValueError("runs are not each worker count once per repeat")
        return cls(tuple(workers), repeats, order, seed, runs)

    def describe(self) -> str:
        seed = f", seed {self.seed}" if self.seed is not None else ""
        return (
            f"workers {workers_text(self.workers)}, {self.repeats} repeat(s), "
            f"{self.order} order{seed}"
        )


def read_plan(folder: Path) -> SweepPlan | None:
    """The plan recorded in a sweep's folder, or None when it has none."""
    path = folder / PLAN_FILE
    if not path.exists():
        return None
    try:
        return SweepPlan.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PlanError(
            f"{path}: cannot read the sweep's plan ({exc}); restore it, or delete it to "
            "resume the sweep under a new plan"
        ) from None


def write_plan(folder: Path, plan: SweepPlan) -> Path:
    """Record plan in the sweep's folder (created if need be), atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PLAN_FILE
    write_json_atomic(path, plan.as_dict())
    return path


def resolve_plan(
    folder: Path,
    workers: int | Sequence[int],
    repeats: int = 1,
    order: str = "interleaved",
    seed: int | None = None,
) -> SweepPlan:
    """The plan to run the sweep in folder under: the recorded one when the sweep already
    holds runs, else a new one. Reads only; write_plan records it.

    A resume that asks for more repeats than recorded extends the recorded plan: its runs
    stay as they are, in their order, and the new rounds follow (SweepPlan.extended). One
    that asks for fewer repeats, other worker counts or another order (or another seed; a
    resume without --seed takes the recorded one) is refused with PlanError: the runs
    already measured were measured in that order. A plan with no run recorded yet is
    replaced, as if it had not been there.
    """
    counts = worker_list(workers)
    recorded = read_plan(folder) if _has_runs(folder) else None
    if recorded is None:
        return SweepPlan.new(counts, repeats, order, seed)
    same = (
        recorded.workers == counts
        and recorded.order == order
        and (seed is None or seed == recorded.seed)
    )
    if same and repeats >= recorded.repeats:
        return recorded.extended(repeats)
    if same:
        raise PlanError(
            f"sweep {folder.name} has {recorded.repeats} repeat(s) recorded; a resume cannot "
            f"ask for fewer ({repeats}): resume it with --repeats {recorded.repeats} or more, "
            f"or report on the runs recorded with: sparksweep report {folder}"
        )
    if order == "interleaved" and seed is not None:
        SweepPlan.new(counts, repeats, order, seed)  # refuses the seed, as for a new sweep
    asked = f"workers {workers_text(counts)}, {repeats} repeat(s), {order} order" + (
        f", seed {seed}" if seed is not None else ""
    )
    raise PlanError(
        f"sweep {folder.name} was planned as {recorded.describe()}, not {asked}: resume it "
        f"with {' '.join(recorded.options())}, or give a new --sweep-id"
    )


def _has_runs(folder: Path) -> bool:
    runs = folder / RUNS_DIRNAME
    return runs.is_dir() and any(runs.glob("*.json"))


def _count(digits: str, text: str, maximum: int) -> int:
    where = "" if digits == text else f" in {text!r}"
    if len(digits) > _MAX_DIGITS or int(digits) > maximum:
        raise PlanError(
            f"a worker count goes up to {maximum} (sparksweep_workers_max), got {digits}{where}"
        )
    value = int(digits)
    if value < 1:
        raise PlanError(f"worker counts start at 1, got {digits}{where}")
    return value


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
