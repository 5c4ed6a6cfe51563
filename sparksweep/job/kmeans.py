"""Time one PySpark MLlib K-Means fit on SUSY-shaped data and write its metrics JSON.

Run by spark-submit (client mode, from the master container, or with --master local[2] on a
host). It imports only pyspark, the standard library and runrecord.py beside it, which owns
the run JSON (sparksweep/schemas/run.schema.json). A record is written for every run: with
status "failed" and the error when anything goes wrong after the arguments are parsed.

Before anything is timed the run proves its resources: Spark runs with the settings the
record names, and exactly `workers` executors with the expected cores have registered.
After the fit it checks that none was lost or added meanwhile.

Phases, timed apart: session (SparkSession start), executors (the wait for them), load
(read, assemble the 18 features, repartition, turn them into the vectors the solver reads,
persist, and materialise them with a count), fit (the K-Means fit only).
"""

import argparse
import json
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

from pyspark import SparkContext, StorageLevel
from pyspark.ml.clustering import KMeans
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.functions import col
from pyspark.sql.types import DoubleType, StructField, StructType

try:
    from sparksweep.job import anatomy, runrecord
    from sparksweep.job.susy import FEATURE_COLUMNS, SUSY_COLUMNS
except ImportError:
    # spark-submit runs this file from /workspace/src, where its modules sit beside it and
    # there is no sparksweep package.
    import anatomy  # type: ignore[no-redef]
    import runrecord  # type: ignore[no-redef]
    from susy import FEATURE_COLUMNS, SUSY_COLUMNS  # type: ignore[no-redef]

SUSY_SCHEMA = StructType([StructField(name, DoubleType(), nullable=False) for name in SUSY_COLUMNS])
# Job groups tag the Spark jobs of each phase in the UI and the event log.
LOAD_GROUP = "sparksweep-load"
FIT_GROUP = "sparksweep-fit"
# Whoever registered with the master in the last second may not be listed yet; a short
# poll keeps the executor wait cheap.
_POLL_S = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return runrecord.job_parser(__doc__.splitlines()[0]).parse_args(argv)


@dataclass
class Features:
    """The loaded features, persisted and counted, in the form the solver's fit reads.

    For the row solver, an RDD of MLlib vectors in the JVM (`vectors`): the form MLlib's
    K-Means itself iterates over, so the conversion from rows to vectors is done once, here,
    and the fit reads it from the cache. For the block and auto solvers, which build their
    own input from a DataFrame, the assembled DataFrame (`frame`).
    """

    frame: DataFrame | None = None
    vectors: Any = None

    def mllib_vectors(self) -> Any:
        """The features as a JVM RDD of MLlib vectors, the input of MLlib's initializer."""
        if self.vectors is not None:
            return self.vectors
        assert self.frame is not None
        jvm = self.frame.sparkSession.sparkContext._jvm
        return jvm.org.apache.spark.ml.util.DatasetUtils.columnToOldVector(
            self.frame._jdf, "features"
        )

    def unpersist(self) -> None:
        if self.vectors is not None:
            self.vectors.unpersist(False)
        if self.frame is not None:
            self.frame.unpersist()


@dataclass(frozen=True)
class Fitted:
    """What the job keeps of a fit: the training cost, the iterations and the centers."""

    cost: float
    iterations: int
    centers: list[list[float]]


def load_features(
    spark: SparkSession, path: str, partitions: int, solver: str = "row"
) -> tuple[Features, int]:
    """Read the data once, assemble the features, persist them and return (features, rows).

    Persisted and counted here, the features are computed once: without it every pass of
    the fit would re-read, re-assemble and re-shuffle the input. For the row solver they
    are persisted as MLlib's own vectors (deserialized objects), which is what its Lloyd
    iterations read: the fit then needs no caching pass of its own over them.
    """
    if runrecord.data_format(path) == "parquet":
        table = spark.read.parquet(path)
    else:
        # FAILFAST: a malformed row ends the run instead of turning into nulls.
        table = spark.read.csv(path, schema=SUSY_SCHEMA, header=False, mode="FAILFAST")
    assembler = VectorAssembler(inputCols=FEATURE_COLUMNS, outputCol="features")
    assembled = assembler.transform(table).select("features").repartition(partitions)
    if solver != "row":
        frame = assembled.persist(StorageLevel.MEMORY_AND_DISK)
        return Features(frame=frame), frame.count()
    jvm = spark.sparkContext._jvm
    vectors = jvm.org.apache.spark.ml.util.DatasetUtils.columnToOldVector(
        assembled._jdf, "features"
    )
    vectors.setName("sparksweep features (MLlib vectors)")
    vectors.persist(jvm.org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK())
    return Features(vectors=vectors), vectors.count()


