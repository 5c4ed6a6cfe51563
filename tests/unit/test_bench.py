"""The benchmarks' pure helpers: machine, ratios and targets, result JSON, and each
benchmark's own arithmetic and commands. No Docker, no Spark."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib
import data_load
import fit_overhead
import kmeans_iteration
import localspark
import orchestration
import profile_iteration
import pytest
import yaml

from sparksweep import settings

REPO = Path(__file__).resolve().parents[2]
FIXTURE_RUN = REPO / "tests" / "fixtures" / "results" / "good" / "runs" / "w1-r1.json"

X86_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B13
flags\t\t: fpu vme

processor\t: 1
model name\t: AMD EPYC 7B13
"""
ARM_CPUINFO = "processor\t: 0\nBogoMIPS\t: 50.00\n\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"


# --- benchlib ---------------------------------------------------------------------------


def test_the_machine_is_read_from_proc_text() -> None:
    assert benchlib.cpu_model(X86_CPUINFO) == "AMD EPYC 7B13"
    assert benchlib.cpu_model(ARM_CPUINFO) == "Raspberry Pi 4 Model B Rev 1.4"
    assert benchlib.cpu_model("processor\t: 0\n") == "unknown CPU"
    meminfo = "MemTotal:       24683656 kB\nMemFree:         1000 kB\n"
    assert benchlib.mem_total_bytes(meminfo) == 24683656 * 1024
    with pytest.raises(ValueError, match="MemTotal"):
        benchlib.mem_total_bytes("MemFree: 1 kB\n")


def test_this_machine_has_cpus_and_memory() -> None:
    machine = benchlib.this_machine()
    assert machine.nproc >= 1 and machine.mem_bytes > 0 and machine.cpu_model
    assert machine.line().startswith(f"machine: {machine.nproc} CPUs (nproc), ")
    assert machine.as_dict() == {
        "nproc": machine.nproc,
        "cpu_model": machine.cpu_model,
        "mem_bytes": machine.mem_bytes,
    }


def test_oversubscription_warns_only_above_the_hosts_cpus() -> None:
    assert benchlib.oversubscription(2, 1, 2) is None
    warning = benchlib.oversubscription(5, 1, 2, "w=5")
    assert warning is not None
    assert warning.startswith("warning: 5 workers x 1 cores = 5 exceed this host's 2 CPUs (w=5)")


def test_ratios_and_targets() -> None:
    assert benchlib.ratio(3.0, 2.0) == 1.5
    for figure, baseline in [(1.0, 0.0), (1.0, -1.0), (math.nan, 1.0), (1.0, math.inf), (-1, 1)]:
        with pytest.raises(benchlib.BenchError, match="cannot form a ratio"):
            benchlib.ratio(figure, baseline)
    assert benchlib.target_text(1.5, 1.5, at_most=True) == "target <= 1.5: met"
    assert benchlib.target_text(1.51, 1.5, at_most=True) == "target <= 1.5: NOT met"
    assert benchlib.target_text(5.0, 5, at_most=False) == "target >= 5: met"
    assert benchlib.target_text(4.9, 5, at_most=False) == "target >= 5: NOT met"
    assert benchlib.median([3.0, 1.0, 2.0]) == 2.0
    with pytest.raises(benchlib.BenchError):
        benchlib.median([])


def test_int_list_keeps_order_and_refuses_what_is_not_a_count() -> None:
    assert benchlib.int_list("1,2,5") == [1, 2, 5]
    assert benchlib.int_list("5000000, 1_000_000,5000000") == [5_000_000, 1_000_000]
    for text, words in [("1,x", "'x' is not a whole number"), ("0", "0 is below 1"), ("", "''")]:
        with pytest.raises(ValueError, match=words):
            benchlib.int_list(text)


