"""The job's load phase reading the gzip CSV against reading its Parquet cache.

    .venv/bin/python bench/data_load.py [--rows 5000000] [--csv data/SUSY.csv.gz] [--threads 1]

Our figure is the job's load_s reading the Parquet cache the sweep keeps
(data/parquet/<sha256 of the CSV>/); its baseline is load_s reading the CSV itself, gzip, as
data/ holds it. load_s is the job's own timer around its load phase (read, assemble the 18
features, repartition to 16 partitions, persist and count them), taken from the run JSON of
sparksweep/job/kmeans.py, run by spark-submit once per format and repeat in a fresh JVM, as
each sweep run is; the two formats alternate, and each run fits one iteration only, since
the fit is not what is measured. The ratio is the median CSV load_s over the median Parquet
load_s.

It runs in Spark local mode on the host, local[T] (T = --threads, default 1, one worker's
core), not in the cluster: the sweep always reads Parquet, and a cluster run of the CSV would
need a sweep of its own. A gzip file cannot be split, so one task reads it whatever T is;
Parquet is read by T tasks.

Without --csv the data set is the synthetic one of --rows rows
(data/synthetic-<rows>-s0.csv.gz), generated and converted when missing, as the sweep does;
--csv data/SUSY.csv.gz measures the real file. Needs pyspark and Java 17; no Docker.
Target: Parquet at least 5 times faster.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib
import localspark

BENCHMARK = "data_load"
TARGET = 5.0
DEFAULT_ROWS = 5_000_000


def order(repeat: int) -> tuple[str, str]:
    """Which format goes first in each repeat: they alternate, so drift hits both."""
    return ("csv", "parquet") if repeat % 2 == 1 else ("parquet", "csv")


def ratio_line(csv_s: float, parquet_s: float) -> str:
    value = benchlib.ratio(csv_s, parquet_s)
    return (
        f"ratio CSV (gzip) load_s / Parquet load_s: {value:.2f} "
        f"({benchlib.target_text(value, TARGET, at_most=False)}: Parquet {value:.1f}x faster)"
    )


def file_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Runs on the host in Spark local mode; needs no Docker.",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=DEFAULT_ROWS,
        help="rows of the synthetic set (default %(default)s); ignored with --csv",
    )
    parser.add_argument("--csv", type=Path, default=None, help="a SUSY CSV to measure instead")
    parser.add_argument("--threads", type=int, default=1, help="local[T] (default 1)")
    localspark.add_local_arguments(parser)
    parser.add_argument("--repeats", type=int, default=3, help="runs per format (default 3)")
    benchlib.add_results_dir(parser)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.rows < 1:
        parser.error("--rows, --threads and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    machine = benchlib.this_machine()
    print(machine.line())
    warning = benchlib.oversubscription(1, args.threads, machine.nproc, "local mode's cores")
    if warning:
        print(warning)
    mode = f"Spark local mode on the host, local[{args.threads}] (not the cluster)"
    print(f"mode: {mode}")
    data_set = localspark.dataset(
        None if args.csv else args.rows, data_dir=args.data_dir, csv=args.csv
    )
    sources = {"csv": data_set.csv, "parquet": data_set.parquet}
    print(
        f"data: {data_set.csv} ({data_set.rows} rows, {file_size(data_set.csv) / 1e6:.0f} MB) "
        f"and its Parquet cache {data_set.parquet} ({file_size(data_set.parquet) / 1e6:.0f} MB)"
    )
    folder = benchlib.result_path(BENCHMARK, started, args.results_dir).with_suffix("")
    runs: dict[str, list[dict[str, Any]]] = {"csv": [], "parquet": []}
    print(f"{'repeat':>6} {'format':>8} {'load_s':>8} {'session_s':>10}")
    for repeat in range(1, args.repeats + 1):
        for fmt in order(repeat):
            out = folder / fmt / "runs" / f"w1-r{repeat}.json"
            argv_job = localspark.job_argv(
                sources[fmt],
                out,
                threads=args.threads,
                memory=args.memory,
                fingerprint=data_set.fingerprint,
                rows=data_set.rows,
                sweep_id=f"{folder.name}-{fmt}",
                run_id=f"w1-r{repeat}",
                params={"max_iter": 1},
                source="susy" if args.csv else "synthetic",
            )
            record = localspark.run_job(argv_job, out)
            timings = record["timings"]
            runs[fmt].append(
                {"run": str(out), "load_s": timings["load_s"], "session_s": timings["session_s"]}
            )
            print(f"{repeat:>6} {fmt:>8} {timings['load_s']:>8.2f} {timings['session_s']:>10.2f}")
    medians = {fmt: benchlib.median(r["load_s"] for r in runs[fmt]) for fmt in runs}
    print(f"median load_s: CSV (gzip) {medians['csv']:.2f}, Parquet {medians['parquet']:.2f}")
    summary = ratio_line(medians["csv"], medians["parquet"])
    return benchlib.finish(
        BENCHMARK,
        {
            "mode": mode,
            "threads": args.threads,
            "warnings": [warning] if warning else [],
            "data": {
                "csv": str(data_set.csv),
                "parquet": str(data_set.parquet),
                "rows": data_set.rows,
                "csv_bytes": file_size(data_set.csv),
                "parquet_bytes": file_size(data_set.parquet),
            },
            "target": {"parquet_faster_at_least": TARGET},
            "runs": runs,
            "median_load_s": medians,
            "ratio": benchlib.ratio(medians["csv"], medians["parquet"]),
            "summary": summary,
        },
        machine,
        started=started,
        results_dir=args.results_dir,
    )


if __name__ == "__main__":
    raise SystemExit(benchlib.run(main, "data_load"))
