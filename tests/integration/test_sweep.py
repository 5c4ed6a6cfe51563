"""The product end to end: real Docker, real Spark, real Ansible, through the wrapper.

One sweep (w = 1 and 2, two repeats) carries most checks, to keep one cluster for many of
them: while it runs, a second sweep is refused, a CPU hog runs beside w1-r1, the master is
killed in the fit of w1-r2 and a worker in the fit of w2-r1. `sparksweep run` then resumes
the two failed runs, is stopped by Ctrl-C in the first, and its printed command ends the
sweep. Faults that need a cluster of their own (tests/integration/playbooks/faults.yml) and
a full disk (results on a small tmpfs) follow.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sparksweep import lock, settings
from sparksweep.analysis import OTHER_CPUS_LIMIT
from sparksweep.cli import main
from sparksweep.errors import PlaybookError
from sparksweep.results import load_runs
from sparksweep.runner import REPO_ROOT, PlaybookResult, run_playbook, run_sweep

SCHEMA = json.loads((REPO_ROOT / "sparksweep" / "schemas" / "run.schema.json").read_text())
ROWS = 20_000
MASTER = "spark-master"
# Settings that keep each run short and still leave a fit of some seconds to disturb: two
# partitions (one task per executor at w=2) and 25 iterations, all of them run (tol 0): the
# fit has no caching or summary pass of its own, and at 20,000 rows ten iterations that
# converge early ended before a poll of the driver could see them. Text, as `-e` passes them.
SHORT = {"spark_job_partitions": "2", "spark_job_max_iter": "25", "spark_job_tol": "0"}

# Run inside the master container, where the driver serves its REST API on 4040: is the
# application of this run (named "sparksweep <sweep> <run>") inside KMeans.fit?
_IN_FIT = """
import json, sys, urllib.request
base = "http://localhost:4040/api/v1/applications"
try:
    for app in json.load(urllib.request.urlopen(base, timeout=3)):
        if app["name"] == sys.argv[1]:
            jobs = json.load(urllib.request.urlopen(f"{base}/{app['id']}/jobs", timeout=3))
            if any(job.get("jobGroup") == "sparksweep-fit" for job in jobs):
                print("fit")
except OSError:
    pass
"""
# SIGKILL for the job's Python driver: the process that would write its own record.
_KILL_DRIVER = """
import os, signal
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\\0")
    except OSError:
        continue
    if len(argv) > 1 and argv[1] == b"/workspace/src/kmeans.py" and b"python" in argv[0]:
        os.kill(int(pid), signal.SIGKILL)
        print(pid)