def test_write_result_writes_one_json_with_the_common_head(tmp_path: Path) -> None:
    machine = benchlib.Machine(nproc=2, cpu_model="AMD EPYC", mem_bytes=8 * 2**30)
    started = datetime(2026, 11, 27, 15, 0, 5, tzinfo=UTC)
    now = datetime(2026, 11, 27, 15, 7, 0, tzinfo=UTC)

    path = benchlib.write_result(
        "data_load",
        {"ratio": 6.5, "summary": "ratio ..."},
        machine,
        started=started,
        results_dir=tmp_path / "results",
        now=now,
        argv=["bench/data_load.py", "--rows", "20000"],
    )

    assert path == tmp_path / "results" / "data_load-20261127T150005Z.json"
    assert path == benchlib.result_path("data_load", started, tmp_path / "results")
    assert json.loads(path.read_text()) == {
        "benchmark": "data_load",
        "result_version": benchlib.RESULT_VERSION,
        "started_at": "2026-11-27T15:00:05+00:00",
        "finished_at": "2026-11-27T15:07:00+00:00",
        "command": ["bench/data_load.py", "--rows", "20000"],
        "machine": {"nproc": 2, "cpu_model": "AMD EPYC", "mem_bytes": 8 * 2**30},
        "ratio": 6.5,
        "summary": "ratio ...",
    }
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    with pytest.raises(ValueError):
        benchlib.write_result("x", {"ratio": math.nan}, machine, started=now, results_dir=tmp_path)
    assert not list(tmp_path.glob("x-*"))


def test_run_turns_a_users_error_into_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    def failing() -> int:
        raise benchlib.BenchError("no master answers")

    assert benchlib.run(failing, "orchestration") == 2
    assert capsys.readouterr().err == "orchestration: error: no master answers\n"
    assert benchlib.run(lambda: 0, "x") == 0


def test_bench_results_are_not_committed() -> None:
    assert "/bench/results/" in (REPO / ".gitignore").read_text().splitlines()


# --- kmeans_iteration -----------------------------------------------------------------------


def test_sklearn_time_per_iteration_leaves_out_what_a_fit_does_once() -> None:
    # 1 iteration: 2.0 s of setup + 0.5 s; 20 iterations: 2.0 + 20 x 0.5.
    assert kmeans_iteration.per_iteration(2.5, 12.0, 20) == pytest.approx(0.5)
    assert kmeans_iteration.per_iteration(2.5, 2.4, 20) == 0.0
    with pytest.raises(benchlib.BenchError, match="one iteration"):
        kmeans_iteration.per_iteration(2.5, 2.5, 1)


def test_the_same_centers_are_proven_by_the_cost() -> None:
    assert kmeans_iteration.cost_matches(135577.7868461273, 135577.78684612)
    assert not kmeans_iteration.cost_matches(135577.78, 135578.0)


def result(rows: int, **ratios: float) -> dict[str, Any]:
    return {"rows": rows, "ratios": ratios}


def test_kmeans_iteration_judges_the_target_at_five_million_rows() -> None:
    line = kmeans_iteration.ratio_line([result(1_000_000, local=6.0), result(5_000_000, local=4.2)])
    assert line == (
        "ratio Spark median iteration / scikit-learn iteration: 1000000 rows: local 6.00; "
        "5000000 rows: local 4.20 (target <= 5 at 5000000 rows: met)"
    )
    line = kmeans_iteration.ratio_line([result(5_000_000, cluster=5.5, local=4.0)])
    assert line.endswith("cluster 5.50, local 4.00 (target <= 5 at 5000000 rows: NOT met)")
    line = kmeans_iteration.ratio_line([result(20_000, local=9.0)])
    assert line.endswith("(target <= 5 applies at 5000000 rows, not measured)")


def test_a_run_without_anatomy_cannot_give_its_iteration() -> None:
    run = json.loads(FIXTURE_RUN.read_text())
    with pytest.raises(benchlib.BenchError, match="w1-r1 of good has no anatomy"):
        kmeans_iteration.spark_iteration(run)
    run["anatomy"] = {"phases": {"iterations": {"median_iteration_s": 0.41}}}
    assert kmeans_iteration.spark_iteration(run) == (0.41, 20)


def test_the_local_runs_take_the_jobs_own_defaults() -> None:
    assert kmeans_iteration.job_defaults() == {
        "k": 10,
        "max_iter": 20,
        "tol": 1e-4,
        "seed": 1,
        "init_mode": "random",
        "solver": "row",
        "partitions": 16,
    }


