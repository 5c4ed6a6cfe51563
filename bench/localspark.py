"""Spark local mode on the host for the benchmarks: the data sets as data/ holds them, and
the job run by spark-submit exactly as the spark_job role submits it, with local[T] instead
of the cluster's master.

Needs pyspark (its spark-submit beside this interpreter) and Java 17 on the host.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import REPO_ROOT, BenchError

from sparksweep import data, settings

JOB_DIR = REPO_ROOT / "sparksweep" / "job"
DATA_DIR = REPO_ROOT / "data"
# The product's synthetic sets are drawn from seed 0 (spark_job_data_seed).
DATA_SEED = 0
# Where the containers see data/; a run JSON's dataset.path starts with it.
CONTAINER_DATA_DIR = "/workspace/data"
_JOB_TIMEOUT_S = 3600


@dataclass(frozen=True)
class Dataset:
    csv: Path
    fingerprint: str
    parquet: Path
    rows: int


def add_local_arguments(parser: argparse.ArgumentParser) -> None:
    """--memory and --data-dir of the benchmarks that run Spark in local mode on the host."""
    parser.add_argument(
        "--memory",
        default=settings.worker_memory(),
        help="the local Spark driver's memory (default: a worker's, %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DATA_DIR,
        help="where the data sets and their Parquet caches are (default: data/)",
    )


def spark_submit() -> Path:
    """The spark-submit of the pyspark installed beside this interpreter."""
    path = Path(sys.executable).parent / "spark-submit"
    if not path.is_file():
        raise BenchError(
            f"no spark-submit at {path}: install pyspark into this interpreter's environment "
            "(make setup), or run the benchmark with .venv/bin/python"
        )
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        raise BenchError("Spark local mode needs Java 17: install it or set JAVA_HOME")
    return path


def python_env() -> dict[str, str]:
    """Spark's Python workers and the driver run this interpreter, the venv's."""
    env = dict(os.environ)
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    return env


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def _count_lines(csv: Path) -> int:
    opener = gzip.open if csv.name.endswith(".gz") else open
    with opener(csv, "rb") as stream:
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))


def dataset(rows: int | None, *, data_dir: Path = DATA_DIR, csv: Path | None = None) -> Dataset:
    """A SUSY CSV and its Parquet cache, as the sweep keeps them in data/.

    Without `csv`, the synthetic set of `rows` rows (data/synthetic-<rows>-s0.csv.gz), generated
    when missing. The Parquet cache is data/parquet/<sha256 of the CSV>/, converted when
    missing by the job's own prepare.py in local mode, as the sweep converts it in a container.
    """
    if csv is None:
        if rows is None:
            raise BenchError("name a CSV or a row count")
        csv = data_dir / data.synthetic_name(rows, DATA_SEED)
        if not csv.is_file():
            print(f"generating {csv} ({rows} rows, seed {DATA_SEED}) ...", flush=True)
            data.generate(csv, rows, seed=DATA_SEED)
    elif not csv.is_file():
        raise BenchError(f"{csv} does not exist")
    fingerprint = sha256_of(csv)
    parquet = data_dir / "parquet" / fingerprint.removeprefix("sha256:")
    if not parquet.is_dir():
        print(f"converting {csv.name} to Parquet in {parquet} ...", flush=True)
        command = [
            str(spark_submit()),
            "--master",
            "local[*]",
            "--conf",
            "spark.driver.memory=2g",
            "--conf",
            "spark.ui.enabled=false",
            str(JOB_DIR / "prepare.py"),
            f"--csv={csv}",
            f"--out-dir={parquet.parent}",
            f"--fingerprint={fingerprint}",
        ]
        finished = subprocess.run(command, env=python_env(), capture_output=True, text=True)
        if finished.returncode != 0 or not parquet.is_dir():
            raise BenchError(f"prepare.py failed: {finished.stderr.strip()[-1500:]}")
    return Dataset(
        csv=csv, fingerprint=fingerprint, parquet=parquet, rows=rows or _count_lines(csv)
    )


def host_data_path(container_path: str, data_dir: Path = DATA_DIR) -> Path:
    """The host's path of a data set a run JSON names by its path inside the containers."""
    if container_path == CONTAINER_DATA_DIR or container_path.startswith(CONTAINER_DATA_DIR + "/"):
        return data_dir / container_path.removeprefix(CONTAINER_DATA_DIR).lstrip("/")
    return Path(container_path)


def load_confs(partitions: int) -> dict[str, str]:
    """The spark_job role's settings that decide which rows each partition of the load holds:
    the input splits and the round-robin repartition (without its local sort)."""
    return {
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.default.parallelism": str(partitions),
        "spark.sql.execution.sortBeforeRepartition": "false",
    }


