"""Row against block K-Means solver on the real cluster, side by side in one run.

    .venv/bin/python bench/solver.py [--workers 2] [--rows 1000000] [--repeats 1]

Runs playbooks/sweep.yml once per solver (same data, same sweep of 1..N workers), then
`sparksweep compare` on the two sweeps: fit_s per worker count for each with the block/row
ratio (column "B / A"), Amdahl's p for each, and compare.md and compare.png beside the
sweeps. The image has native OpenBLAS, which only the block solver's matrix products use,
so this is the measurement behind spark_job_solver's default.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from sparksweep.cli import main as sparksweep
from sparksweep.runner import REPO_ROOT, run_sweep

SOLVERS = ("row", "block")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "results")
    args = parser.parse_args()

    cpus = os.cpu_count() or 1
    if args.workers > cpus:
        print(f"note: {args.workers} workers x 1 core exceed this host's {cpus} CPUs")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    folders = [
        run_sweep(
            workers=args.workers,
            repeats=args.repeats,
            rows=args.rows,
            sweep_id=f"bench-solver-{solver}-{stamp}",
            extravars={"spark_job_solver": solver},
            results_dir=args.results_dir,
        )
        for solver in SOLVERS
    ]
    return sparksweep(["compare", *(str(folder) for folder in folders)])


if __name__ == "__main__":
    raise SystemExit(main())