# --- profile_iteration ----------------------------------------------------------------------


def sample(*frames: str) -> dict[str, Any]:
    """A jdk.ExecutionSample event as `jfr print --json` writes it, top frame first."""

    def frame(name: str) -> dict[str, Any]:
        cls, _, method = name.rpartition(".")
        return {"method": {"type": {"name": cls.replace(".", "/")}, "name": method}}

    return {
        "type": "jdk.ExecutionSample",
        "values": {"stackTrace": {"frames": [frame(name) for name in frames]}},
    }


ITERATION = "org.apache.spark.mllib.clustering.KMeans.$anonfun$runAlgorithmWithWeight$6"
FIND_CLOSEST = "org.apache.spark.mllib.clustering.EuclideanDistanceMeasure.findClosest"


def test_the_profile_counts_only_samples_inside_an_iteration() -> None:
    events = [
        sample("org.apache.spark.mllib.util.MLUtils$.fastSquaredDistance", FIND_CLOSEST, ITERATION),
        sample("org.apache.spark.mllib.util.MLUtils$.fastSquaredDistance", FIND_CLOSEST, ITERATION),
        sample("org.apache.spark.mllib.clustering.KMeans.$anonfun$run$1", ITERATION),
        # The caching pass of the norms and a sample without a stack: not an iteration's.
        sample(
            "org.apache.spark.mllib.linalg.Vectors$.norm",
            "org.apache.spark.mllib.clustering.KMeans.$anonfun$runWithWeight$1",
        ),
        {"type": "jdk.ExecutionSample", "values": {}},
    ]

    stacks = profile_iteration.iteration_stacks(events)
    result = profile_iteration.profile(stacks)

    assert len(stacks) == 3
    assert result["samples"] == 3
    assert result["distance_share"] == pytest.approx(2 / 3)
    assert result["self"] == [
        {"method": "MLUtils$.fastSquaredDistance", "share": pytest.approx(2 / 3)},
        {"method": "KMeans.$anonfun$run$1", "share": pytest.approx(1 / 3)},
    ]
    assert "67% of 3 samples" in profile_iteration.summary_line(result, 1.9)
    with pytest.raises(benchlib.BenchError, match="no execution sample inside a Lloyd"):
        profile_iteration.profile([])


def test_the_profile_turns_jfr_on_in_the_local_driver_only(tmp_path: Path) -> None:
    argv = localspark.job_argv(
        tmp_path / "data",
        tmp_path / "runs" / "w1-r1.json",
        threads=1,
        memory="2g",
        fingerprint="sha256:" + "ab" * 32,
        rows=10,
        sweep_id="bench",
        run_id="w1-r1",
    )
    recording = tmp_path / "job.jfr"

    profiled = profile_iteration.with_recording(argv, recording)

    assert profiled[:3] == argv[:3] and profiled[3] == "--conf"
    assert profiled[4] == (
        f"spark.driver.extraJavaOptions=-XX:StartFlightRecording=filename={recording},"
        "settings=profile"
    )
    assert profiled[5:] == argv[3:]


# --- localspark ---------------------------------------------------------------------------


def test_local_runs_partition_the_load_as_the_role_does() -> None:
    """Which rows each partition holds decides random init's sample: the benchmarks'
    local runs and their initial centers must load the data as the sweep does."""
    tasks = yaml.safe_load((REPO / "roles" / "spark_job" / "tasks" / "run.yml").read_text())
    submits = [
        task
        for block in tasks
        for task in block.get("block", [block])
        if "community.docker.docker_container_exec" in task
        and "__spark_job_conf" in task.get("vars", {})
    ]
    (submit,) = submits
    role = {
        key: value.replace("{{ spark_job_partitions }}", "16")
        for key, value in submit["vars"]["__spark_job_conf"].items()
    }

    assert localspark.load_confs(16).items() <= role.items()


def test_a_runs_data_set_is_found_under_the_hosts_data_folder(tmp_path: Path) -> None:
    path = localspark.host_data_path("/workspace/data/parquet/ab12", tmp_path)
    assert path == tmp_path / "parquet" / "ab12"
    assert localspark.host_data_path("/elsewhere/x.csv", tmp_path) == Path("/elsewhere/x.csv")
    assert localspark.host_data_path("/workspace/database", tmp_path) == Path("/workspace/database")


