"""Time one PySpark MLlib K-Means fit on SUSY-shaped data and write its metrics JSON.

Run by spark-submit (client mode, from the master container, or with --master local[2] on a
host). It is shipped as a single file, so it imports only pyspark and the standard library.
The JSON follows sparksweep/schemas/run.schema.json and is written for every run: with status
"failed" and the error when anything goes wrong after the arguments are parsed.

Phases, timed apart: session (SparkSession start), load (read, assemble the 18 features,
repartition, persist, and materialise them with a count), fit (KMeans.fit only).
"""

import argparse
import datetime
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from pyspark import StorageLevel
from pyspark.ml.clustering import KMeans, KMeansModel
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.functions import col
from pyspark.sql.types import DoubleType, StructField, StructType

SCHEMA_VERSION = 1
# SUSY's column order; sparksweep.data.SUSY_COLUMNS holds the same list (this file cannot
# import sparksweep).
SUSY_COLUMNS = [
    "label",
    "lepton_1_pt",
    "lepton_1_eta",
    "lepton_1_phi",
    "lepton_2_pt",
    "lepton_2_eta",
    "lepton_2_phi",
    "missing_energy_magnitude",
    "missing_energy_phi",
    "met_rel",
    "axial_met",
    "m_r",
    "m_tr_2",
    "r",
    "mt2",
    "s_r",
    "m_delta_r",
    "dphi_r_b",
    "cos_theta_r1",
]
FEATURE_COLUMNS = SUSY_COLUMNS[1:]
SUSY_SCHEMA = StructType([StructField(name, DoubleType(), nullable=False) for name in SUSY_COLUMNS])
# Job groups tag the Spark jobs of each phase in the UI and the event log.
LOAD_GROUP = "sparksweep-load"
FIT_GROUP = "sparksweep-fit"
MESSAGE_CHARS = 2000
# 137 is 128 + SIGKILL, what the kernel's OOM killer sends; standalone mode reports it as
# "Command exited with code 137".
# 52 is Spark's own exit code for an executor that hit OutOfMemoryError; 137 is a SIGKILL,
# which in a container with a memory limit is the kernel's OOM killer.
_OOM = re.compile(
    r"OutOfMemoryError|Java heap space|exit(?:ed with)? code (?:52|137)\b|Container killed"
)
_EXECUTOR_LOST = re.compile(r"ExecutorLostFailure|executor lost|lost executor", re.I)


