"""Spark event logs read into an Application: every form and codec, and every bad input."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sparksweep import eventlog, replay
from sparksweep.errors import EventLogError, SparksweepError
from sparksweep.eventlog import Application
from sparksweep.job import anatomy
from tests.eventlogs import EventLog, encode, failures, rdd, stage_info

LOAD, FIT = "sparksweep-load", "sparksweep-fit"
ITERATION = "collectAsMap at KMeans.scala:333"


def kmeans_like() -> EventLog:
    """A load job that caches 4 partitions, then a fit: a first pass, 2 iterations, summary.

    Two executors of 2 cores. Each iteration job has a map stage over the cache and a
    result stage; the second iteration's job lists the first's map stage, skipped.
    """
    log = EventLog(start=100.0, properties={"spark.locality.wait": "3s"})
    log.executor("0", 2, at=100.2)
    log.executor("1", 2, at=100.3)
    cached = rdd(7, 4, cached=True)
    load = stage_info(0, 4, name="count at NativeMethodAccessorImpl.java:0", rdds=[cached])
    log.job(0, 101.0, 103.1, [load], group=LOAD)
    log.stage(load, 101.0, 103.0)
    for index, executor in enumerate(["0", "1", "0", "1"]):
        log.task(0, index, executor, 101.0 + (index // 2), 102.0 + (index // 2))
    first = stage_info(1, 4, name="takeSample at KMeans.scala:383", rdds=[cached])
    log.job(1, 104.0, 104.6, [first], group=FIT)
    log.stage(first, 104.0, 104.5)
    for index, executor in enumerate(["0", "1", "0", "1"]):
        log.task(1, index, executor, 104.0, 104.5)
    for job_id, (map_id, start) in enumerate([(2, 105.0), (4, 106.0)], start=2):
        mapped = stage_info(map_id, 4, name="mapPartitions at KMeans.scala:290", rdds=[cached])
        result = stage_info(map_id + 1, 2, parents=[map_id], name=ITERATION)
        # Listed out of order: the job's name is that of its highest stage all the same.
        log.job(job_id, start, start + 0.8, [result, mapped], group=FIT)
        log.stage(mapped, start, start + 0.5)
        for index, executor in enumerate(["0", "1", "0", "1"]):
            log.task(map_id, index, executor, start, start + 0.5)
        log.stage(result, start + 0.5, start + 0.75)
        for index, executor in enumerate(["0", "1"]):
            log.task(map_id + 1, index, executor, start + 0.5, start + 0.7, locality="NODE_LOCAL")
    skipped = stage_info(2, 4, name="mapPartitions at KMeans.scala:290", rdds=[cached])
    summary = stage_info(6, 1, parents=[2], name="sum at KMeans.scala:400")
    log.job(4, 107.0, 107.5, [skipped, summary], group=FIT)
    log.stage(summary, 107.0, 107.4)
    log.task(6, 0, "1", 107.0, 107.3)
    log.add(107.2, {"Event": "org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd"})
    log.add(107.2, {"Event": "SparkListenerBlockUpdated", "Block Updated Info": {}})
    log.end(108.0)
    return log


def same(one: Application, other: Application) -> bool:
    fields = ("id", "name", "spark_version", "start", "end", "executors", "properties")
    return all(getattr(one, f) == getattr(other, f) for f in fields) and (
        one.jobs,
        one.stages,
    ) == (other.jobs, other.stages)


@pytest.mark.parametrize("codec", [None, "zstd", "lz4", "snappy", "lzf"])
def test_a_file_and_a_rolled_folder_in_every_codec_read_the_same(
    tmp_path: Path, codec: str | None
) -> None:
    log = kmeans_like()
    plain = eventlog.read(log.write(_folder(tmp_path, "plain")))
    one_file = eventlog.read(log.write(_folder(tmp_path, "file"), codec))
    # Eleven parts: events_10 comes after events_9, not after events_1.
    rolled = eventlog.read(log.write_rolled(_folder(tmp_path, "rolled"), 11, codec))

    assert same(one_file, plain)
    assert same(rolled, plain)


def _folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def test_zstd_reads_every_frame(tmp_path: Path) -> None:
    log = kmeans_like()
    path = tmp_path / "app.zstd"
    # A frame per 200 bytes: a hundred frames and more, as a run's log holds.
    path.write_bytes(encode(log.text(), "zstd", piece=200))

    app = eventlog.read(path)

    assert app.end == 108.0
    assert len(app.tasks) == 21


def test_the_application_and_its_executors(tmp_path: Path) -> None:
    app = eventlog.read(kmeans_like().write(tmp_path))

    assert (app.id, app.name, app.spark_version) == (
        "app-20260101000000-0000",
        "sparksweep-test",
        "4.0.1",
    )
    assert (app.start, app.end, app.duration) == (100.0, 108.0, 8.0)
    assert app.properties["spark.locality.wait"] == "3s"
    assert app.executors["1"] == eventlog.Executor("1", "worker-1", 2, 100.3, None)
    assert (app.executor_count, app.executor_cores) == (2, 2)
    assert app.task_executors == ["0", "1"]


def test_jobs_take_their_group_and_the_name_of_their_last_stage(tmp_path: Path) -> None:
    app = eventlog.read(kmeans_like().write(tmp_path))

    assert [(job.id, job.group, job.name) for job in app.jobs] == [
        (0, LOAD, "count at NativeMethodAccessorImpl.java:0"),
        (1, FIT, "takeSample at KMeans.scala:383"),
        (2, FIT, ITERATION),
        (3, FIT, ITERATION),
        (4, FIT, "sum at KMeans.scala:400"),
    ]
    assert app.jobs[4].stage_ids == (2, 6)
    assert (app.jobs[2].submitted, app.jobs[2].completed) == (105.0, 105.8)


def test_stages_that_ran_with_their_parents_rdds_and_job(tmp_path: Path) -> None:
    app = eventlog.read(kmeans_like().write(tmp_path))
    by_id = {stage.id: stage for stage in app.stages}

    # Stage 2 ran in job 2 only: job 4 skipped it.
    assert sorted(by_id) == [0, 1, 2, 3, 4, 5, 6]
    assert [stage.job_id for stage in app.stages] == [0, 1, 2, 2, 3, 3, 4]
    assert by_id[3].parent_ids == (2,)
    assert (by_id[3].submitted, by_id[3].completed, by_id[3].num_tasks) == (105.5, 105.75, 2)
    assert by_id[0].rdds == (eventlog.Rdd(7, "rdd7", 4, True, ()),)
    assert by_id[3].rdds[0].cached is False
    assert all(stage.succeeded for stage in app.stages)


def test_tasks_with_their_placement_and_metrics(tmp_path: Path) -> None:
    log = EventLog()
    log.executor("3", 1)
    info = stage_info(0, 1)
    log.job(0, 0.0, 1.0, [info])
    log.stage(info, 0.0, 1.0)
    metrics = {
        "Executor Deserialize Time": 20,
        "Executor Run Time": 700,
        "Executor CPU Time": 650_000_000,
        "JVM GC Time": 15,
        "Result Serialization Time": 5,
        "Shuffle Read Metrics": {
            "Remote Blocks Fetched": 3,
            "Local Blocks Fetched": 1,
            "Fetch Wait Time": 40,
            "Remote Bytes Read": 9000,
            "Local Bytes Read": 3000,
            "Total Records Read": 12,
        },
        "Shuffle Write Metrics": {
            "Shuffle Bytes Written": 10,
            "Shuffle Write Time": 2_000_000,
            "Shuffle Records Written": 2,
        },
        "Input Metrics": {"Bytes Read": 100, "Records Read": 50},
    }
    log.task(0, 0, "3", 0.1, 0.9, locality="NODE_LOCAL", partition=4, metrics=metrics)
    log.end(1.0)

    (task,) = eventlog.read(log.write(tmp_path)).tasks

    assert (task.stage_id, task.stage_attempt, task.index, task.attempt, task.partition) == (
        0,
        0,
        0,
        0,
        4,
    )
    assert (task.executor_id, task.host, task.locality) == ("3", "worker-3", "NODE_LOCAL")
    assert (task.launch, task.finish, task.duration) == (0.1, 0.9, pytest.approx(0.8))
    assert task.successful and task.end_reason == "Success"
    assert task.metrics == eventlog.TaskMetrics(
        executor_deserialize_ms=20,
        executor_deserialize_cpu_ns=1_000_000,
        executor_run_ms=700,
        executor_cpu_ns=650_000_000,
        result_size_bytes=1500,
        jvm_gc_ms=15,
        result_serialization_ms=5,
        shuffle_fetch_wait_ms=40,
        shuffle_remote_blocks=3,
        shuffle_local_blocks=1,
        shuffle_remote_bytes=9000,
        shuffle_local_bytes=3000,
        shuffle_records_read=12,
        shuffle_write_ns=2_000_000,
        shuffle_bytes_written=10,
        shuffle_records_written=2,
        input_bytes=100,
        input_records=50,
    )
    # The REST API's: 800 ms less run, deserialization and result serialization.
    assert task.scheduler_delay_ms == 75


def test_failed_and_killed_attempts_and_stage_retries_are_counted(tmp_path: Path) -> None:
    app = eventlog.read(failures().write(tmp_path))

    assert (len(app.tasks), app.failed_tasks, app.killed_tasks, app.stage_retries) == (
        8,
        2,
        1,
        2,
    )
    assert [(s.id, s.attempt, s.succeeded) for s in app.stages] == [
        (0, 0, True),
        (1, 0, True),
        (1, 1, True),
        (2, 0, False),
        (2, 1, True),
    ]
    assert app.stages[3].failure == "FetchFailed(BlockManagerId(1, worker-1))"


def test_anatomy_data_keeps_completed_stages_with_every_attempt_as_the_rest_api(
    tmp_path: Path,
) -> None:
    jobs, stages = eventlog.anatomy_data(eventlog.read(failures().write(tmp_path)))

    assert jobs[1] == {
        "jobId": 1,
        "jobGroup": None,
        "name": "stage2 at Test.scala:2",
        "stageIds": [1, 2],
        "start": 2.0,
        "end": 5.2,
    }
    # Stage 1 completed twice; stage 2's failed attempt is left out, as measure() leaves
    # out a stage whose status is not COMPLETE.
    assert stages[1]["numTasks"] == 2
    assert stages[2]["numTasks"] == 1
    # Stage 0's four attempts ran 997 + 997 + 1197 + 97 ms (the builder's run time is the
    # duration less 3 ms) and each waited 2 ms for the scheduler.
    assert stages[0]["executorRunTime"] == 997 + 997 + 1197 + 97
    assert stages[0]["schedulerDelay"] == 4 * 2
    assert stages[0]["executorDeserializeTime"] == 4


def test_anatomy_splits_the_event_logs_fit_as_it_splits_the_rest_apis(tmp_path: Path) -> None:
    app = eventlog.read(kmeans_like().write(tmp_path))
    jobs, stages = eventlog.anatomy_data(app)

    result = anatomy.split(jobs, stages, LOAD, FIT, fit_start=104.0, fit_end=107.5)
    phases = result["phases"]

    assert [phases[name]["jobs"] for name in ("load", *anatomy.FIT_PHASES)] == [1, 1, 0, 2, 1]
    assert phases["iterations"]["per_iteration_s"] == pytest.approx([1.2, 1.0])
    assert phases["iterations"]["tasks"] == 12
    assert phases["load"]["wall_s"] == pytest.approx(2.1)


def test_local_mode_has_the_driver_as_its_one_executor(tmp_path: Path) -> None:
    def local(master: str, announced: bool) -> Application:
        log = EventLog(app_id="local-1", properties={"spark.master": master})
        if announced:
            log.executor("driver", 4)
        log.add(
            0.0,
            {
                "Event": "SparkListenerBlockManagerAdded",
                "Block Manager ID": {"Executor ID": "driver", "Host": "host", "Port": 1},
                "Maximum Memory": 1,
                "Timestamp": 0,
            },
        )
        info = stage_info(0, 3)
        log.job(0, 0.0, 1.0, [info])
        log.stage(info, 0.0, 1.0)
        for index in range(3):
            log.task(0, index, "driver", 0.0, 1.0)
        log.end(1.0)
        return eventlog.read(log.write(_folder(tmp_path, f"{master}-{announced}")))

    assert local("local[8]", announced=True).executors["driver"].cores == 4
    assert local("local[6]", announced=False).executors["driver"].cores == 6
    assert local("local", announced=False).executors["driver"].cores == 1
    # local[*]: the host's cores, which the log does not say; the most tasks it ran at once.
    app = local("local[*]", announced=False)
    assert app.executors["driver"] == eventlog.Executor("driver", "host", 3, None, None)
    assert (app.executor_count, app.executor_cores) == (1, 3)


# Bad input: one line that names the file, a SparksweepError, never a traceback.


def one_line(error: pytest.ExceptionInfo[EventLogError], path: Path) -> str:
    message = str(error.value)
    assert isinstance(error.value, SparksweepError)
    assert "\n" not in message
    assert str(path) in message
    return message


def finished(tmp_path: Path, codec: str | None = None) -> Path:
    return kmeans_like().write(tmp_path, codec)


def test_a_missing_log(tmp_path: Path) -> None:
    path = tmp_path / "absent.zstd"
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "no such event log" in one_line(error, path)


@pytest.mark.parametrize("content", [b"", b"\n \n"])
def test_an_empty_log(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "app-1"
    path.write_bytes(content)
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "empty" in one_line(error, path)


def test_a_folder_that_is_not_a_rolled_log(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(EventLogError) as error:
        eventlog.read(tmp_path)
    assert "no events_<N>_* files" in one_line(error, tmp_path)


@pytest.mark.parametrize("codec", ["zstd", "lz4", "snappy", "lzf"])
def test_a_truncated_compressed_log(tmp_path: Path, codec: str) -> None:
    path = finished(tmp_path, codec)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 7])
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert f"truncated {codec} data" in one_line(error, path)


@pytest.mark.parametrize(
    ("codec", "damage"),
    [
        ("zstd", lambda raw: raw[:4] + b"\xff" * 16 + raw[20:]),
        ("lz4", lambda raw: raw[:30] + raw[30:].replace(b"LZ4Block", b"LZ4Blick", 1)),
        ("lz4", lambda raw: raw[:21] + b"\xff" * 12 + raw[33:]),
        ("snappy", lambda raw: raw[:20] + b"\xff" * 12 + raw[32:]),
        ("lzf", lambda raw: raw[:2] + b"\x07" + raw[3:]),
    ],
)
def test_a_corrupt_compressed_log(tmp_path: Path, codec: str, damage) -> None:  # type: ignore[no-untyped-def]
    path = finished(tmp_path, codec)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert f"corrupt {codec} data" in one_line(error, path)


def test_a_line_that_is_not_json(tmp_path: Path) -> None:
    path = finished(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[5] = b'{"Event": "SparkListenerJobStart", "Job ID": \n'
    path.write_bytes(b"".join(lines))
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "line 6 is not a JSON event" in one_line(error, path)


def test_a_line_that_is_not_an_event(tmp_path: Path) -> None:
    path = finished(tmp_path)
    path.write_bytes(path.read_bytes() + b"[1, 2]\n")
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "is not a Spark listener event" in one_line(error, path)


def test_an_event_without_what_it_must_hold(tmp_path: Path) -> None:
    path = finished(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if b"SparkListenerTaskEnd" in line)
    event = json.loads(lines[number])
    del event["Task Info"]
    lines[number] = json.dumps(event).encode() + b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert f"line {number + 1}, a SparkListenerTaskEnd, lacks" in one_line(error, path)


def test_a_log_cut_off_inside_its_last_event(tmp_path: Path) -> None:
    path = finished(tmp_path)
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "cut off inside its last event" in one_line(error, path)


def test_an_application_that_never_ended(tmp_path: Path) -> None:
    path = finished(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(line for line in lines if b"ApplicationEnd" not in line))
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "never finished (no SparkListenerApplicationEnd event)" in one_line(error, path)


def test_a_log_spark_is_still_writing(tmp_path: Path) -> None:
    path = finished(tmp_path, "zstd").rename(tmp_path / "app-1.zstd.inprogress")
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "never finished" in one_line(error, path)

    rolled = kmeans_like().write_rolled(_folder(tmp_path, "rolled"), 2, "zstd")
    status = next(rolled.glob("appstatus_*"))
    status.rename(status.with_name(status.name + ".inprogress"))
    with pytest.raises(EventLogError) as error:
        eventlog.read(rolled)
    assert "never finished" in one_line(error, rolled)


def test_an_application_without_tasks(tmp_path: Path) -> None:
    log = EventLog()
    log.executor("0", 2)
    log.end(3.0)
    path = log.write(tmp_path)
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "ran no task" in one_line(error, path)


def test_a_log_without_an_application(tmp_path: Path) -> None:
    path = tmp_path / "events"
    path.write_text('{"Event": "SparkListenerLogStart", "Spark Version": "4.0.1"}\n')
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "no SparkListenerApplicationStart" in one_line(error, path)


def test_an_unknown_codec(tmp_path: Path) -> None:
    path = tmp_path / "app-1.gz"
    path.write_bytes(gzip.compress(kmeans_like().text()))
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "unknown compression codec 'gz'" in one_line(error, path)


def test_bytes_that_are_no_event_log(tmp_path: Path) -> None:
    path = tmp_path / "app-1"
    path.write_bytes(b"\x00\x01binary")
    with pytest.raises(EventLogError) as error:
        eventlog.read(path)
    assert "not a Spark event log" in one_line(error, path)


def test_a_renamed_compressed_log_is_read_by_its_magic(tmp_path: Path) -> None:
    path = finished(tmp_path, "lz4").rename(tmp_path / "run-events.log")
    assert eventlog.read(path).end == 108.0


# Spark's own logs: local mode, every codec and form, against its REST API.

SPARK_LOGS = {
    "zstd": {"spark.eventLog.compress": "true", "spark.eventLog.compression.codec": "zstd"},
    "lz4": {"spark.eventLog.compress": "true", "spark.eventLog.compression.codec": "lz4"},
    "snappy": {"spark.eventLog.compress": "true", "spark.eventLog.compression.codec": "snappy"},
    "lzf": {"spark.eventLog.compress": "true", "spark.eventLog.compression.codec": "lzf"},
    "plain": {"spark.eventLog.compress": "false"},
    "rolled": {
        "spark.eventLog.compress": "true",
        "spark.eventLog.compression.codec": "zstd",
        "spark.eventLog.rolling.enabled": "true",
    },
}


@dataclass
class SparkRun:
    path: Path
    # What anatomy.measure() passed to anatomy.split() from the driver's REST API.
    rest: tuple[list[dict[str, Any]], dict[int, dict[str, Any]]] | None


@pytest.fixture(scope="module")
def spark_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SparkRun]:
    """One small application per form, one after another in one JVM: a cached DataFrame
    counted (the load), then two aggregations over it with a shuffle (the fit)."""
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        pytest.skip("needs Java 17")
    from pyspark.sql import SparkSession

    runs: dict[str, SparkRun] = {}
    for name, settings in SPARK_LOGS.items():
        folder = tmp_path_factory.mktemp(name)
        builder = (
            SparkSession.builder.master("local[2]")
            .appName(f"eventlog-{name}")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.eventLog.enabled", "true")
            .config("spark.eventLog.dir", str(folder))
            .config("spark.eventLog.rolling.enabled", "false")
            # The REST API only for the plain log, whose run it is compared with.
            .config("spark.ui.enabled", str(name == "plain").lower())
            .config("spark.ui.port", "0")
        )
        for key, value in settings.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
        try:
            context = session.sparkContext
            context.setJobGroup(LOAD, "load")
            frame = session.range(0, 40_000, numPartitions=4).selectExpr("id % 7 AS k", "id AS v")
            frame = frame.cache()
            frame.count()
            context.setJobGroup(FIT, "fit")
            for _ in range(2):
                frame.groupBy("k").sum("v").collect()
            rest = (
                _rest_inputs(context.uiWebUrl, context.applicationId) if name == "plain" else None
            )
        finally:
            session.stop()
        (path,) = folder.iterdir()
        runs[name] = SparkRun(path, rest)
    return runs


def _rest_inputs(
    ui_url: str | None, application_id: str
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    captured: list[tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]] = []

    def capture(jobs: Any, stages: Any, *_: Any) -> dict[str, Any]:
        captured.append((jobs, stages))
        return {}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(anatomy, "split", capture)
        anatomy.measure(ui_url, application_id, LOAD, FIT, 0.0, 0.0)
    return captured[0]


@pytest.mark.spark
@pytest.mark.parametrize("form", list(SPARK_LOGS))
def test_spark_writes_logs_that_read_back(spark_runs: dict[str, SparkRun], form: str) -> None:
    run = spark_runs[form]
    app = eventlog.read(run.path)

    assert run.path.is_dir() == (form == "rolled")
    assert run.path.name.endswith(form) == (form in ("zstd", "lz4", "snappy", "lzf"))
    assert app.name == f"eventlog-{form}"
    assert app.spark_version == "4.0.1"
    assert app.executors["driver"].cores == 2
    assert (app.executor_count, app.executor_cores) == (1, 2)
    assert [job.group for job in app.jobs][:1] == [LOAD]
    assert {job.group for job in app.jobs} == {LOAD, FIT}
    assert all(job.result == "JobSucceeded" for job in app.jobs)
    assert any(rdd.cached for stage in app.stages for rdd in stage.rdds)
    assert all(task.successful for task in app.tasks)
    assert app.start < app.jobs[0].submitted < app.jobs[-1].completed <= app.end


@pytest.mark.spark
def test_anatomy_data_matches_the_rest_api(spark_runs: dict[str, SparkRun]) -> None:
    run = spark_runs["plain"]
    assert run.rest is not None
    rest_jobs, rest_stages = run.rest
    jobs, stages = eventlog.anatomy_data(eventlog.read(run.path))
    keys = ("jobId", "jobGroup", "name", "stageIds", "start", "end")

    assert sorted(tuple(job[k] for k in keys) for job in jobs) == sorted(
        tuple(job[k] for k in keys) for job in rest_jobs
    )
    assert set(stages) == set(rest_stages)
    for stage_id, stage in stages.items():
        for key in (
            "numTasks",
            "executorRunTime",
            "executorCpuTime",
            "jvmGcTime",
            "executorDeserializeTime",
            "schedulerDelay",
        ):
            assert stage[key] == rest_stages[stage_id][key], (stage_id, key)


@pytest.mark.spark
@pytest.mark.parametrize("form", list(SPARK_LOGS))
def test_spark_logs_replay_their_own_run(spark_runs: dict[str, SparkRun], form: str) -> None:
    app = eventlog.read(spark_runs[form].path)

    own = replay.replay(app, app.executor_count)
    wider = replay.replay(app, 2)

    assert own.at_own_count
    assert own.app_s == pytest.approx(app.duration, rel=0.05)
    assert own.critical_path_s <= own.app_s
    assert wider.critical_path_s <= wider.app_s