def event_log_lines() -> list[dict[str, Any]]:
    """A load job, then a fit: caching 10-12 s, init to 13 s, 3 iterations, a summary."""
    iteration = "collectAsMap at KMeans.scala:333"
    jobs = [
        (0, "sparksweep-load", "count at NativeMethodAccessorImpl.java:0", 1.0, 9.0),
        (1, "sparksweep-fit", "takeSample at KMeans.scala:383", 10.0, 12.0),
        (2, "sparksweep-fit", "takeSample at KMeans.scala:383", 12.5, 13.0),
        (3, "sparksweep-fit", iteration, 13.1, 14.0),
        (4, "sparksweep-fit", iteration, 14.1, 15.5),
        (5, "sparksweep-fit", iteration, 15.6, 16.0),
        (6, "sparksweep-fit", "treeAggregate at KMeans.scala:400", 16.1, 16.5),
    ]
    lines: list[dict[str, Any]] = []
    for job_id, group, name, start, end in jobs:
        stages = [{"Stage ID": 2 * job_id, "Stage Name": "map"}]
        stages.append({"Stage ID": 2 * job_id + 1, "Stage Name": name})
        lines.append(
            {
                "Event": "SparkListenerJobStart",
                "Job ID": job_id,
                "Submission Time": int(start * 1000),
                "Stage Infos": stages,
                "Stage IDs": [s["Stage ID"] for s in stages],
                "Properties": {"spark.jobGroup.id": group},
            }
        )
        lines.append(
            {"Event": "SparkListenerJobEnd", "Job ID": job_id, "Completion Time": int(end * 1000)}
        )
    return lines