def _pattern(regex: str, what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not re.fullmatch(regex, value):
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
        return value

    return check


def _at_least(minimum: int) -> Callable[[str], int]:
    def check(value: str) -> int:
        number = int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return number

    return check


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a number >= 0")
    return number


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="Parquet folder from prepare.py, or a CSV")
    parser.add_argument("--out", required=True, help="metrics JSON to write")
    parser.add_argument(
        "--sweep-id", required=True, type=_pattern(r"[A-Za-z0-9._-]+", "a sweep id")
    )
    parser.add_argument(
        "--run-id", required=True, type=_pattern(r"w[0-9]+-r[0-9]+", "a run id like w2-r1")
    )
    parser.add_argument("--workers", required=True, type=_at_least(1))
    parser.add_argument("--cores-per-worker", required=True, type=_at_least(1))
    parser.add_argument(
        "--executor-memory",
        required=True,
        type=_pattern(r"[0-9]+[kKmMgGtT]?", "a Spark memory size like 2g"),
        help="recorded as given; Spark itself takes it from --conf spark.executor.memory",
    )
    parser.add_argument("--partitions", type=_at_least(1), default=16)
    parser.add_argument("--k", type=_at_least(2), default=10)
    parser.add_argument("--max-iter", type=_at_least(1), default=20)
    parser.add_argument("--tol", type=_non_negative_float, default=1e-4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--init-mode", choices=["random", "k-means||"], default="random")
    parser.add_argument(
        "--solver",
        choices=["auto", "row", "block"],
        default="row",
        help="row (default): the fastest fit measured in local mode; see the README",
    )
    parser.add_argument("--dataset-source", required=True, choices=["susy", "synthetic"])
    parser.add_argument("--dataset-fingerprint", required=True)
    parser.add_argument(
        "--dataset-rows",
        type=_at_least(0),
        help="expected row count: the run fails when the data holds another number",
    )
    return parser.parse_args(argv)


def data_format(path: str) -> str:
    """prepare.py writes Parquet folders; anything else is read as SUSY CSV."""
    return "parquet" if os.path.isdir(path) else "csv"


def load_features(spark: SparkSession, path: str, partitions: int) -> tuple[DataFrame, int]:
    """Read the data once, assemble the features, persist them and return (features, rows).

    Persisted and counted here, the features are computed once: without it every pass of
    KMeans.fit would re-read, re-assemble and re-shuffle the input.
    """
    if data_format(path) == "parquet":
        table = spark.read.parquet(path)
    else:
        # FAILFAST: a malformed row ends the run instead of turning into nulls.
        table = spark.read.csv(path, schema=SUSY_SCHEMA, header=False, mode="FAILFAST")
    assembler = VectorAssembler(inputCols=FEATURE_COLUMNS, outputCol="features")
    features = (
        assembler.transform(table)
        .select("features")
        .repartition(partitions)
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    return features, features.count()


def fit(features: DataFrame, args: argparse.Namespace) -> KMeansModel:
    if args.solver != "block":
        # The row solver (which "auto" also picks for these dense vectors in Spark 4.0.1)
        # caches its own vectors only when its input is not cached; over the cached features
        # it would rebuild every vector on every iteration (0.54 instead of 0.23 s/iteration
        # on 1M rows, local[2]). A projection is not itself cached, so MLlib caches its
        # vectors, built once from the cached features, not from the input file.
        features = features.select(col("features").alias("features"))
    kmeans = KMeans(
        featuresCol="features",
        k=args.k,
        maxIter=args.max_iter,
        tol=args.tol,
        seed=args.seed,
        initMode=args.init_mode,
        solver=args.solver,
    )
    return kmeans.fit(features)


def error_kind(text: str) -> str:
    """Classify a failure from its full text; memory first, as a killed executor is also lost."""
    if _OOM.search(text):
        return "oom"
    if _EXECUTOR_LOST.search(text):
        return "executor_lost"
    return "exception"


def write_json(path: str, record: dict[str, Any]) -> None:
    """Write atomically: readers see the old file or the whole new one, never a part."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # Not tempfile.mkstemp: its 0600 mode would hide the results from users outside the
    # container.
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as stream:
            json.dump(record, stream, indent=2)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def new_record(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "sweep_id": args.sweep_id,
        "run_id": args.run_id,
        "workers": args.workers,
        "cores_per_worker": args.cores_per_worker,
        "executor_memory": args.executor_memory,
        "partitions": args.partitions,
        "dataset": {
            "path": args.data,
            "format": data_format(args.data),
            "rows": args.dataset_rows,
            "fingerprint": args.dataset_fingerprint,
            "source": args.dataset_source,
        },
        "params": {
            "k": args.k,
            "max_iter": args.max_iter,
            "tol": args.tol,
            "seed": args.seed,
            "init_mode": args.init_mode,
            "solver": args.solver,
        },
        "iterations": None,
        "cost": None,
        "timings": {
            "session_s": None,
            "load_s": None,
            "fit_s": None,
            "iteration_s": None,
            "total_s": None,
        },
        "spark_version": None,
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "host": {
            "cpus": os.cpu_count() or 1,
            "mem_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        },
        "status": "failed",
        "error": None,
    }


def lost_executors(spark: SparkSession) -> list[str]:
    """Executors this application lost, each with the reason Spark recorded."""
    try:
        summaries = spark.sparkContext._jsc.sc().statusStore().executorList(False)
        lost = []
        for index in range(summaries.size()):
            summary = summaries.apply(index)
            reason = summary.removeReason()
            if reason.isDefined():
                lost.append(f"{summary.id()}: {reason.get()}")
        return lost
    except Exception:
        # Diagnostics must never hide the failure being diagnosed.
        return []


def run(args: argparse.Namespace, record: dict[str, Any], started: float) -> None:
    """Fill `record` phase by phase, so a failure keeps what was measured before it."""
    timings = record["timings"]
    # A session that already exists (a test's, or a notebook's) is used and left running.
    owned = SparkSession.getActiveSession() is None
    spark = SparkSession.builder.appName(f"sparksweep {args.sweep_id} {args.run_id}").getOrCreate()
    timings["session_s"] = time.perf_counter() - started
    record["spark_version"] = spark.version
    features = None
    try:
        context = spark.sparkContext
        context.setJobGroup(LOAD_GROUP, "read, assemble, repartition and cache the features")
        phase = time.perf_counter()
        features, rows = load_features(spark, args.data, args.partitions)
        timings["load_s"] = time.perf_counter() - phase
        if args.dataset_rows is not None and rows != args.dataset_rows:
            raise ValueError(f"{args.data} holds {rows} rows, expected {args.dataset_rows}")
        record["dataset"]["rows"] = rows

        context.setJobGroup(FIT_GROUP, f"KMeans.fit k={args.k} solver={args.solver}")
        phase = time.perf_counter()
        model = fit(features, args)
        timings["fit_s"] = time.perf_counter() - phase

        summary = model.summary
        record["iterations"] = summary.numIter
        record["cost"] = summary.trainingCost
        timings["iteration_s"] = timings["fit_s"] / summary.numIter
        timings["total_s"] = time.perf_counter() - started
        record["status"] = "ok"
    except Exception as exc:
        # The exception the driver raises often names only the last symptom (a missing
        # shuffle output); why the executors went away is in Spark's status store.
        lost = lost_executors(spark)
        if lost:
            exc.add_note("executors lost: " + "; ".join(lost))
        raise
    finally:
        if features is not None:
            features.unpersist()
        if owned:
            spark.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    record = new_record(args)
    try:
        run(args, record, started)
    except (Exception, KeyboardInterrupt) as exc:
        text = "".join(traceback.format_exception(exc))
        record["status"] = "failed"
        record["error"] = {
            "kind": "interrupted" if isinstance(exc, KeyboardInterrupt) else error_kind(text),
            # Spark's reason for lost executors first: the exception's own text is long.
            "message": "\n".join([*getattr(exc, "__notes__", []), f"{type(exc).__name__}: {exc}"])[
                :MESSAGE_CHARS
            ],
        }
        record["timings"]["total_s"] = time.perf_counter() - started
        print(text, file=sys.stderr)
    write_json(args.out, record)
    return 0 if record["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
