"""Row against block K-Means solver on the real cluster, side by side in one run.

    .venv/bin/python bench/solver.py [--workers 2] [--rows 1000000] [--repeats 1]

Runs playbooks/sweep.yml once per solver (same data, same sweep of 1..N workers) and
prints fit_s and s/iteration for each, with the block/row ratio per worker count. The
image has native OpenBLAS, which only the block solver's matrix products use, so this is
the measurement behind spark_job_solver's default.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

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
    medians: dict[str, dict[int, tuple[float, float]]] = {}
    for solver in SOLVERS:
        folder = run_sweep(
            workers=args.workers,
            repeats=args.repeats,
            rows=args.rows,
            sweep_id=f"bench-solver-{solver}-{stamp}",
            extravars={"spark_job_solver": solver},
            results_dir=args.results_dir,
            write=lambda line: None,
        )
        runs = [json.loads(p.read_text()) for p in sorted((folder / "runs").glob("*.json"))]
        medians[solver] = {}
        for w in range(1, args.workers + 1):
            ok = [r for r in runs if r["workers"] == w and r["status"] == "ok"]
            if not ok:
                raise SystemExit(f"no ok run for solver={solver} w={w} in {folder}")
            medians[solver][w] = (
                statistics.median(r["timings"]["fit_s"] for r in ok),
                statistics.median(r["timings"]["iteration_s"] for r in ok),
            )

    print(f"rows={args.rows} partitions=16 k=10 repeats={args.repeats} host CPUs={cpus}")
    print(
        f"{'w':>3} {'row fit_s':>10} {'block fit_s':>12} {'row s/it':>9} {'block s/it':>11} "
        f"{'block/row fit':>14}"
    )
    for w in range(1, args.workers + 1):
        row_fit, row_it = medians["row"][w]
        block_fit, block_it = medians["block"][w]
        print(
            f"{w:>3} {row_fit:>10.2f} {block_fit:>12.2f} {row_it:>9.3f} {block_it:>11.3f} "
            f"{block_fit / row_fit:>14.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