def fit(features: Features, args: argparse.Namespace) -> Fitted:
    """KMeans.fit: MLlib's K-Means over the persisted vectors, or pyspark.ml's block/auto.

    pyspark.ml's KMeans with the row solver is MLlib's K-Means with weight 1 on every row,
    and the same parameters: the same algorithm, initial centers and result (checked
    against scikit-learn by a test). Called on the vectors directly, it skips what
    pyspark.ml adds around it: a caching pass that builds and caches its own copy of every
    vector (a third of fit_s at 5M rows), and a summary pass that predicts every row to
    count the cluster sizes, which the job does not record.
    """
    if features.vectors is not None:
        kmeans = (
            SparkContext._jvm.org.apache.spark.mllib.clustering.KMeans()
            .setK(args.k)
            .setMaxIterations(args.max_iter)
            .setEpsilon(args.tol)
            .setSeed(args.seed)
            .setInitializationMode(args.init_mode)
            .setDistanceMeasure("euclidean")
        )
        model = kmeans.run(features.vectors)
        return Fitted(
            cost=model.trainingCost(),
            iterations=model.numIter(),
            centers=[list(center.toArray()) for center in model.clusterCenters()],
        )
    assert features.frame is not None
    frame = features.frame
    if args.solver == "auto":
        # "auto" picks the row solver for these dense vectors in Spark 4.0.1, which caches
        # its own vectors only when its input is not cached; over the cached features it
        # would rebuild every vector on every iteration (0.54 instead of 0.23 s/iteration on
        # 1M rows, local[2]). A projection is not itself cached, so MLlib caches its
        # vectors, built once from the cached features, not from the input file.
        frame = frame.select(col("features").alias("features"))
    kmeans = KMeans(
        featuresCol="features",
        k=args.k,
        maxIter=args.max_iter,
        tol=args.tol,
        seed=args.seed,
        initMode=args.init_mode,
        solver=args.solver,
    )
    model = kmeans.fit(frame)
    return Fitted(
        cost=model.summary.trainingCost,
        iterations=model.summary.numIter,
        centers=[[float(x) for x in center] for center in model.clusterCenters()],
    )


def executor_list(spark: SparkSession) -> list[dict[str, Any]]:
    """Every executor Spark's status store knows for this application, the dead ones too.

    On a cluster the driver is not an executor; in local mode it is the only one.
    """
    summaries = spark.sparkContext._jsc.sc().statusStore().executorList(False)
    local = spark.sparkContext.master.startswith("local")
    executors = []
    for index in range(summaries.size()):
        summary = summaries.apply(index)
        if (summary.id() == "driver") != local:
            continue
        reason = summary.removeReason()
        executors.append(
            {
                "id": summary.id(),
                "host": summary.hostPort(),
                "cores": summary.totalCores(),
                "tasks": summary.totalTasks(),
                "removed": reason.get() if reason.isDefined() else None,
            }
        )
    return executors


def _named(executors: list[dict[str, Any]]) -> str:
    if not executors:
        return "none"
    return ", ".join(
        f"{e['id']} on {e['host']} with {e['cores']} cores"
        + (f" (removed: {e['removed']})" if e["removed"] else "")
        for e in executors
    )


