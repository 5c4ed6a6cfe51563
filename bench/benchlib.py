"""What every benchmark in bench/ shares: the machine it ran on, ratios against targets, and
its result JSON in bench/results/.

Each benchmark measures our figure and its baseline in the same run on the same machine,
prints the machine first and its ratio last, and writes one JSON file per run,
bench/results/<benchmark>-<UTC time>.json, through write_result (the format's only writer).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sparksweep.errors import SparksweepError
from sparksweep.results import write_json_atomic

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# Version of the result JSON's layout; bump it when a field changes meaning.
RESULT_VERSION = 1


class BenchError(Exception):
    """Something the person running the benchmark can fix: printed as one line, exit 2."""


@dataclass(frozen=True)
class Machine:
    nproc: int
    cpu_model: str
    mem_bytes: int

    def line(self) -> str:
        return (
            f"machine: {self.nproc} CPUs (nproc), {self.cpu_model}, "
            f"{self.mem_bytes / 2**30:.1f} GiB memory"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_model(cpuinfo: str) -> str:
    """The CPU's name from /proc/cpuinfo's text ("model name" on x86, "Model" on ARM)."""
    for key in ("model name", "Model", "Hardware", "Processor"):
        for line in cpuinfo.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return "unknown CPU"


def mem_total_bytes(meminfo: str) -> int:
    """MemTotal from /proc/meminfo's text, in bytes (the file counts kB of 1024 bytes)."""
    for line in meminfo.splitlines():
        name, _, value = line.partition(":")
        if name == "MemTotal":
            number, _, unit = value.strip().partition(" ")
            return int(number) * (1024 if unit.strip() == "kB" else 1)
    raise ValueError("no MemTotal line in /proc/meminfo")


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def this_machine() -> Machine:
    """The machine as nproc sees it: the CPUs this process may run on."""
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 1
    meminfo = _read("/proc/meminfo")
    if meminfo:
        memory = mem_total_bytes(meminfo)
    else:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return Machine(nproc=nproc, cpu_model=cpu_model(_read("/proc/cpuinfo")), mem_bytes=memory)


def oversubscription(workers: int, cores: int, nproc: int, what: str = "") -> str | None:
    """A warning when workers x cores exceed the host's CPUs, else None."""
    if workers * cores <= nproc:
        return None
    where = f" ({what})" if what else ""
    return (
        f"warning: {workers} workers x {cores} cores = {workers * cores} exceed this host's "
        f"{nproc} CPUs{where}: they share CPUs, so the timings include waiting for one"
    )


def ratio(figure: float, baseline: float) -> float:
    """figure / baseline, both finite and the baseline above zero."""
    if not (math.isfinite(figure) and math.isfinite(baseline)) or baseline <= 0 or figure < 0:
        raise BenchError(f"cannot form a ratio of {figure!r} to {baseline!r}")
    return figure / baseline


def meets(value: float, target: float, at_most: bool) -> bool:
    return value <= target if at_most else value >= target


def target_text(value: float, target: float, at_most: bool, unit: str = "") -> str:
    """`target <= 1.5: met` or `target >= 5: NOT met`."""
    verdict = "met" if meets(value, target, at_most) else "NOT met"
    return f"target {'<=' if at_most else '>='} {target:g}{unit}: {verdict}"


def median(values: Iterable[float]) -> float:
    collected = list(values)
    if not collected:
        raise BenchError("no measurement to take a median of")
    return statistics.median(collected)


def int_list(text: str) -> list[int]:
    """argparse type for `1,2,5` or `1000000,5000000`: positive integers, kept in order."""
    numbers: list[int] = []
    for part in text.split(","):
        try:
            number = int(part.replace("_", "").strip())
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a whole number") from None
        if number < 1:
            raise ValueError(f"{number} is below 1")
        if number not in numbers:
            numbers.append(number)
    return numbers


def add_results_dir(parser: argparse.ArgumentParser) -> None:
    """--results-dir, where every benchmark writes its result JSON."""
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        help="where the result JSON goes (default: bench/results/)",
    )


def utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def result_path(benchmark: str, started: datetime, results_dir: Path = RESULTS_DIR) -> Path:
    """bench/results/<benchmark>-<UTC start>.json; a folder of the same name beside it holds
    the run JSONs of the benchmark's own Spark runs, if any."""
    return results_dir / f"{benchmark}-{utc_stamp(started)}.json"


def write_result(
    benchmark: str,
    payload: dict[str, Any],
    machine: Machine,
    *,
    started: datetime,
    results_dir: Path = RESULTS_DIR,
    now: datetime | None = None,
    argv: Sequence[str] | None = None,
) -> Path:
    """Write one benchmark run's JSON atomically and return its path.

    Every file carries the same head (benchmark, version, times, command, machine) before
    the benchmark's own fields; NaN and infinities are refused, as in the run JSON.
    """
    record = {
        "benchmark": benchmark,
        "result_version": RESULT_VERSION,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "command": list(sys.argv if argv is None else argv),
        "machine": machine.as_dict(),
        **payload,
    }
    path = result_path(benchmark, started, results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, record)
    return path


def finish(
    benchmark: str,
    payload: dict[str, Any],
    machine: Machine,
    *,
    started: datetime,
    results_dir: Path = RESULTS_DIR,
) -> int:
    """Write the result JSON, name it, and print the ratio line (payload's "summary") last,
    as every benchmark ends; return the exit code 0."""
    path = write_result(benchmark, payload, machine, started=started, results_dir=results_dir)
    print(f"results: {path}")
    print(payload["summary"])
    return 0


def run(main: Callable[[], int], prog: str) -> int:
    """Run a benchmark's main: an error its user can fix ends as one line and exit code 2."""
    try:
        return main()
    except (BenchError, SparksweepError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
