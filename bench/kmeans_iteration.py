"""One Lloyd iteration of the Spark job against scikit-learn's, same data, centers and threads.

    .venv/bin/python bench/kmeans_iteration.py [--rows 1000000,5000000] [--threads 1]
    .venv/bin/python bench/kmeans_iteration.py --run results/<sweep_id>/runs/w1-r1.json

Our figure is the median iteration of the job as the product runs it: the wall time of each
Lloyd iteration job in the run's anatomy (its per_iteration_s, the driver's share included).
Without --run the job runs in Spark local mode on the host (spark-submit of
sparksweep/job/kmeans.py with local[T], the sweep's settings: 16 partitions, k=10, 20
iterations, tol 1e-4, random init, seed 1, row solver) over the Parquet cache of each
synthetic set data/synthetic-<rows>-s0.csv.gz (generated and converted when missing). With
--run the figure is that cluster run's, over its own data set (the host's data/ holds it),
and the job also runs in local mode on the same data with the run's cores, so both show.

The baseline is scikit-learn's KMeans(algorithm="lloyd", n_init=1, tol=0) on the same rows
with the same k, the same initial centers and as many threads as Spark had cores
(threadpoolctl's threadpool_limits: workers x cores of the run, or T). Its time per
iteration is (median time of max_iter=m minus that of max_iter=1) / (n_iter - 1), m being
Spark's iteration count: the difference removes what a fit does once (input checks, the
copy and centering of the data, the final assignment), as Spark's figure leaves out the
initialisation and any caching pass or summary.

The same initial centers. pyspark.ml's KMeans takes none and the run JSON does not record
them, so they are reproduced, then proven. This process loads the same data with the job's
own load_features (16 partitions, with the sweep's spark.default.parallelism 16 and
repartition without its local sort, so the same input splits and the same round-robin
repartition) and asks Spark's own
initializer for them: mllib KMeans.initialize, which both of ml KMeans's solvers call, with
the run's k, seed and init mode, over the same rows in the same order (the vectors that
load_features persists for the row solver, which its fit itself reads). Random init is a
takeSample, which depends only on those partitions and the seed. The proof: Spark's recorded
cost is the cost of its last assignment step, made with the centers of the iteration before
(tests/unit/test_kmeans_job.py), so scikit-learn started from the reproduced centers must
reach exactly that cost after iterations - 1 Lloyd steps. Each run's line says whether it
did. A cluster run with several workers may not reproduce (shuffle blocks arrive from other
executors in another order, so another sample); the line then says so and the comparison
is from scikit-learn's start, not Spark's.

Needs pyspark, scikit-learn, threadpoolctl and pyarrow (make setup-dev) and Java 17; no
Docker. Memory: the points are held in NumPy (5,000,000 x 18 doubles, 0.7 GB, copied once
by scikit-learn) beside a Spark driver of --memory. Target: at most 5 at 5,000,000 rows.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib
import localspark
import numpy as np
from benchlib import BenchError

from sparksweep.job.susy import FEATURE_COLUMNS, SUSY_COLUMNS

BENCHMARK = "kmeans_iteration"
TARGET = 5.0
TARGET_ROWS = 5_000_000
DEFAULT_ROWS = [1_000_000, TARGET_ROWS]
# Spark's cost and scikit-learn's inertia sum the same squared distances in another order.
COST_TOLERANCE = 1e-6


@dataclass
class Case:
    """One data set measured: the Spark runs over it and what scikit-learn needs to match."""

    label: str
    data_path: Path
    fingerprint: str
    rows: int
    threads: int
    params: dict[str, Any]
    partitions: int
    cluster: dict[str, Any] | None = None


def per_iteration(one_s: float, many_s: float, many_iterations: int) -> float:
    """Seconds per Lloyd iteration from a 1-iteration fit and a fit of many_iterations."""
    if many_iterations < 2:
        raise BenchError("scikit-learn stopped after one iteration: no difference to take")
    return max(many_s - one_s, 0.0) / (many_iterations - 1)


def cost_matches(spark_cost: float, sklearn_cost: float, tolerance: float = COST_TOLERANCE) -> bool:
    return abs(spark_cost - sklearn_cost) <= tolerance * max(abs(spark_cost), 1e-300)


def spark_iteration(record: dict[str, Any], sweep_dir: Path | None = None) -> tuple[float, int]:
    """The run's median iteration (s) and its iteration count, from its anatomy.

    A local run without one (the driver's REST API timed out) is read from its event log.
    """
    anatomy = record.get("anatomy")
    if not anatomy and sweep_dir is not None:
        anatomy = localspark.event_log_anatomy(record, sweep_dir)
        if anatomy:
            print("  (its iterations read from its Spark event log: the run has no anatomy)")
    if not anatomy:
        raise BenchError(
            f"run {record.get('run_id')} of {record.get('sweep_id')} has no anatomy (its "
            "driver served no UI, or its REST API did not answer in time): name another run"
        )
    return float(anatomy["phases"]["iterations"]["median_iteration_s"]), int(record["iterations"])


def read_run(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read the run JSON {path}: {exc}") from exc
    if not isinstance(record, dict) or record.get("status") != "ok":
        raise BenchError(f"{path} is not an ok run: measure with a run whose status is ok")
    return record


def case_from_run(path: Path, data_dir: Path) -> Case:
    record = read_run(path)
    data_path = localspark.host_data_path(record["dataset"]["path"], data_dir)
    if not data_path.exists():
        raise BenchError(
            f"{path} ran on {record['dataset']['path']}, which is not at {data_path} on this host"
        )
    params = {
        key: record["params"][key]
        for key in ("k", "max_iter", "tol", "seed", "init_mode", "solver")
    }
    return Case(
        label=f"{record['sweep_id']}/{record['run_id']}",
        data_path=data_path,
        fingerprint=record["dataset"]["fingerprint"],
        rows=int(record["dataset"]["rows"]),
        threads=int(record["workers"]) * int(record["cores_per_worker"]),
        params=params,
        partitions=int(record["partitions"]),
        cluster=record,
    )


def job_defaults() -> dict[str, Any]:
    """The job's own defaults, which the sweep's spark_job role also uses."""
    from sparksweep.job import runrecord

    parser = argparse.ArgumentParser()
    runrecord.add_config_arguments(parser)
    names = ("k", "max_iter", "tol", "seed", "init_mode", "solver", "partitions")
    return {name: parser.get_default(name) for name in names}


def spark_initial_centers(case: Case, memory: str) -> np.ndarray:
    """The centers KMeans.fit starts from, from Spark's own initializer (see the docstring)."""
    from pyspark.sql import SparkSession

    from sparksweep.job import kmeans

    builder = (
        SparkSession.builder.master(f"local[{case.threads}]")
        .appName("sparksweep bench initial centers")
        .config("spark.driver.memory", memory)
    )
    for key, value in localspark.load_confs(case.partitions).items():
        builder = builder.config(key, value)
    spark = (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    features, _ = kmeans.load_features(
        spark, str(case.data_path), case.partitions, case.params["solver"]
    )
    try:
        initializer = (
            spark.sparkContext._jvm.org.apache.spark.mllib.clustering.KMeans()
            .setK(case.params["k"])
            .setInitializationMode(case.params["init_mode"])
            .setMaxIterations(case.params["max_iter"])
            .setSeed(case.params["seed"])
            .setEpsilon(float(case.params["tol"]))
            .setDistanceMeasure("euclidean")
        )
        centers = initializer.initialize(features.mllib_vectors())
        return np.array([list(center.toArray()) for center in centers])
    finally:
        features.unpersist()
        spark.stop()


def load_points(path: Path) -> np.ndarray:
    """The 18 features of every row, as float64 in C order: what scikit-learn fits."""
    import pyarrow.csv
    import pyarrow.parquet

    if path.is_dir():
        table = pyarrow.parquet.read_table(path, columns=FEATURE_COLUMNS)
    else:
        table = pyarrow.csv.read_csv(
            path, read_options=pyarrow.csv.ReadOptions(column_names=SUSY_COLUMNS)
        ).select(FEATURE_COLUMNS)
    return np.ascontiguousarray(
        np.column_stack([table.column(name).to_numpy() for name in FEATURE_COLUMNS]),
        dtype=np.float64,
    )


def sklearn_fit(points: np.ndarray, centers: np.ndarray, max_iter: int) -> tuple[float, Any]:
    from sklearn.cluster import KMeans

    model = KMeans(
        n_clusters=len(centers), init=centers, n_init=1, max_iter=max_iter, tol=0, algorithm="lloyd"
    )
    started = time.perf_counter()
    model.fit(points)
    return time.perf_counter() - started, model


def sklearn_iteration(
    points: np.ndarray, centers: np.ndarray, iterations: int, threads: int, repeats: int
) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    ones: list[float] = []
    manys: list[float] = []
    n_iter = iterations
    with threadpool_limits(limits=threads):
        for _ in range(repeats):
            ones.append(sklearn_fit(points, centers, 1)[0])
            elapsed, model = sklearn_fit(points, centers, iterations)
            manys.append(elapsed)
            n_iter = int(model.n_iter_)
    one_s, many_s = benchlib.median(ones), benchlib.median(manys)
    return {
        "threads": threads,
        "repeats": repeats,
        "fit_1_iteration_s": ones,
        "fit_n_iterations_s": manys,
        "n_iter": n_iter,
        "iteration_s": per_iteration(one_s, many_s, n_iter),
        "fit_s_per_iteration": many_s / n_iter,
    }


def check_centers(
    points: np.ndarray, centers: np.ndarray, iterations: int, threads: int, costs: dict[str, float]
) -> dict[str, Any]:
    """Whether scikit-learn from `centers` reaches each Spark run's recorded cost."""
    from threadpoolctl import threadpool_limits

    if iterations < 2:
        return {"checked": False, "why": "Spark ran one iteration"}
    with threadpool_limits(limits=threads):
        _, model = sklearn_fit(points, centers, iterations - 1)
    inertia = float(model.inertia_)
    return {
        "checked": True,
        "sklearn_cost_after_iterations_minus_1": inertia,
        "spark_costs": costs,
        "matches": {name: cost_matches(cost, inertia) for name, cost in costs.items()},
    }


def measure(case: Case, args: argparse.Namespace, folder: Path, index: int) -> dict[str, Any]:
    print(f"\n{case.label}: {case.rows} rows, {case.threads} thread(s)", flush=True)
    out = folder / "runs" / f"w1-r{index}.json"
    argv = localspark.job_argv(
        case.data_path,
        out,
        threads=case.threads,
        memory=args.memory,
        fingerprint=case.fingerprint,
        rows=case.rows,
        sweep_id=folder.name,
        run_id=f"w1-r{index}",
        params=case.params,
        partitions=case.partitions,
        source=(case.cluster or {}).get("dataset", {}).get("source", "synthetic"),
    )
    print(f"  Spark local[{case.threads}]: running the job ...", flush=True)
    local = localspark.run_job(argv, out)
    local_iteration, iterations = spark_iteration(local, folder)
    spark: dict[str, Any] = {
        "local": {"run": str(out), "median_iteration_s": local_iteration, "cost": local["cost"]}
    }
    costs = {"local": float(local["cost"])}
    if case.cluster is not None:
        cluster_iteration, cluster_iterations = spark_iteration(case.cluster)
        if cluster_iterations != iterations:
            print(
                f"  note: the cluster run took {cluster_iterations} iterations, local mode "
                f"{iterations}; scikit-learn runs {iterations}"
            )
        spark["cluster"] = {"median_iteration_s": cluster_iteration, "cost": case.cluster["cost"]}
        costs["cluster"] = float(case.cluster["cost"])

    print("  reproducing Spark's initial centers ...", flush=True)
    centers = spark_initial_centers(case, args.memory)
    points = load_points(case.data_path)
    if len(points) != case.rows:
        raise BenchError(f"{case.data_path} holds {len(points)} rows, the run {case.rows}")
    check = check_centers(points, centers, iterations, case.threads, costs)
    print(f"  scikit-learn lloyd, {case.threads} thread(s): timing ...", flush=True)
    sklearn = sklearn_iteration(points, centers, iterations, case.threads, args.repeats)

    ratios = {
        name: benchlib.ratio(s["median_iteration_s"], sklearn["iteration_s"])
        for name, s in spark.items()
    }
    for name, figure in spark.items():
        where = f"local[{case.threads}]" if name == "local" else f"cluster ({case.label})"
        same = "n/a" if not check["checked"] else ("yes" if check["matches"][name] else "NO")
        print(
            f"  Spark {where}: median iteration {figure['median_iteration_s']:.4f} s "
            f"(same initial centers as scikit-learn, by cost: {same})"
        )
    print(
        f"  scikit-learn: {sklearn['iteration_s']:.4f} s per iteration "
        f"({sklearn['n_iter']} iterations, median of {args.repeats})"
    )
    return {
        "label": case.label,
        "data": str(case.data_path),
        "rows": case.rows,
        "threads": case.threads,
        "params": case.params,
        "partitions": case.partitions,
        "iterations": iterations,
        "spark": spark,
        "initial_centers": {"centers": centers.tolist(), **check},
        "sklearn": sklearn,
        "ratios": ratios,
    }


def ratio_line(results: Sequence[dict[str, Any]]) -> str:
    parts = []
    met: list[bool] = []
    for result in results:
        shown = ", ".join(f"{name} {value:.2f}" for name, value in result["ratios"].items())
        parts.append(f"{result['rows']} rows: {shown}")
        if result["rows"] == TARGET_ROWS:
            met += [benchlib.meets(v, TARGET, at_most=True) for v in result["ratios"].values()]
    verdict = (
        f"target <= {TARGET:g} at {TARGET_ROWS} rows: {'met' if all(met) else 'NOT met'}"
        if met
        else f"target <= {TARGET:g} applies at {TARGET_ROWS} rows, not measured"
    )
    return f"ratio Spark median iteration / scikit-learn iteration: {'; '.join(parts)} ({verdict})"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Runs on the host in Spark local mode; needs no Docker. See the module "
        "docstring (the top of bench/kmeans_iteration.py) for how the initial centers are "
        "reproduced and proven.",
    )
    parser.add_argument(
        "--rows",
        type=benchlib.int_list,
        default=DEFAULT_ROWS,
        help="synthetic set sizes, comma-separated (default 1000000,5000000); ignored with --run",
    )
    parser.add_argument(
        "--run",
        type=Path,
        action="append",
        default=[],
        metavar="RUN_JSON",
        help="an ok run JSON of a sweep (results/<sweep>/runs/w1-r1.json): its median "
        "iteration on the cluster, against scikit-learn with its cores; repeatable",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="local mode's cores and scikit-learn's threads without --run (default 1, as w=1)",
    )
    localspark.add_local_arguments(parser)
    parser.add_argument("--repeats", type=int, default=3, help="scikit-learn fits of each length")
    benchlib.add_results_dir(parser)
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1:
        parser.error("--threads and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    machine = benchlib.this_machine()
    print(machine.line())
    localspark.spark_submit()
    if args.run:
        cases = [case_from_run(path, args.data_dir) for path in args.run]
    else:
        defaults = job_defaults()
        params = {key: value for key, value in defaults.items() if key != "partitions"}
        cases = []
        for rows in args.rows:
            data_set = localspark.dataset(rows, data_dir=args.data_dir)
            cases.append(
                Case(
                    label=data_set.csv.name,
                    data_path=data_set.parquet,
                    fingerprint=data_set.fingerprint,
                    rows=data_set.rows,
                    threads=args.threads,
                    params=params,
                    partitions=defaults["partitions"],
                )
            )
    warnings = sorted(
        {w for c in cases if (w := benchlib.oversubscription(1, c.threads, machine.nproc))}
    )
    for warning in warnings:
        print(warning)
    print(
        "mode: Spark local mode on the host" + (", and the cluster runs named" if args.run else "")
    )
    folder = benchlib.result_path(BENCHMARK, started, args.results_dir).with_suffix("")
    results = [measure(case, args, folder, i) for i, case in enumerate(cases, start=1)]
    line = ratio_line(results)
    return benchlib.finish(
        BENCHMARK,
        {
            "mode": "spark local mode" + (" and cluster runs" if args.run else ""),
            "warnings": warnings,
            "target": {"ratio_at_most": TARGET, "rows": TARGET_ROWS},
            "results": results,
            "summary": line,
        },
        machine,
        started=started,
        results_dir=args.results_dir,
    )


if __name__ == "__main__":
    raise SystemExit(benchlib.run(main, "kmeans_iteration"))
