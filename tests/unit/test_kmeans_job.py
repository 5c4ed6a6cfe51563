"""The K-Means job and the Parquet conversion, run by Spark in local mode on generated data."""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from pyspark.sql import SparkSession
from sklearn.cluster import KMeans as SklearnKMeans

from sparksweep import data
from sparksweep.job import kmeans, prepare, runrecord

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "sparksweep" / "schemas" / "run.schema.json").read_text())
SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
ROWS = 20_000
FINGERPRINT = "sha256:" + "ab" * 32


def job_args(data_path: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--data",
        str(data_path),
        "--out",
        str(out),
        "--sweep-id",
        "test-sweep",
        "--run-id",
        "w1-r1",
        "--workers",
        "1",
        "--cores-per-worker",
        "2",
        "--executor-memory",
        "1g",
        "--partitions",
        "4",
        "--dataset-source",
        "synthetic",
        "--dataset-fingerprint",
        FINGERPRINT,
        *extra,
    ]


def assert_valid(record: dict) -> None:
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(record)
    started = datetime.datetime.fromisoformat(record["started_at"])
    assert started.utcoffset() == datetime.timedelta(0)


@pytest.fixture(scope="module")
def python_env() -> Iterator[dict[str, str]]:
    """Spark's Python workers and spark-submit's driver run this interpreter, the venv's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        patch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        yield dict(os.environ)


@pytest.fixture(scope="module")
def spark(python_env: dict[str, str]) -> Iterator[SparkSession]:
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        pytest.skip("needs Java 17")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("sparksweep-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def susy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return data.generate(tmp_path_factory.mktemp("csv") / "synthetic.csv", ROWS, seed=11)


@pytest.fixture(scope="module")
def parquet(spark: SparkSession, susy_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("parquet") / FINGERPRINT.removeprefix("sha256:")
    prepare.convert(spark, str(susy_csv), str(target))
    return target


def test_the_jobs_copies_of_the_columns_match_the_package() -> None:
    assert kmeans.SUSY_COLUMNS == prepare.SUSY_COLUMNS == data.SUSY_COLUMNS


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--run-id", "run1"),
        ("--sweep-id", "a sweep"),
        ("--executor-memory", "2 GB"),
        ("--workers", "0"),
        ("--k", "1"),
        ("--tol", "-0.1"),
        ("--dataset-source", "other"),
    ],
)
def test_values_the_schema_refuses_stop_the_job_before_it_runs(
    tmp_path: Path, option: str, value: str
) -> None:
    args = job_args(tmp_path / "absent.csv", tmp_path / "run.json")
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]

    with pytest.raises(SystemExit) as exited:
        kmeans.parse_args(args)

    assert exited.value.code == 2


@pytest.mark.spark
def test_prepare_converts_once_per_fingerprint(
    spark: SparkSession, susy_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out_dir = tmp_path / "parquet"
    argv = ["--csv", str(susy_csv), "--out-dir", str(out_dir), "--fingerprint", FINGERPRINT]
    target = out_dir / FINGERPRINT.removeprefix("sha256:")

    assert prepare.main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(target)
    first = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}

    assert prepare.main(argv) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(target)
    assert {p.name: p.stat().st_mtime_ns for p in target.iterdir()} == first
    assert [p.name for p in out_dir.iterdir()] == [target.name]

    table = spark.read.parquet(str(target))
    assert table.columns == kmeans.SUSY_COLUMNS
    assert table.count() == ROWS
    assert {kind for _, kind in table.dtypes} == {"double"}

    changed = "sha256:" + "cd" * 32
    assert prepare.main([*argv[:-1], changed]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([target.name, "cd" * 32])


def spark_initial_centers(
    spark: SparkSession, features: kmeans.Features, args: argparse.Namespace
) -> np.ndarray:
    """The centers the fit starts from, from the initializer it calls itself.

    pyspark.ml's KMeans takes no initial model, so the test asks Spark for its starting
    centers instead. The job's row solver is MLlib's KMeans, and both of ml.clustering's
    solvers start from an mllib KMeans with the same parameters: the block solver calls its
    initialize() on the features column as an RDD of mllib vectors, the row solver runs the
    same initialisation on the same rows. This does the same on the same persisted rows.
    """
    initializer = (
        spark.sparkContext._jvm.org.apache.spark.mllib.clustering.KMeans()
        .setK(args.k)
        .setInitializationMode(args.init_mode)
        .setMaxIterations(args.max_iter)
        .setSeed(args.seed)
        .setEpsilon(args.tol)
        .setDistanceMeasure("euclidean")
    )
    centers = initializer.initialize(features.mllib_vectors())
    return np.array([list(center.toArray()) for center in centers])


@pytest.mark.spark
@pytest.mark.parametrize("solver", ["block", "row"])
def test_cost_matches_scikit_learn_from_the_same_initial_centers(
    spark: SparkSession, parquet: Path, susy_csv: Path, tmp_path: Path, solver: str
) -> None:
    args = kmeans.parse_args(job_args(parquet, tmp_path / "unused.json", "--solver", solver))
    features, rows = kmeans.load_features(spark, str(parquet), args.partitions, solver)
    try:
        fitted = kmeans.fit(features, args)
        initial = spark_initial_centers(spark, features, args)
    finally:
        features.unpersist()
    points = np.loadtxt(susy_csv, delimiter=",")[:, 1:]
    iterations = fitted.iterations

    assert rows == ROWS
    assert 2 <= iterations <= args.max_iter
    # Random initialisation picks k distinct rows of the data.
    assert all((points == center).all(axis=1).any() for center in initial)
    # Spark reports the cost of the assignment step of its last iteration, made with the
    # centers from the iteration before; scikit-learn's inertia_ is the cost of its final
    # centers. So: the same number of Lloyd steps minus one gives Spark's cost, and the same
    # number gives Spark's final centers.
    before_last = SklearnKMeans(
        args.k, init=initial, n_init=1, max_iter=iterations - 1, tol=0, algorithm="lloyd"
    ).fit(points)
    last = SklearnKMeans(
        args.k, init=initial, n_init=1, max_iter=iterations, tol=0, algorithm="lloyd"
    ).fit(points)

    assert fitted.cost == pytest.approx(before_last.inertia_, rel=1e-6)
    np.testing.assert_allclose(np.array(fitted.centers), last.cluster_centers_, rtol=0, atol=1e-9)


@pytest.mark.spark
def test_job_on_csv_writes_an_ok_record(
    spark: SparkSession, susy_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results" / "runs" / "w1-r1.json"

    assert kmeans.main(job_args(susy_csv, out, "--dataset-rows", str(ROWS))) == 0

    record = json.loads(out.read_text())
    assert_valid(record)
    assert record["status"] == "ok"
    assert record["dataset"] == {
        "path": str(susy_csv),
        "format": "csv",
        "rows": ROWS,
        "fingerprint": FINGERPRINT,
        "source": "synthetic",
    }
    assert record["params"]["solver"] == "row"
    assert [p.name for p in out.parent.iterdir()] == ["w1-r1.json"]
    # Local mode: the driver is the one executor, with local[2]'s two cores.
    assert record["application_id"] == spark.sparkContext.applicationId
    (executor,) = record["executors"]
    assert executor["id"] == "driver" and executor["cores"] == 2 and executor["tasks"] > 0
    assert record["config"]["params"] == record["params"]
    assert record["config_hash"] == runrecord.config_hash(record["config"])


@pytest.mark.spark
@pytest.mark.parametrize(
    ("extra", "kind", "words"),
    [
        (
            ["--workers", "2", "--executor-wait", "1"],
            "executors_missing",
            "wanted exactly 2 executors with 2 cores each within 1 s; registered: driver",
        ),
        (["--cores-per-worker", "3", "--executor-wait", "1"], "executors_missing", "3 cores"),
        (["--conf", "spark.locality.wait=0s"], "settings", "spark.locality.wait=None"),
        (["--spark-version", "3.5.0"], "settings", "(recorded as 3.5.0)"),
    ],
)
def test_a_run_without_its_executors_or_settings_fails_before_timing(
    spark: SparkSession, susy_csv: Path, tmp_path: Path, extra: list[str], kind: str, words: str
) -> None:
    out = tmp_path / "w1-r1.json"
    args = job_args(susy_csv, out)
    for option, value in zip(extra[::2], extra[1::2], strict=True):
        if option in args and option != "--conf":
            args[args.index(option) + 1] = value
        else:
            args += [option, value]

    assert kmeans.main(args) == 1

    record = json.loads(out.read_text())
    assert_valid(record)
    assert record["error"]["kind"] == kind
    assert words in record["error"]["message"]
    assert record["timings"]["load_s"] is None


@pytest.mark.spark
def test_failures_still_write_a_failed_record(
    spark: SparkSession, susy_csv: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.json"
    wrong_rows = tmp_path / "wrong-rows.json"

    assert kmeans.main(job_args(tmp_path / "absent.csv", missing)) == 1
    assert kmeans.main(job_args(susy_csv, wrong_rows, "--dataset-rows", "5")) == 1

    for path, words in ((missing, "PATH_NOT_FOUND"), (wrong_rows, "expected 5")):
        record = json.loads(path.read_text())
        assert_valid(record)
        assert record["status"] == "failed"
        assert record["error"]["kind"] == "exception"
        assert words in record["error"]["message"]
        assert len(record["error"]["message"]) <= runrecord.MESSAGE_CHARS
        assert record["timings"]["fit_s"] is None
        assert record["timings"]["total_s"] >= 0


def stages_by_group(event_log: Path) -> dict[str | None, list[dict]]:
    """Completed stages, keyed by the job group of the job that ran them."""
    group_of_stage: dict[int, str | None] = {}
    completed: list[dict] = []
    for line in event_log.read_text().splitlines():
        event = json.loads(line)
        if event["Event"] == "SparkListenerJobStart":
            group = event.get("Properties", {}).get("spark.jobGroup.id")
            for stage in event["Stage IDs"]:
                group_of_stage[stage] = group
        elif event["Event"] == "SparkListenerStageCompleted":
            completed.append(event["Stage Info"])
    by_group: dict[str | None, list[dict]] = {}
    for info in completed:
        by_group.setdefault(group_of_stage.get(info["Stage ID"]), []).append(info)
    return by_group


def check_anatomy_against_the_event_log(record: dict, event_log: Path) -> None:
    """The run's anatomy tiles its fit, and its iterations are Spark's own iteration jobs."""
    phases = record["anatomy"]["phases"]
    fit_phases = [phases[name]["wall_s"] for name in ("caching", "init", "iterations", "summary")]
    assert sum(fit_phases) == pytest.approx(record["timings"]["fit_s"], rel=0.05)
    iterations = phases["iterations"]
    assert iterations["jobs"] == record["iterations"] == len(iterations["per_iteration_s"])
    starts: dict[int, int] = {}
    durations: list[float] = []
    for line in event_log.read_text().splitlines():
        event = json.loads(line)
        if event["Event"] == "SparkListenerJobStart":
            names = [stage["Stage Name"] for stage in event["Stage Infos"]]
            if any(name.startswith("collectAsMap at KMeans.scala") for name in names):
                starts[event["Job ID"]] = event["Submission Time"]
        elif event["Event"] == "SparkListenerJobEnd" and event["Job ID"] in starts:
            durations.append((event["Completion Time"] - starts[event["Job ID"]]) / 1e3)
    assert len(durations) == record["iterations"]
    # Each iteration's wall time holds its job and the driver's time before it.
    for wall, job in zip(iterations["per_iteration_s"], durations, strict=True):
        assert job <= wall + 0.01
    assert iterations["tasks"] == record["iterations"] * 2 * record["partitions"]
    assert 0 < record["anatomy"]["executor_cpu_ratio"] <= 1.05


def reads_input(stage: dict) -> bool:
    """A stage that scans a file runs a FileScanRDD (scope "Scan parquet", "Scan csv")."""
    return any(
        rdd["Name"] == "FileScanRDD" or '"name":"Scan ' in rdd.get("Scope", "")
        for rdd in stage["RDD Info"]
    )


def shuffle_bytes_read(stage: dict) -> int:
    return sum(
        int(item["Value"])
        for item in stage["Accumulables"]
        if item["Name"]
        in (
            "internal.metrics.shuffle.read.localBytesRead",
            "internal.metrics.shuffle.read.remoteBytesRead",
        )
    )


@pytest.mark.spark
@pytest.mark.parametrize("solver", ["block", "row"])
def test_spark_submit_run_fits_without_reading_the_input(
    python_env: dict[str, str], parquet: Path, tmp_path: Path, solver: str
) -> None:
    if not SPARK_SUBMIT.is_file():
        pytest.skip(f"no spark-submit at {SPARK_SUBMIT}")
    events = tmp_path / "events"
    events.mkdir()
    out = tmp_path / "w1-r1.json"
    command = [
        str(SPARK_SUBMIT),
        "--master",
        "local[2]",
        "--conf",
        # The UI's REST API is where the job reads its anatomy; any free port.
        "spark.ui.port=0",
        "--conf",
        "spark.eventLog.enabled=true",
        "--conf",
        f"spark.eventLog.dir={events.as_uri()}",
        "--conf",
        "spark.eventLog.compress=false",
        "--conf",
        "spark.eventLog.rolling.enabled=false",
        str(REPO / "sparksweep" / "job" / "kmeans.py"),
        *job_args(parquet, out, "--solver", solver),
    ]

    finished = subprocess.run(command, env=python_env, capture_output=True, text=True, timeout=300)

    assert finished.returncode == 0, finished.stderr[-3000:]
    record = json.loads(out.read_text())
    assert_valid(record)
    assert record["status"] == "ok"
    assert record["dataset"]["format"] == "parquet"
    assert record["dataset"]["rows"] == ROWS
    timings = record["timings"]
    assert timings["iteration_s"] * record["iterations"] == pytest.approx(timings["fit_s"])
    assert timings["total_s"] >= timings["session_s"] + timings["load_s"] + timings["fit_s"]

    (event_log,) = events.iterdir()
    assert record["event_log"] == f"events/{event_log.name}"
    assert event_log.name == f"w1-r1_{record['application_id']}"
    check_anatomy_against_the_event_log(record, event_log)
    stages = stages_by_group(event_log)
    load, fit = stages[kmeans.LOAD_GROUP], stages[kmeans.FIT_GROUP]
    # The load phase scans the input, which shows that the check can see a scan.
    assert any(reads_input(stage) for stage in load)
    assert fit
    assert [stage["Stage Name"] for stage in fit if reads_input(stage)] == []
    # Nor does the fit recompute the features from the load's repartition shuffle: stages
    # that have it in their lineage read the cached features instead.
    repartition = {
        rdd["RDD ID"]
        for stage in load
        for rdd in stage["RDD Info"]
        if rdd["Name"] == "ShuffledRowRDD"
    }
    over_features = [
        stage for stage in fit if repartition & {rdd["RDD ID"] for rdd in stage["RDD Info"]}
    ]
    assert over_features
    assert [shuffle_bytes_read(stage) for stage in over_features] == [0] * len(over_features)


def test_a_record_that_cannot_be_written_is_printed_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk at the end of a run: the measured record goes to the output, exit 4."""
    from sparksweep.job import kmeans, runrecord

    def measured(args, record, started) -> None:
        record.update(status="ok", iterations=3, cost=1.0)

    monkeypatch.setattr(kmeans, "run", measured)
    blocker = tmp_path / "runs"
    blocker.write_text("not a folder")
    argv = [
        *("--data", str(tmp_path / "parquet"), "--cores-per-worker", "1"),
        *("--executor-memory", "1g", "--driver-memory", "1g"),
        *("--dataset-source", "synthetic", "--dataset-fingerprint", "sha256:" + "0" * 64),
        *("--out", str(blocker / "w1-r1.json"), "--sweep-id", "s", "--run-id", "w1-r1"),
        *("--workers", "1"),
    ]
    assert kmeans.main(argv) == kmeans.RECORD_NOT_WRITTEN
    out = capsys.readouterr()
    printed = runrecord.printed_record(out.out)
    assert printed is not None and printed["status"] == "ok"
    assert runrecord.printed_record(out.err) == printed


def test_spark_s_own_jvm_options_before_the_recorded_ones_are_the_recorded_setting() -> None:
    from sparksweep.job.kmeans import _runs_with

    key = "spark.executor.extraJavaOptions"
    spark_4 = "-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED"
    assert _runs_with(key, f"{spark_4} -XX:+AlwaysPreTouch -Xms2g", "-XX:+AlwaysPreTouch -Xms2g")
    assert _runs_with(key, "-Xms2g", "-Xms2g")
    assert not _runs_with(key, f"{spark_4} -Xms1g", "-Xms2g")
    assert not _runs_with(key, None, "-Xms2g")
    # Anywhere else the value must be the recorded one exactly.
    assert not _runs_with("spark.executor.memory", "x 2g", "2g")
