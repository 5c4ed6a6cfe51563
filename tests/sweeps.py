"""The fixture sweeps of tests/fixtures/results, for the unit tests of loading, analysing and
rendering them: their known curves, a copy to change, and changes to their runs.

The fixtures (tests/fixtures/results/README.md) time the fit as 120 s * (0.1 + 0.9 / w),
with repeat 1 at +2% and repeat 2 at -2%, and add a constant 20 s of session start and data
load to get total_s. So fit_s follows p = 0.9, T1 = 120 s and total_s follows
p = 108 / 140, T1 = 140 s; the host has 2 CPUs and each worker 1 core.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "results"
P_FIT, T1_FIT = 0.9, 120.0
P_TOTAL, T1_TOTAL = 108 / 140, 140.0
MEDIAN_FIT = {1: 120.0, 2: 66.0, 3: 48.0, 4: 39.0}


def copy_fixture(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def rewrite_runs(sweep: Path, change: Any, pattern: str = "*.json") -> None:
    """Apply change(run) to the run JSON files of a copied sweep and write them back."""
    for path in (sweep / "runs").glob(pattern):
        run = json.loads(path.read_text())
        change(run)
        path.write_text(json.dumps(run))


def fail(run: dict[str, Any]) -> None:
    run["status"] = "failed"
    run["error"] = {"kind": "driver_exit", "message": "driver exited with code 1"}
    run["iterations"] = run["cost"] = None
    run["timings"] = dict.fromkeys(run["timings"])


def _phase(wall: float, run: float, cpu: float, driver_only: float = 0.0) -> dict[str, Any]:
    return {
        "wall_s": wall,
        "jobs": 1,
        "tasks": 16,
        "executor_run_s": run,
        "executor_cpu_s": cpu,
        "gc_s": 0.0,
        "deserialize_s": 0.0,
        "scheduler_delay_s": 0.1,
        "driver_only_s": driver_only,
    }


def with_anatomy(run: dict[str, Any], cpu_ratio: float = 0.75) -> None:
    """A fit of 2 s driver-only, 10 s of coordination and the rest executor compute."""
    w, fit = run["workers"], run["timings"]["fit_s"]
    compute = fit - 12.0
    phases = {
        "load": _phase(5.0, 5.0 * w, 4.0 * w),
        "caching": _phase(6.0, 4.0 * w, 3.0 * w, driver_only=1.0),
        "init": _phase(2.0, 1.0 * w, 0.8 * w, driver_only=0.5),
        "iterations": _phase(fit - 10.0, compute * w - 5.0 * w, cpu_ratio * (compute - 5) * w),
        "summary": _phase(2.0, 0.0, 0.0, driver_only=0.5),
    }
    phases["iterations"]["per_iteration_s"] = [1.0]
    phases["iterations"]["median_iteration_s"] = 1.0
    run["anatomy"] = {"phases": phases, "executor_cpu_ratio": cpu_ratio}


def with_host_cpu(run: dict[str, Any], other_cpus: float) -> None:
    """As hostcpu.py records it: other_cpus kept busy on the run's hosts by something else."""
    run["host_cpu"] = {"hosts": [], "given_cpus": run["workers"], "other_cpus": other_cpus}
