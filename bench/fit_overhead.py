"""The share of the K-Means fit spent outside its Lloyd iterations, at w=1 and w=2.

    .venv/bin/python bench/fit_overhead.py results/<sweep_id> [--workers 1,2]
    .venv/bin/python bench/fit_overhead.py --run [--rows 5000000] [--repeats 1]

Our figure is the time of the fit's phases outside the iterations, from each run's anatomy:
MLlib's caching pass, the initial centers (init) and the summary after the last iteration.
Its baseline is the whole fit, timings.fit_s, which those phases and the iterations tile.
For each worker count the share is the median over the repeats of each run's
(caching + init + summary) / fit_s. This is the fixed cost that no worker count removes.

Given a sweep's folder it reads the run JSONs there (checked against the run schema) and
needs no Docker. With --run it first runs a short sweep of its own through the product's
playbook (playbooks/sweep.yml, as `sparksweep run` does: w = 1 .. the largest --workers,
results in results/bench-fit-overhead-<time>/), which needs the Docker Engine and the
one-sweep-at-a-time lock, and builds the image and starts the master when they are not
there. Target: at most 15% at every worker count measured.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib
from benchlib import BenchError

from sparksweep.results import load_runs

BENCHMARK = "fit_overhead"
TARGET = 0.15
OUTSIDE = ("caching", "init", "summary")
PHASES = ("caching", "init", "iterations", "summary")


def overhead(run: dict[str, Any]) -> dict[str, Any]:
    """One ok run's fit phases (s), the time outside the iterations and its share of fit_s."""
    anatomy = run.get("anatomy")
    if not anatomy:
        raise BenchError(
            f"run {run['run_id']} of sweep {run['sweep_id']} has no anatomy (schema 1, or its "
            "driver served no UI): measure a sweep with the current job, or use --run"
        )
    phases = {name: float(anatomy["phases"][name]["wall_s"]) for name in PHASES}
    fit_s = float(run["timings"]["fit_s"])
    outside = sum(phases[name] for name in OUTSIDE)
    return {
        "run_id": run["run_id"],
        "workers": run["workers"],
        "fit_s": fit_s,
        "phases_s": phases,
        "outside_s": outside,
        "share": benchlib.ratio(outside, fit_s),
    }


def summarize(runs: Sequence[dict[str, Any]], workers: Sequence[int]) -> list[dict[str, Any]]:
    """Per worker count: medians over its ok runs, and each run's own figures."""
    rows = []
    for w in workers:
        ok = [run for run in runs if run["workers"] == w and run["status"] == "ok"]
        if not ok:
            raise BenchError(f"the sweep has no ok run with {w} workers")
        each = [overhead(run) for run in ok]
        rows.append(
            {
                "workers": w,
                "cores": w * max(run["cores_per_worker"] for run in ok),
                "runs": each,
                "fit_s": benchlib.median(r["fit_s"] for r in each),
                "phases_s": {
                    name: benchlib.median(r["phases_s"][name] for r in each) for name in PHASES
                },
                "outside_s": benchlib.median(r["outside_s"] for r in each),
                "share": benchlib.median(r["share"] for r in each),
            }
        )
    return rows


def table(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'w':>3} {'runs':>5} {'fit_s':>8} {'caching':>8} {'init':>7} {'iterations':>11} "
        f"{'summary':>8} {'outside':>8} {'share':>7}"
    ]
    for row in rows:
        phases = row["phases_s"]
        lines.append(
            f"{row['workers']:>3} {len(row['runs']):>5} {row['fit_s']:>8.2f} "
            f"{phases['caching']:>8.2f} {phases['init']:>7.2f} {phases['iterations']:>11.2f} "
            f"{phases['summary']:>8.2f} {row['outside_s']:>8.2f} {row['share']:>7.1%}"
        )
    return lines


def ratio_line(rows: Sequence[dict[str, Any]]) -> str:
    shares = ", ".join(f"w={row['workers']} {row['share']:.1%}" for row in rows)
    met = all(benchlib.meets(row["share"], TARGET, at_most=True) for row in rows)
    return (
        f"share of fit_s outside the iterations (caching + init + summary) / fit_s: {shares} "
        f"(target <= {TARGET:.0%}: {'met' if met else 'NOT met'})"
    )


def run_sweep(args: argparse.Namespace, started: datetime) -> Path:
    from sparksweep.runner import REPO_ROOT, run_sweep

    return run_sweep(
        workers=max(args.workers),
        repeats=args.repeats,
        rows=args.rows,
        sweep_id=f"bench-fit-overhead-{benchlib.utc_stamp(started)}",
        results_dir=REPO_ROOT / "results",
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "sweep",
        nargs="?",
        type=Path,
        metavar="SWEEP_DIR",
        help="a sweep's folder, results/<sweep_id>; no Docker needed",
    )
    parser.add_argument(
        "--run",
        action="store_true",
        help="run a short sweep first (needs Docker; builds the image and starts the master)",
    )
    parser.add_argument(
        "--workers",
        type=benchlib.int_list,
        default=[1, 2],
        help="worker counts to report, comma-separated (default 1,2)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="with --run: rows of the synthetic set (default: the sweep's)",
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="with --run: repeats per worker count"
    )
    benchlib.add_results_dir(parser)
    args = parser.parse_args(argv)
    if (args.sweep is None) == (not args.run):
        parser.error("name a sweep folder, or pass --run to measure one (not both)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    machine = benchlib.this_machine()
    print(machine.line())
    folder = run_sweep(args, started) if args.run else args.sweep
    runs = load_runs(folder)
    rows = summarize(runs, args.workers)
    hosts = sorted({(run["host"]["cpus"], run["host"]["mem_bytes"]) for run in runs})
    print(
        f"sweep: {folder} ({len(runs)} runs; measured on a host with "
        + " / ".join(f"{cpus} CPUs and {mem / 2**30:.1f} GiB" for cpus, mem in hosts)
        + ")"
    )
    host_cpus = min(cpus for cpus, _ in hosts)
    warnings = [
        warning
        for row in rows
        if (
            warning := benchlib.oversubscription(
                row["workers"], row["cores"] // row["workers"], host_cpus, "the sweep's host"
            )
        )
    ]
    for warning in warnings:
        print(warning)
    for line in table(rows):
        print(line)
    summary = ratio_line(rows)
    return benchlib.finish(
        BENCHMARK,
        {
            "sweep": str(folder),
            "mode": "cluster (the sweep's run JSONs)",
            "sweep_hosts": [{"cpus": cpus, "mem_bytes": mem} for cpus, mem in hosts],
            "warnings": warnings,
            "target": {"share_at_most": TARGET},
            "results": rows,
            "summary": summary,
        },
        machine,
        started=started,
        results_dir=args.results_dir,
    )


if __name__ == "__main__":
    raise SystemExit(benchlib.run(main, "fit_overhead"))