def job_argv(
    data_path: Path,
    out: Path,
    *,
    threads: int,
    memory: str,
    fingerprint: str,
    rows: int,
    sweep_id: str,
    run_id: str,
    params: dict[str, Any] | None = None,
    partitions: int = 16,
    source: str = "synthetic",
) -> list[str]:
    """spark-submit's command line for kmeans.py in local mode, with the sweep's settings.

    The confs are the spark_job role's minus the cluster's (executor cores and memory,
    cores.max); the UI is on (any free port), as the anatomy reads its REST API, and the
    event log goes to events/ beside the runs/ folder of `out`.
    """
    events = out.parent.parent / "events"
    events.mkdir(parents=True, exist_ok=True)
    confs = {
        "spark.driver.memory": memory,
        **load_confs(partitions),
        # Kept beside runs/, as the sweep keeps it; uncompressed, for the standard library.
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": events.resolve().as_uri(),
        "spark.eventLog.compress": "false",
        "spark.eventLog.rolling.enabled": "false",
        "spark.ui.port": "0",
        "spark.ui.showConsoleProgress": "false",
    }
    argv = [str(spark_submit()), "--master", f"local[{threads}]"]
    for key, value in confs.items():
        argv += ["--conf", f"{key}={value}"]
    argv += [
        str(JOB_DIR / "kmeans.py"),
        "--data",
        str(data_path),
        "--out",
        str(out),
        "--sweep-id",
        sweep_id,
        "--run-id",
        run_id,
        "--workers",
        "1",
        # Local mode: the driver is the one executor, with local[T]'s T cores.
        "--cores-per-worker",
        str(threads),
        "--executor-memory",
        settings.worker_memory(),
        "--driver-memory",
        memory,
        "--partitions",
        str(partitions),
        "--dataset-source",
        source,
        "--dataset-fingerprint",
        fingerprint,
        "--dataset-rows",
        str(rows),
    ]
    for key, value in (params or {}).items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return argv


def run_job(argv: list[str], out: Path) -> dict[str, Any]:
    """Run the job and return its ok run record; BenchError with its error otherwise."""
    started = time.perf_counter()
    finished = subprocess.run(
        argv, env=python_env(), capture_output=True, text=True, timeout=_JOB_TIMEOUT_S
    )
    try:
        record = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BenchError(
            f"the job wrote no record (exit {finished.returncode} after "
            f"{time.perf_counter() - started:.0f} s): {finished.stderr.strip()[-1500:]}"
        ) from None
    # The driver's Python prints to either stream.
    for line in (finished.stdout + finished.stderr).splitlines():
        # The job's own notes on what it could not record (its anatomy, its event log).
        if line.startswith(("anatomy not recorded", "event log not kept")):
            print(f"  job: {line}", flush=True)
    if record.get("status") != "ok":
        error = record.get("error") or {}
        raise BenchError(f"the job failed ({error.get('kind')}): {error.get('message')}")
    return record


def event_log_anatomy(record: dict[str, Any], sweep_dir: Path) -> dict[str, Any] | None:
    """The run's fit phases from its Spark event log, when the run has no anatomy.

    The job reads its anatomy from the driver's REST API, which can time out on a busy host;
    the event log holds the same jobs. Only the jobs' times are used (the phases' wall times
    and each iteration's), through anatomy.split, the anatomy's own code.
    """
    from sparksweep.job import anatomy, kmeans

    if not record.get("event_log"):
        return None
    jobs: dict[int, dict[str, Any]] = {}
    with (sweep_dir / record["event_log"]).open(encoding="utf-8") as stream:
        for line in stream:
            event = json.loads(line)
            if event["Event"] == "SparkListenerJobStart":
                last = max(event["Stage Infos"], key=lambda info: info["Stage ID"])
                jobs[event["Job ID"]] = {
                    "jobId": event["Job ID"],
                    "jobGroup": (event.get("Properties") or {}).get("spark.jobGroup.id"),
                    "name": last["Stage Name"],
                    "start": event["Submission Time"] / 1e3,
                    "stageIds": event["Stage IDs"],
                }
            elif event["Event"] == "SparkListenerJobEnd" and event["Job ID"] in jobs:
                jobs[event["Job ID"]]["end"] = event["Completion Time"] / 1e3
    ended = [job for job in jobs.values() if "end" in job]
    fit = [job for job in ended if job["jobGroup"] == kmeans.FIT_GROUP]
    if not fit:
        return None
    start = min(job["start"] for job in fit)
    end = max(job["end"] for job in fit)
    return anatomy.split(ended, {}, kmeans.LOAD_GROUP, kmeans.FIT_GROUP, start, end)