"""
# A bounded busy loop: one CPU kept busy beside a run, for at most argv[1] seconds.
_CPU_HOG = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


def validate(record: Path | bytes) -> dict:
    """A run record, from its file or its bytes as kept earlier, checked against the schema."""
    doc = json.loads(record.read_text() if isinstance(record, Path) else record)
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=check, timeout=60
    ).stdout


def wait_until_fitting(sweep_id: str, run_id: str, failed: Callable[[], bool]) -> None:
    """Poll the driver until the run is inside KMeans.fit (or its sweep has ended)."""
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline and not failed():
        probe = subprocess.run(
            ["docker", "exec", MASTER, "python", "-c", _IN_FIT, f"sparksweep {sweep_id} {run_id}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "fit":
            return
        time.sleep(1)
    pytest.fail(f"run {run_id} of sweep {sweep_id} never reached its fit")


@dataclass
class Background:
    """A callable run in a thread; its result or exception kept for the test."""

    target: Callable[[], Any]
    result: Any = None
    error: BaseException | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.target()
        except BaseException as exc:
            self.error = exc

    def done(self) -> bool:
        return not self.thread.is_alive()

    def join(self) -> Any:
        self.thread.join(timeout=1800)
        assert not self.thread.is_alive(), "the background run did not end"
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class SweepRun:
    folder: Path
    lines: list[str]
    second_code: int
    second_error: str
    second_seconds: float
    records: dict[str, bytes]
    hog_seconds: float


@dataclass
class Interrupted:
    """`sparksweep run` resuming the sweep, stopped by SIGINT in a fit, then resumed."""

    code: int
    out: str
    err: str
    left_running: str
    workers_left: str
    records: dict[str, bytes]
    events_left: list[str]
    resume: str
    resumed: subprocess.CompletedProcess[str]


def records(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "runs").iterdir())}


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module", autouse=True)
def teardown_after(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    done = run_playbook(
        "playbooks/teardown.yml", private_data_dir=tmp_path_factory.mktemp("teardown")
    )
    assert done.ok, done.failures


@pytest.fixture(scope="module")
def sweep(results_dir: Path) -> SweepRun:
    """One real sweep, w = 1 and 2, two repeats, on 20,000 generated rows, disturbed four
    times while it runs: a second sweep, a CPU hog beside w1-r1, the master killed in the
    fit of w1-r2 and a worker killed in the fit of w2-r1."""
    sweep_id = f"it-{uuid.uuid4().hex[:8]}"
    lines: list[str] = []
    first = Background(
        lambda: run_sweep(
            workers=2,
            repeats=2,
            rows=ROWS,
            sweep_id=sweep_id,
            extravars=dict(SHORT),
            results_dir=results_dir,
            write=lines.append,
        )
    )
    while sweep_id not in lock.lock_path().read_text(errors="replace") and not first.done():
        time.sleep(0.2)

    # A second sweep while the first one runs.
    stderr = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stderr(stderr):
        code = main(
            [
                *("run", "--workers", "1", "--rows", str(ROWS)),
                *("--sweep-id", f"{sweep_id}-second", "--results-dir", str(results_dir)),
            ]
        )
    seconds = time.monotonic() - started

    # A CPU hog from now until w1-r1 is recorded, so over all of that run: the report must
    # mark its point contended.
    hog = subprocess.Popen([sys.executable, "-c", _CPU_HOG, "600"])
    hog_started = time.monotonic()
    while not any(line.startswith("w1-r1: ") or " w1-r1: " in line for line in lines):
        if first.done() or time.monotonic() - hog_started > 600:
            break
        time.sleep(0.2)
    hog.kill()
    hog.wait()
    hog_seconds = time.monotonic() - hog_started

    # The runs are interleaved: w1-r1, w2-r1, w1-r2, w2-r2. One of the two workers killed in
    # the middle of the w2-r1 fit.
    wait_until_fitting(sweep_id, "w2-r1", first.done)
    docker("kill", "spark-worker-2")

    # The master container killed in the middle of the w1-r2 fit: w2-r2 after it proves
    # the sweep went on with the master brought back.
    wait_until_fitting(sweep_id, "w1-r2", first.done)
    docker("kill", MASTER)

    folder = first.join()
    return SweepRun(
        folder=folder,
        lines=lines,
        second_code=code,
        second_error=stderr.getvalue(),
        second_seconds=seconds,
        records=records(folder),
        hog_seconds=hog_seconds,
    )


def test_a_second_sweep_is_refused_at_once_naming_the_first(
    sweep: SweepRun, results_dir: Path
) -> None:
    assert sweep.second_code == 3
    assert sweep.second_seconds < 5
    assert f"sweep {sweep.folder.name} is running" in sweep.second_error
    assert len(sweep.second_error.strip().splitlines()) == 1
    assert not (results_dir / f"{sweep.folder.name}-second").exists()


def test_the_sweep_reports_progress_and_no_ansible_warning(sweep: SweepRun) -> None:
    assert any("job running" in line for line in sweep.lines), sweep.lines
    assert any("w1-r1: ok" in line for line in sweep.lines), sweep.lines
    assert any("w1-r2: failed master_lost" in line for line in sweep.lines), sweep.lines
    assert any("w2-r1: failed executor_lost" in line for line in sweep.lines), sweep.lines
    assert any("w2-r2: ok" in line for line in sweep.lines), sweep.lines
    assert [line for line in sweep.lines if "WARNING]" in line] == []


def test_the_w1_run_proves_its_one_executor(sweep: SweepRun) -> None:
    doc = validate(sweep.folder / "runs" / "w1-r1.json")
    assert doc["status"] == "ok", doc["error"]
    assert doc["workers"] == 1
    assert doc["dataset"]["rows"] == ROWS
    assert doc["dataset"]["source"] == "synthetic"
    assert doc["iterations"] >= 1
    assert 0 < doc["timings"]["fit_s"] < doc["timings"]["total_s"]
    assert doc["application_id"].startswith("app-")
    (executor,) = doc["executors"]
    assert executor["cores"] == 1 and executor["tasks"] > 0 and executor["removed"] is None
    assert executor["host"].startswith("spark-worker-1:")
    # Where the time went, from Spark's own data, and Spark's event log kept with the results.
    phases = doc["anatomy"]["phases"]
    assert phases["iterations"]["jobs"] == doc["iterations"]
    fit_phases = sum(
        phases[name]["wall_s"] for name in ("caching", "init", "iterations", "summary")
    )
    assert fit_phases == pytest.approx(doc["timings"]["fit_s"], rel=0.05)
    event_log = sweep.folder / doc["event_log"]
    assert event_log.name == f"w1-r1_{doc['application_id']}.zstd"
    assert event_log.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame


def test_a_killed_master_fails_its_run_truthfully_and_the_sweep_recovers(
    sweep: SweepRun,
) -> None:
    lost = validate(sweep.records["w1-r2.json"])
    assert lost["status"] == "failed"
    # The driver saw 137 as well; the master container's state says what it was.
    assert lost["error"]["kind"] == "master_lost", lost["error"]
    assert "the master container stopped during the run" in lost["error"]["message"]
    # The next run, w2-r2 (the runs are interleaved), had a master and ended well.
    after = validate(sweep.records["w2-r2.json"])
    assert after["status"] == "ok", after["error"]
    assert docker("inspect", "--format", "{{.State.Running}}", MASTER).strip() == "true"


def test_a_worker_killed_in_the_fit_fails_the_run_as_executor_lost(sweep: SweepRun) -> None:
    doc = validate(sweep.records["w2-r1.json"])
    assert doc["status"] == "failed"
    assert doc["error"]["kind"] == "executor_lost", doc["error"]["message"]
    assert "executors changed during the timed phases: lost" in doc["error"]["message"]
    lost = [e for e in doc["executors"] if e["removed"]]
    assert [e["host"].split(":")[0] for e in lost] == ["spark-worker-2"]
    assert f"{lost[0]['id']} on spark-worker-2" in doc["error"]["message"]


@pytest.fixture(scope="module")
def interrupted(sweep: SweepRun, results_dir: Path) -> Interrupted:
    """`sparksweep run` on the same sweep id resumes its two failed runs; SIGINT, as a
    terminal's Ctrl-C sends it, in the fit of the first (w2-r1: the recorded plan is
    interleaved); then the printed command."""
    argv = [sys.executable, "-m", "sparksweep", "run", "--workers", "2", "--repeats", "2"]
    argv += ["--rows", str(ROWS), "--results-dir", str(results_dir)]
    argv += ["--sweep-id", sweep.folder.name]
    for key, value in SHORT.items():
        argv += ["-e", f"{key}={value}"]
    run = subprocess.Popen(
        argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_until_fitting(sweep.folder.name, "w2-r1", lambda: run.poll() is not None)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=300)
    left_running = docker("exec", MASTER, "pgrep", "-f", "kmeans.py", check=False).strip()
    workers_left = docker("ps", "-a", "--filter", "label=sparksweep.component=worker", "-q")
    kept = records(sweep.folder)
    events_left = [p.name for p in (sweep.folder / "events").glob("app-*")]
    lines = [line for line in err.splitlines() if line.strip()]
    resume = lines[-1].split("resume it with: ", 1)[-1] if lines else ""
    # The printed command, run by this interpreter: `sparksweep` need not be on the PATH.
    command = shlex.split(resume)
    assert command[:2] == ["sparksweep", "run"], (out, err)
    resumed = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return Interrupted(
        code=run.returncode,
        out=out,
        err=err,
        left_running=left_running,
        workers_left=workers_left,
        records=kept,
        events_left=events_left,
        resume=resume,
        resumed=resumed,
    )


@pytest.fixture(scope="module")
def resumed(interrupted: Interrupted, sweep: SweepRun) -> Path:
    assert interrupted.resumed.returncode == 0, (
        interrupted.resumed.stdout + interrupted.resumed.stderr
    )
    return sweep.folder


def test_ctrl_c_stops_what_the_sweep_started_and_the_printed_command_resumes_it(
    interrupted: Interrupted, sweep: SweepRun
) -> None:
    assert interrupted.code == 130, (interrupted.out, interrupted.err)
    assert "Traceback" not in interrupted.out + interrupted.err
    (line,) = [line for line in interrupted.err.splitlines() if line.strip()]
    assert (
        f"sweep {sweep.folder.name} interrupted (its application ended, its workers removed)"
        in line
    )
    # Nothing the sweep started runs on, and nothing half written is left: the records are
    # the ones the interrupted command found.
    assert interrupted.left_running == ""
    assert interrupted.workers_left.strip() == ""
    assert interrupted.records == sweep.records
    assert interrupted.events_left == []
    assert interrupted.resumed.returncode == 0, (
        interrupted.resumed.stdout + interrupted.resumed.stderr
    )


def test_rerun_resumes_only_the_failed_runs(sweep: SweepRun, resumed: Path) -> None:
    now = records(resumed)
    assert now["w1-r1.json"] == sweep.records["w1-r1.json"]
    assert now["w2-r2.json"] == sweep.records["w2-r2.json"]
    assert validate(resumed / "runs" / "w1-r2.json")["status"] == "ok"
    doc = validate(resumed / "runs" / "w2-r1.json")
    assert doc["status"] == "ok", doc["error"]
    assert sorted(e["host"].split(":")[0] for e in doc["executors"]) == [
        "spark-worker-1",
        "spark-worker-2",
    ]
    assert [e["cores"] for e in doc["executors"]] == [1, 1]
    assert len({run["config_hash"] for run in load_runs(resumed)}) == 1


def test_report_through_the_cli(resumed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(resumed)]) == 0
    report = json.loads((resumed / "report.json").read_text())
    p = report["amdahl"]["parallel_fraction"]
    assert 0.0 <= p <= 1.0
    assert report["amdahl"]["serial_fraction"] == pytest.approx(1.0 - p)
    assert (resumed / "report.md").stat().st_size > 0
    assert (resumed / "speedup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "workers" in capsys.readouterr().out
    # The model beyond the measured points: 1..8 by default, its self-check on every run.
    model = report["model"]
    assert [row["workers"] for row in model["predictions"]] == list(range(1, 9))
    assert {check["run_id"] for check in model["self_check"]} == {
        run["run_id"] for run in load_runs(resumed) if run["status"] == "ok"
    }
    assert model["self_check_max_error"] <= 0.05
    assert "## Beyond the measured points (a model)" in (resumed / "report.md").read_text()


def test_predict_replays_every_run_at_its_own_count_within_5_percent(
    resumed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The model's self-check on real event logs: the disturbed runs included (the hog, the
    resumed ones), each replayed at its own executor count."""
    capsys.readouterr()
    assert main(["predict", str(resumed), "--workers", "1,2", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    ok = {run["run_id"]: run for run in load_runs(resumed) if run["status"] == "ok"}
    assert {entry["run_id"] for entry in document["runs"]} == set(ok)
    for entry in document["runs"]:
        run = ok[entry["run_id"]]
        (own,) = [row for row in entry["predictions"] if row["workers"] == run["workers"]]
        assert own["measured_fit_s"] == pytest.approx(run["timings"]["fit_s"])
        assert own["fit_s"] == pytest.approx(own["measured_fit_s"], rel=0.05), entry["run_id"]
        assert own["app_s"] == pytest.approx(own["measured_app_s"], rel=0.05), entry["run_id"]
        assert own["partitions"] == run["partitions"]


def test_the_run_beside_a_cpu_hog_is_marked_contended(sweep: SweepRun, resumed: Path) -> None:
    """hostcpu.py's samples see the hog as CPU the run did not use; quiet runs stay unmarked."""
    hogged = validate(resumed / "runs" / "w1-r1.json")["host_cpu"]
    assert hogged["other_cpus"] > OTHER_CPUS_LIMIT, (hogged, sweep.hog_seconds)
    assert hogged["hosts"][0]["containers"] >= 2  # the master and the worker
    quiet = validate(resumed / "runs" / "w2-r1.json")["host_cpu"]
    assert quiet["other_cpus"] < OTHER_CPUS_LIMIT, quiet
    assert quiet["hosts"][0]["ours_cpus"] > 0.5, quiet
    assert main(["report", str(resumed)]) == 0
    report = json.loads((resumed / "report.json").read_text())
    assert 1 in report["contended_workers"]
    (point,) = [p for p in report["points"] if p["workers"] == 1]
    assert any("CPUs busy" in reason for reason in point["contention"]), point
    text = (resumed / "report.md").read_text()
    assert "Contended — Amdahl fit on fit_s" in text


def test_a_changed_config_under_the_same_sweep_id_is_refused(
    resumed: Path, results_dir: Path
) -> None:
    before = records(resumed)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(
            [
                *("run", "--workers", "2", "--repeats", "2", "--rows", str(ROWS)),
                *("--sweep-id", resumed.name, "--results-dir", str(results_dir)),
                *(arg for key, value in SHORT.items() for arg in ("-e", f"{key}={value}")),
                *("-e", "spark_job_k=12"),
            ]
        )
    assert code == 1
    assert "measured with other settings (different params.k)" in stderr.getvalue()
    assert "new sweep id" in stderr.getvalue()
    assert records(resumed) == before


SECRET_FILE = Path.home() / ".config" / "sparksweep" / "spark-auth-secret"
# An application without the secret: the master must refuse its registration.
_NO_SECRET_APP = "from pyspark.sql import SparkSession; SparkSession.builder.getOrCreate()"


def test_a_submit_without_the_secret_is_refused(resumed: Path) -> None:
    since = docker("inspect", "--format", "{{.State.StartedAt}}", MASTER).strip()
    subprocess.run(
        [
            *("docker", "exec", MASTER, "sh", "-c"),
            f"printf '%s' '{_NO_SECRET_APP}' > /tmp/nosecret.py && SPARK_CONF_DIR=/tmp "
            "timeout 25 spark-submit --master spark://spark-master:7077 /tmp/nosecret.py",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )
    logs = subprocess.run(
        ["docker", "logs", "--since", since, MASTER], capture_output=True, text=True, check=True
    )
    assert "Expected SaslMessage" in logs.stdout + logs.stderr


def test_the_secret_leaks_nowhere(resumed: Path, results_dir: Path) -> None:
    secret = SECRET_FILE.read_text().strip()
    assert len(secret) == 64
    assert SECRET_FILE.stat().st_mode & 0o777 == 0o600
    places = [results_dir, REPO_ROOT]
    skip = {REPO_ROOT / ".venv", REPO_ROOT / ".git", REPO_ROOT / "data"}
    leaks = []
    for place in places:
        for path in place.rglob("*"):
            if any(part in skip for part in [path, *path.parents]) or not path.is_file():
                continue
            if secret.encode() in path.read_bytes():
                leaks.append(str(path))
    for name in docker(
        "ps", "-a", "--filter", "label=sparksweep.managed=true", "--format", "{{.Names}}"
    ).split():
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False)
        if secret in logs.stdout + logs.stderr:
            leaks.append(f"docker logs {name}")
        if secret in docker("inspect", name):
            leaks.append(f"docker inspect {name}")
    assert leaks == []


HISTORY_CONTAINER = "spark-history"
HISTORY_NETWORK = "sparksweep-history"


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.fixture
def served(resumed: Path) -> Iterator[Path]:
    """The History Server is removed after the test, whatever happened in it."""
    try:
        yield resumed
    finally:
        main(["history", "--stop"])


def test_history_serves_the_runs_of_the_sweep_then_stops(
    served: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sparksweep history` over the sweep's own event logs, beside the running cluster."""
    runs = load_runs(served)
    apps = {run["run_id"]: run["application_id"] for run in runs}
    assert sorted(apps) == ["w1-r1", "w1-r2", "w2-r1", "w2-r2"]
    for run in runs:
        assert run["status"] == "ok", run["error"]
        assert run["event_log"] == f"events/{run['run_id']}_{run['application_id']}.zstd"
        assert (served / run["event_log"]).is_file()
    capsys.readouterr()

    assert main(["history", str(served)]) == 0

    out = capsys.readouterr().out
    base = settings.history_url()
    assert f"History Server: {base}" in out
    for run_id, app in apps.items():
        assert f"{run_id}  {app}  {base}/history/{app}/jobs/" in out
    # Asked afresh, not through the CLI's own wait: the REST API lists every run, complete,
    # under the names the job gave them, and each has its jobs page.
    status, body = get(f"{base}/api/v1/applications")
    listed = {app["id"]: app for app in json.loads(body)}
    assert status == 200
    assert set(apps.values()) <= set(listed)
    for run_id, app in apps.items():
        assert listed[app]["name"] == f"sparksweep {served.name} {run_id}"
        assert all(attempt["completed"] for attempt in listed[app]["attempts"])
        assert get(f"{base}/history/{app}/jobs/")[0] == 200
    jobs = json.loads(get(f"{base}/api/v1/applications/{apps['w1-r1']}/jobs")[1])
    assert {job.get("jobGroup") for job in jobs} >= {"sparksweep-load", "sparksweep-fit"}

    (container,) = json.loads(docker("inspect", HISTORY_CONTAINER))
    host = container["HostConfig"]
    assert container["Config"]["User"] == "185:185"
    assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PortBindings"]["18080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "18080"}]
    assert [(m["Source"], m["Destination"], m["RW"]) for m in container["Mounts"]] == [
        (str((served / "events").resolve()), "/workspace/events", False)
    ]
    assert list(container["NetworkSettings"]["Networks"]) == [HISTORY_NETWORK]

    assert main(["history", "--stop"]) == 0

    assert HISTORY_CONTAINER not in docker("ps", "--all", "--format", "{{.Names}}").split()
    assert HISTORY_NETWORK not in docker("network", "ls", "--format", "{{.Name}}").split()


def assert_clean(result: PlaybookResult) -> None:
    assert result.ok, result.failures
    assert result.warnings == []


@pytest.fixture(scope="module")
def faults(results_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/integration/playbooks/faults.yml: five runs on one 2-core worker, the fourth
    one's driver killed with SIGKILL in the middle of its fit."""
    test_id = f"faults-{uuid.uuid4().hex[:8]}"
    play = Background(
        lambda: run_playbook(
            "tests/integration/playbooks/faults.yml",
            extravars={
                "sparksweep_test_id": test_id,
                "rows": ROWS,
                "results_dir": str(results_dir),
                "spark_worker_cores": 2,
            },
            private_data_dir=tmp_path_factory.mktemp("faults"),
        )
    )
    wait_until_fitting(f"{test_id}-sigkill", "w1-r1", play.done)
    assert docker("exec", MASTER, "python", "-c", _KILL_DRIVER).strip()
    assert_clean(play.join())
    return test_id


def test_worker_cores_reach_the_executors_and_the_record(faults: str, results_dir: Path) -> None:
    doc = validate(results_dir / f"{faults}-cores" / "runs" / "w1-r1.json")
    assert doc["status"] == "ok", doc["error"]
    assert doc["cores_per_worker"] == doc["config"]["cores_per_worker"] == 2
    assert [e["cores"] for e in doc["executors"]] == [2]


def test_a_run_short_of_executors_fails_within_its_wait(faults: str, results_dir: Path) -> None:
    doc = validate(results_dir / f"{faults}-missing" / "runs" / "w2-r1.json")
    assert doc["status"] == "failed"
    assert doc["error"]["kind"] == "executors_missing", doc["error"]["message"]
    message = doc["error"]["message"]
    assert "wanted exactly 2 executors with 2 cores each within 15 s" in message
    assert "registered: 0 on spark-worker-1:" in message
    assert doc["timings"]["total_s"] < 120
    assert doc["timings"]["load_s"] is None


def test_executor_out_of_memory_is_recorded_as_failed_oom(faults: str, results_dir: Path) -> None:
    doc = validate(results_dir / f"{faults}-oom" / "runs" / "w1-r1.json")
    assert doc["status"] == "failed"
    assert doc["error"]["kind"] == "oom", doc["error"]["message"][:500]


def test_a_killed_driver_is_recorded_by_the_python_writer(faults: str, results_dir: Path) -> None:
    (doc,) = load_runs(results_dir / f"{faults}-sigkill")  # schema v2, by the report's loader
    assert doc["schema_version"] == 2
    assert doc["status"] == "failed"
    assert doc["error"]["kind"] == "killed", doc["error"]["message"]
    assert doc["error"]["message"].startswith("spark-submit exited with 137 (SIGKILL")
    assert doc["config"]["cores_per_worker"] == 2


# --- the disk full ------------------------------------------------------------------


def test_a_full_disk_keeps_the_record_and_stops_the_sweep_with_one_line(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Results on a small tmpfs, filled while the run fits. Last in the module: its master
    mounts the tmpfs, and the module's teardown removes it."""
    folder = tmp_path_factory.mktemp("full-disk")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        sweep_id = f"full-{uuid.uuid4().hex[:8]}"
        play = Background(
            lambda: run_sweep(
                workers=1,
                rows=ROWS,
                sweep_id=sweep_id,
                extravars=dict(SHORT),
                results_dir=folder,
                write=print,
            )
        )
        wait_until_fitting(sweep_id, "w1-r1", play.done)
        with (folder / "filler").open("wb") as filler, contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        with pytest.raises(PlaybookError) as failed:
            play.join()
        message = str(failed.value)
        assert f"cannot write the record of w1-r1 into {folder}/{sweep_id}/runs" in message
        assert "\n" not in message.strip()
        assert not (folder / sweep_id / "runs" / "w1-r1.json").exists()
        # The measured record is in the job's output, kept in ansible-runner's artifacts.
        artifacts = REPO_ROOT / ".cache" / "runner" / sweep_id / "artifacts"
        printed = [
            line
            for path in artifacts.rglob("*.json")
            for line in path.read_text(errors="replace").split("\\n")
            if "sparksweep-record: " in line
        ]
        assert printed, "the job's record is not in the artifacts"
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", MASTER], capture_output=True, check=False)
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def test_executors_killed_at_start_up_end_the_run_within_its_wait(
    faults: str, results_dir: Path
) -> None:
    doc = validate(results_dir / f"{faults}-startup" / "runs" / "w1-r1.json")
    assert doc["status"] == "failed"
    assert doc["error"]["kind"] == "executors_missing", doc["error"]["message"]
    message = doc["error"]["message"]
    assert "wanted exactly 1 executors" in message
    # What only the driver's log holds: the executors the master launched and lost. The
    # kernel's OOM killer picks its victim inside the worker container, either the executor
    # (the worker reports "Command exited with code 137") or, on some runs, the worker's own
    # JVM (the master reports the worker lost); either way the run ends within its wait.
    assert "the master launched and lost" in message, message
    assert "exited with code 137" in message or "worker lost" in message, message
    assert doc["timings"]["total_s"] < 120


def test_until_ci_adds_a_round_interleaved_and_a_resume_keeps_the_plan(
    results_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sweep of w = 1, 2 that stops after its first extra round: +-0.49 or 2 repeats."""
    sweep_id = f"sharp-{uuid.uuid4().hex[:8]}"
    argv = ["run", "--workers", "1,2", "--until-ci", "0.49", "--max-repeats", "2"]
    argv += ["--rows", str(ROWS), "--results-dir", str(results_dir), "--sweep-id", sweep_id]
    for key, value in SHORT.items():
        argv += ["-e", f"{key}={value}"]

    assert main(argv) == 0

    runs = load_runs(results_dir / sweep_id)
    assert all(run["status"] == "ok" for run in runs)
    started = [run["run_id"] for run in sorted(runs, key=lambda run: run["started_at"])]
    assert started == ["w1-r1", "w2-r1", "w1-r2", "w2-r2"]
    plan = json.loads((results_dir / sweep_id / "plan.json").read_text())
    assert (plan["workers"], plan["repeats"], plan["order"]) == ([1, 2], 2, "interleaved")
    report = json.loads((results_dir / sweep_id / "report.json").read_text())
    assert report["until_ci"]["repeats"] == 2
    out = capsys.readouterr().out
    assert "after 1 repeat(s): p's 95% interval is unknown" in out

    # The resume finds every run done, keeps the plan and stops where the sweep stopped.
    assert main(argv) == 0
    assert sorted(run["run_id"] for run in load_runs(results_dir / sweep_id)) == sorted(started)
    assert json.loads((results_dir / sweep_id / "plan.json").read_text()) == plan