def test_a_local_run_without_anatomy_is_read_from_its_event_log(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.mkdir()
    (events / "w1-r1_local-1").write_text("\n".join(json.dumps(e) for e in event_log_lines()))
    record = {"anatomy": None, "event_log": "events/w1-r1_local-1", "iterations": 3}

    anatomy = localspark.event_log_anatomy(record, tmp_path)

    assert anatomy is not None
    iterations = anatomy["phases"]["iterations"]
    assert iterations["per_iteration_s"] == pytest.approx([1.0, 1.5, 0.5])
    assert iterations["median_iteration_s"] == pytest.approx(1.0)
    assert anatomy["phases"]["load"]["wall_s"] == pytest.approx(8.0)
    assert kmeans_iteration.spark_iteration(record, tmp_path) == (pytest.approx(1.0), 3)
    assert localspark.event_log_anatomy({"event_log": None}, tmp_path) is None


# --- fit_overhead ---------------------------------------------------------------------------


def run_with_anatomy(workers: int, repeat: int, fit_s: float, phases: dict[str, float]) -> dict:
    run = json.loads(FIXTURE_RUN.read_text())
    run.update(workers=workers, run_id=f"w{workers}-r{repeat}")
    run["timings"]["fit_s"] = fit_s
    run["anatomy"] = {"phases": {name: {"wall_s": wall} for name, wall in phases.items()}}
    return run


def phases(caching: float, init: float, iterations: float, summary: float) -> dict[str, float]:
    return {"caching": caching, "init": init, "iterations": iterations, "summary": summary}


def test_fit_overhead_is_the_median_share_outside_the_iterations() -> None:
    runs = [
        run_with_anatomy(1, 1, 40.0, phases(3.0, 1.0, 34.0, 2.0)),
        run_with_anatomy(1, 2, 50.0, phases(4.0, 1.0, 44.0, 1.0)),
        run_with_anatomy(2, 1, 20.0, phases(3.0, 0.5, 16.0, 0.5)),
        run_with_anatomy(3, 1, 10.0, phases(1.0, 0.5, 8.0, 0.5)),
    ]

    rows = fit_overhead.summarize(runs, [1, 2])

    assert [row["workers"] for row in rows] == [1, 2]
    assert [run["share"] for run in rows[0]["runs"]] == pytest.approx([0.15, 0.12])
    assert rows[0]["share"] == pytest.approx(0.135)
    assert rows[0]["outside_s"] == pytest.approx(6.0)
    assert rows[0]["phases_s"]["iterations"] == pytest.approx(39.0)
    assert rows[1]["share"] == pytest.approx(0.2)
    assert rows[1]["cores"] == 2
    assert fit_overhead.ratio_line(rows) == (
        "share of fit_s outside the iterations (caching + init + summary) / fit_s: "
        "w=1 13.5%, w=2 20.0% (target <= 15%: NOT met)"
    )
    assert fit_overhead.table(rows)[1] == (
        "  1     2    45.00     3.50    1.00       39.00     1.50     6.00   13.5%"
    )


def test_fit_overhead_needs_ok_runs_with_anatomy() -> None:
    run = json.loads(FIXTURE_RUN.read_text())
    with pytest.raises(benchlib.BenchError, match="w1-r1 of sweep good has no anatomy"):
        fit_overhead.summarize([run], [1])
    with pytest.raises(benchlib.BenchError, match="no ok run with 2 workers"):
        fit_overhead.summarize([run], [2])


def test_fit_overhead_takes_a_sweep_folder_or_run_not_both(tmp_path: Path) -> None:
    assert fit_overhead.parse_args([str(tmp_path)]).sweep == tmp_path
    assert fit_overhead.parse_args(["--run", "--workers", "1,2"]).run
    for argv in ([], [str(tmp_path), "--run"]):
        with pytest.raises(SystemExit):
            fit_overhead.parse_args(argv)


# --- data_load ------------------------------------------------------------------------------


def test_data_load_alternates_the_formats_and_wants_parquet_five_times_faster() -> None:
    assert [data_load.order(r) for r in (1, 2, 3)] == [
        ("csv", "parquet"),
        ("parquet", "csv"),
        ("csv", "parquet"),
    ]
    assert data_load.ratio_line(60.0, 8.0) == (
        "ratio CSV (gzip) load_s / Parquet load_s: 7.50 (target >= 5: met: Parquet 7.5x faster)"
    )
    assert data_load.ratio_line(20.0, 8.0).endswith("(target >= 5: NOT met: Parquet 2.5x faster)")


# --- orchestration --------------------------------------------------------------------------


def master_inspect() -> dict[str, Any]:
    return {
        "Config": {"Image": "sparksweep/spark:4.0.1-0123abcd"},
        "NetworkSettings": {"Networks": {"sparksweep": {}}},
        "Mounts": [
            {"Destination": "/workspace/src", "Source": "/repo/sparksweep/job"},
            {"Destination": "/workspace/data", "Source": "/repo/data"},
            {"Destination": "/workspace/results", "Source": "/repo/results"},
            {"Destination": "/var/lib/spark", "Source": "spark-master-data"},
            {"Destination": "/etc/sparksweep/conf", "Source": "/home/u/.config/sparksweep/c"},
        ],
    }


def spec(host_cpus: int = 2) -> orchestration.WorkerSpec:
    return orchestration.worker_spec(
        master_inspect(),
        settings.shared(),
        orchestration.role_defaults("spark_worker"),
        orchestration.role_defaults("spark_common"),
        host_cpus,
    )


def test_memory_sizes_and_shared_variables_read_as_ansible_reads_them() -> None:
    assert orchestration.memory_bytes("2g") == 2 * 2**30
    assert orchestration.memory_bytes("384m") == 384 * 2**20
    assert orchestration.memory_bytes("1G") == 2**30
    with pytest.raises(benchlib.BenchError, match="not a memory size"):
        orchestration.memory_bytes("2 GB")
    shared = {"a": "{{ b }}", "b": 3}
    assert orchestration.resolve("{{ a }}", shared) == 3
    assert orchestration.resolve("1g", shared) == "1g"
    with pytest.raises(benchlib.BenchError, match="names no variable"):
        orchestration.resolve("{{ c }}", shared)


def test_the_worker_spec_takes_the_masters_image_and_mounts_and_the_shared_settings() -> None:
    worker = spec()
    assert worker.image == "sparksweep/spark:4.0.1-0123abcd"
    assert (worker.src_dir, worker.data_dir) == ("/repo/sparksweep/job", "/repo/data")
    assert worker.conf_dir == "/home/u/.config/sparksweep/c"
    assert worker.cores == settings.worker_cores()
    assert worker.memory == settings.worker_memory()
    assert worker.master_host == "spark-master" and worker.master_port == 7077
    assert worker.cpus == float(min(settings.worker_cores(), 2))
    assert spec(host_cpus=1).cpus == 1.0
    inspect = master_inspect()
    inspect["NetworkSettings"]["Networks"] = {"bridge": {}}
    with pytest.raises(benchlib.BenchError, match="not on the network sparksweep"):
        orchestration.worker_spec(inspect, settings.shared(), {}, {}, 2)


def test_docker_run_starts_the_worker_the_role_starts() -> None:
    worker = spec()
    argv = orchestration.docker_run_argv(worker, 1)

    assert argv[:6] == ["docker", "run", "--detach", "--name", "spark-worker-2", "--hostname"]

    def option(flag: str) -> str:
        return argv[argv.index(flag) + 1]

    assert option("--network") == "sparksweep"
    assert option("--user") == "185:185"
    assert option("--cpus") == f"{worker.cpus:g}"
    # The worker's 2g and the role's 1g overhead.
    assert option("--memory") == str(3 * 2**30)
    assert option("--cap-drop") == "ALL" and option("--security-opt") == "no-new-privileges"
    assert option("--tmpfs") == "/tmp:rw,exec,size=1g"
    assert option("--pids-limit") == "4096"
    assert "--read-only" in argv
    mounts = [argv[i + 1] for i, item in enumerate(argv) if item == "--mount"]
    assert mounts == [
        "type=bind,source=/repo/sparksweep/job,target=/workspace/src,readonly",
        "type=bind,source=/repo/data,target=/workspace/data,readonly",
        "type=volume,target=/var/lib/spark,"
        "volume-label=sparksweep.managed=true,volume-label=sparksweep.component=worker",
        "type=bind,source=/home/u/.config/sparksweep/c,target=/etc/sparksweep/conf,readonly",
    ]
    envs = [argv[i + 1] for i, item in enumerate(argv) if item == "--env"]
    assert envs == ["SPARK_DAEMON_MEMORY=384m", "SPARK_CONF_DIR=/etc/sparksweep/conf"]
    labels = [argv[i + 1] for i, item in enumerate(argv) if item == "--label"]
    assert labels == ["sparksweep.managed=true", "sparksweep.component=worker"]
    command = argv[argv.index(worker.image) + 1 :]
    assert command == [
        "spark-class",
        "org.apache.spark.deploy.worker.Worker",
        "--host",
        "spark-worker-2",
        "--port",
        "7092",
        "--cores",
        str(settings.worker_cores()),
        "--memory",
        settings.worker_memory(),
        "--webui-port",
        "8082",
        "--work-dir",
        "/var/lib/spark/work",
        "spark://spark-master:7077",
    ]
    assert "http://localhost:8082/json/" in option("--health-cmd")


def test_docker_run_follows_the_roles_task_file() -> None:
    """The literal parts of the role's command and healthcheck are the script's."""
    tasks = yaml.safe_load((REPO / "roles" / "spark_worker" / "tasks" / "present.yml").read_text())
    (run,) = [task for task in tasks if task.get("name") == "Run the workers"]
    role = run["vars"]
    command = orchestration.docker_run_argv(spec(), 0)
    command = command[command.index(spec().image) + 1 :]
    assert len(command) == len(role["spark_common_container_command"])
    for ours, theirs in zip(command, role["spark_common_container_command"], strict=True):
        if "{{" not in theirs:
            assert ours == theirs
    health = role["spark_common_container_healthcheck"]
    assert {key: health[key] for key in orchestration.HEALTHCHECK} == orchestration.HEALTHCHECK
    # On one host (the bench's cluster) the env is SPARK_DAEMON_MEMORY alone; SPARK_LOCAL_IP
    # joins it only under host networking (several hosts).
    env = role["spark_common_container_env"]
    assert "{'SPARK_DAEMON_MEMORY': spark_worker_daemon_memory}" in env
    assert "{'SPARK_LOCAL_IP': spark_worker_advertise_address} if spark_worker_host_network" in env


def test_workers_are_ready_when_exactly_the_wanted_ones_are_alive() -> None:
    wanted = ["spark-worker-1", "spark-worker-2"]

    def master(*workers: tuple[str, str]) -> dict[str, Any]:
        listed = [
            {"id": f"worker-{i}", "host": host, "state": state}
            for i, (host, state) in enumerate(workers)
        ]
        return {"workers": listed, "aliveworkers": sum(s == "ALIVE" for _, s in workers)}

    alive = ("spark-worker-1", "ALIVE"), ("spark-worker-2", "ALIVE")
    assert orchestration.workers_ready(master(*alive), wanted)
    assert orchestration.workers_ready(master(*alive, ("spark-worker-3", "DEAD")), wanted)
    assert not orchestration.workers_ready(master(*alive, ("spark-worker-3", "ALIVE")), wanted)
    assert not orchestration.workers_ready(master(alive[0]), wanted)
    assert not orchestration.workers_ready(master(alive[0], ("spark-worker-2", "DEAD")), wanted)
    assert not orchestration.workers_ready(None, wanted)
    # The same names, still listed ALIVE from before the step: not the fresh workers.
    stale = orchestration.alive_ids(master(*alive))
    assert stale == {"worker-0", "worker-1"}
    assert not orchestration.workers_ready(master(*alive), wanted, stale)
    assert orchestration.alive_ids(None) == set()


def test_the_ansible_step_is_timed_between_the_playbooks_markers() -> None:
    def ok(msg: Any, created: str | None = "2026-11-27T15:00:01.250000+00:00") -> dict:
        event = {"event": "runner_on_ok", "event_data": {"res": {"msg": msg}}}
        return {**event, "created": created} if created else event

    name, stamp = orchestration.bench_marker(ok({"sparksweep_bench": "scale_done"}))
    assert name == "scale_done"
    assert stamp == datetime(2026, 11, 27, 15, 0, 1, 250000, tzinfo=UTC)
    naive = orchestration.bench_marker(ok({"sparksweep_bench": "x"}, "2026-11-27T15:00:01"))
    assert naive is not None and naive[1].tzinfo is UTC
    unstamped = orchestration.bench_marker(ok({"sparksweep_bench": "x"}, None))
    assert unstamped is not None and unstamped[1].tzinfo is not None
    assert orchestration.bench_marker(ok("Hello")) is None
    assert orchestration.bench_marker(ok({"sparksweep_phase": "workers_alive"})) is None
    assert orchestration.bench_marker({"event": "runner_on_failed"}) is None


def test_orchestration_judges_every_worker_count() -> None:
    rows = [{"workers": 1, "ratio": 1.2}, {"workers": 5, "ratio": 1.6}]
    assert orchestration.ratio_line(rows) == (
        "ratio Ansible scale step / docker CLI: w=1 1.20, w=5 1.60 (target <= 1.5: NOT met)"
    )
    assert orchestration.ratio_line(rows[:1]).endswith("(target <= 1.5: met)")


def test_the_scale_playbook_runs_the_sweeps_two_worker_steps() -> None:
    (play,) = yaml.safe_load((REPO / "bench" / "scale.yml").read_text())
    steps = [task for task in play["tasks"] if "ansible.builtin.include_role" in task]
    assert [task["ansible.builtin.include_role"]["name"] for task in steps] == ["spark_worker"] * 2
    assert steps[0]["vars"] == {"spark_worker_state": "absent"}
    assert steps[1]["vars"] == {"spark_worker_count": "{{ workers }}"}
    sweep_run = yaml.safe_load((REPO / "roles" / "spark_sweep" / "tasks" / "run.yml").read_text())
    block = next(task for task in sweep_run if "block" in task)["block"]
    workers = [
        task["name"]
        for task in block
        if task.get("ansible.builtin.include_role", {}).get("name") == "spark_worker"
    ]
    assert [task["name"] for task in steps] == workers