def wait_for_executors(spark: SparkSession, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Exactly `workers` live executors, each with `cores_per_worker` cores, or RunError.

    Spark's own minRegisteredResourcesRatio lets an application start with fewer after
    its wait, and the run would carry a worker count it did not have. In local mode the
    driver is the one executor, so only --workers 1 can pass.
    """
    wanted = args.workers
    deadline = time.monotonic() + args.executor_wait
    while True:
        executors = executor_list(spark)
        live = [e for e in executors if e["removed"] is None]
        exact = len(live) == wanted and all(e["cores"] == args.cores_per_worker for e in live)
        if exact and len(executors) == len(live):
            return live
        if time.monotonic() >= deadline:
            raise runrecord.RunError(
                "executors_missing",
                f"wanted exactly {wanted} executors with {args.cores_per_worker} cores each "
                f"within {args.executor_wait:g} s; registered: {_named(executors)}",
            )
        time.sleep(_POLL_S)


def _runs_with(key: str, actual: str | None, recorded: str) -> bool:
    """Whether Spark's value of key is the recorded one.

    Spark 4 puts its own JVM options (--add-opens and the like) in front of the user's
    extraJavaOptions, so there the recorded options must end Spark's value.
    """
    if actual is None:
        return False
    if key.endswith(".extraJavaOptions"):
        return actual == recorded or actual.endswith(" " + recorded)
    return actual == recorded


def check_settings(spark: SparkSession, args: argparse.Namespace) -> None:
    """The settings the record names are the ones Spark runs with, or RunError."""
    conf = spark.sparkContext.getConf()
    expected = dict(args.confs)
    if not spark.sparkContext.master.startswith("local"):
        expected["spark.executor.cores"] = str(args.cores_per_worker)
        expected["spark.executor.memory"] = args.executor_memory
    if args.driver_memory is not None:
        expected["spark.driver.memory"] = args.driver_memory
    wrong = [
        f"{key}={conf.get(key, None)} (recorded as {value})"
        for key, value in sorted(expected.items())
        if not _runs_with(key, conf.get(key, None), value)
    ]
    if args.spark_version is not None and spark.version != args.spark_version:
        wrong.append(f"Spark {spark.version} (recorded as {args.spark_version})")
    if wrong:
        raise runrecord.RunError("settings", "Spark runs with " + "; ".join(wrong))


def check_executors_kept(
    spark: SparkSession, started_with: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The executors after the fit; RunError when any was lost or added since the start.

    Spark retries the tasks of a lost executor and the fit returns, only later: the time
    would belong to fewer executors than the run's name says.
    """
    ids = {e["id"] for e in started_with}
    executors = executor_list(spark)
    lost = [e for e in executors if e["id"] in ids and e["removed"] is not None]
    added = [e for e in executors if e["id"] not in ids]
    if lost or added:
        parts = []
        if lost:
            parts.append(f"lost {_named(lost)}")
        if added:
            parts.append(f"added {_named(added)}")
        raise runrecord.RunError(
            "executor_lost",
            "executors changed during the timed phases: " + "; ".join(parts),
        )
    return executors


def event_log_file(conf: Any, application_id: str) -> str | None:
    """Where Spark writes this application's event log (one file), or None when it does not."""
    if conf.get("spark.eventLog.enabled", "false") != "true":
        return None
    # Spark 4 rolls event logs into a folder unless told not to.
    if conf.get("spark.eventLog.rolling.enabled", "true") != "false":
        return None
    folder = conf.get("spark.eventLog.dir", "")
    if not folder.startswith("file:"):
        return None
    folder = "/" + folder.removeprefix("file:").lstrip("/")
    codec = ""
    if conf.get("spark.eventLog.compress", "false") == "true":
        codec = "." + conf.get("spark.eventLog.compression.codec", "zstd")
    return os.path.join(folder, application_id + codec)


def keep_event_log(path: str | None, run_id: str) -> str | None:
    """Name the finished event log after its run: events/<run>_<application id>[.codec].

    Relative to the sweep's folder when the log is written beside runs/, as the sweep does.
    """
    if path is None or not os.path.isfile(path):
        return None
    folder, name = os.path.split(path)
    kept = os.path.join(folder, f"{run_id}_{name}")
    os.replace(path, kept)
    return f"events/{os.path.basename(kept)}" if os.path.basename(folder) == "events" else None


def run(args: argparse.Namespace, record: dict[str, Any], started: float) -> None:
    """Fill `record` phase by phase, so a failure keeps what was measured before it."""
    timings = record["timings"]
    # A session that already exists (a test's, or a notebook's) is used and left running.
    owned = SparkSession.getActiveSession() is None
    spark = SparkSession.builder.appName(f"sparksweep {args.sweep_id} {args.run_id}").getOrCreate()
    timings["session_s"] = time.perf_counter() - started
    record["spark_version"] = spark.version
    record["application_id"] = spark.sparkContext.applicationId
    features = None
    event_log = event_log_file(spark.sparkContext.getConf(), spark.sparkContext.applicationId)
    try:
        check_settings(spark, args)
        phase = time.perf_counter()
        executors = wait_for_executors(spark, args)
        record["executors"] = executors
        timings["executors_s"] = time.perf_counter() - phase

        context = spark.sparkContext
        context.setJobGroup(LOAD_GROUP, "read, assemble, repartition and cache the features")
        phase = time.perf_counter()
        features, rows = load_features(spark, args.data, args.partitions, args.solver)
        timings["load_s"] = time.perf_counter() - phase
        if args.dataset_rows is not None and rows != args.dataset_rows:
            raise ValueError(f"{args.data} holds {rows} rows, expected {args.dataset_rows}")
        record["dataset"]["rows"] = rows

        context.setJobGroup(FIT_GROUP, f"K-Means fit k={args.k} solver={args.solver}")
        phase = time.perf_counter()
        fit_start = time.time()
        fitted = fit(features, args)
        timings["fit_s"] = time.perf_counter() - phase
        fit_end = time.time()

        record["iterations"] = fitted.iterations
        cost = fitted.cost
        if not math.isfinite(cost):
            raise runrecord.RunError("exception", f"the training cost is {cost}, not a number")
        record["cost"] = cost
        timings["iteration_s"] = timings["fit_s"] / fitted.iterations
        record["executors"] = check_executors_kept(spark, executors)
        timings["total_s"] = time.perf_counter() - started
        try:
            record["anatomy"] = anatomy.measure(
                context.uiWebUrl, context.applicationId, LOAD_GROUP, FIT_GROUP, fit_start, fit_end
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # The timings stand without it; say why it is missing.
            print(f"anatomy not recorded: {exc!r}", file=sys.stderr)
        record["status"] = "ok"
    except Exception as exc:
        # The exception the driver raises often names only the last symptom (a missing
        # shuffle output); why the executors went away is in Spark's status store.
        try:
            record["executors"] = executor_list(spark)
        except Exception as listing:
            # Diagnostics must never hide the failure being diagnosed.
            exc.add_note(f"executors unknown: {listing}")
        lost = [e for e in record["executors"] if e["removed"]]
        if lost and not isinstance(exc, runrecord.RunError):
            exc.add_note(f"executors lost: {_named(lost)}")
        raise
    finally:
        if features is not None:
            features.unpersist()
        if owned:
            # Stopping finishes the event log, which is then kept under the run's name.
            spark.stop()
            try:
                record["event_log"] = keep_event_log(event_log, args.run_id)
            except OSError as exc:
                print(f"event log not kept: {exc!r}", file=sys.stderr)


# The exit code and output prefix of a run whose record could not be written.
RECORD_NOT_WRITTEN = 4
RECORD_FALLBACK = runrecord.RECORD_FALLBACK


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    record = runrecord.new_record(args)
    try:
        run(args, record, started)
    except runrecord.RunError as exc:
        runrecord.set_error(record, exc.kind, str(exc))
        record["timings"]["total_s"] = time.perf_counter() - started
        print(f"run failed ({exc.kind}): {exc}", file=sys.stderr)
    except (Exception, KeyboardInterrupt) as exc:
        text = "".join(traceback.format_exception(exc))
        kind = "interrupted" if isinstance(exc, KeyboardInterrupt) else runrecord.error_kind(text)
        # Spark's reason for lost executors first: the exception's own text is long.
        notes = getattr(exc, "__notes__", [])
        runrecord.set_error(record, kind, "\n".join([*notes, f"{type(exc).__name__}: {exc}"]))
        record["timings"]["total_s"] = time.perf_counter() - started
        print(text, file=sys.stderr)
    try:
        runrecord.write_json(args.out, record)
    except OSError as exc:
        # A full disk must not lose a measured run silently: the record goes to the output,
        # which the role and ansible-runner keep, and the exit code says it was not written.
        line = RECORD_FALLBACK + json.dumps(record, allow_nan=False)
        print(line, flush=True)
        # On stderr too: the role hands stderr to runrecord.py failure, which then writes
        # this measured record instead of a failure record, once the disk has room.
        print(f"{line}\ncannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return RECORD_NOT_WRITTEN
    return 0 if record["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
