"""`sparksweep history` end to end: real event logs, the real History Server in its container.

The sweep folder is made as a sweep makes it, by the job itself: kmeans.py runs twice in
local mode on the host with the event-log settings the spark_job role gives it (zstd, one
file per run, kept as events/<run>_<application id>.zstd), and the folder is handed to the
image's user, as the master's container leaves it. Only the History Server's own container
and network are created and removed: the engine may be running a cluster for other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparksweep import data, settings
from sparksweep.cli import main
from sparksweep.results import load_runs

SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
CONTAINER = "spark-history"
NETWORK = "sparksweep-history"
SWEEP_ID = "history-it"
ROWS = 2_000


def docker(*args: str) -> str:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def run_job(repo: Path, sweep: Path, csv: Path, run_id: str) -> None:
    """One run of the job, with the event-log settings of roles/spark_job/tasks/run.yml."""
    command = [
        str(SPARK_SUBMIT),
        "--master",
        "local[2]",
        *("--conf", "spark.ui.port=0"),
        *("--conf", "spark.ui.showConsoleProgress=false"),
        *("--conf", "spark.eventLog.enabled=true"),
        *("--conf", f"spark.eventLog.dir={(sweep / 'events').as_uri()}"),
        *("--conf", "spark.eventLog.compress=true"),
        *("--conf", "spark.eventLog.rolling.enabled=false"),
        str(repo / "sparksweep" / "job" / "kmeans.py"),
        *("--data", str(csv), "--out", str(sweep / "runs" / f"{run_id}.json")),
        *("--sweep-id", SWEEP_ID, "--run-id", run_id, "--workers", "1"),
        *("--cores-per-worker", "2", "--executor-memory", "1g", "--partitions", "2"),
        *("--k", "3", "--max-iter", "2"),
        *("--dataset-source", "synthetic", "--dataset-fingerprint", "sha256:" + "cd" * 32),
    ]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]


@pytest.fixture(scope="module")
def sweep(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SPARK_SUBMIT.is_file():
        pytest.fail(f"no spark-submit at {SPARK_SUBMIT}; the venv's pyspark provides it")
    folder = tmp_path_factory.mktemp("results") / SWEEP_ID
    (folder / "events").mkdir(parents=True)
    (folder / "runs").mkdir()
    csv = data.generate(tmp_path_factory.mktemp("data") / "synthetic.csv", ROWS, seed=3)
    for run_id in ("w1-r1", "w1-r2"):
        run_job(repo, folder, csv, run_id)
    uid = int(settings.shared()["sparksweep_uid"])
    if os.geteuid() == 0:
        for path in (folder, *folder.rglob("*")):
            os.chown(path, uid, uid)
    else:
        # What the role asks for when the image's user cannot read the logs.
        subprocess.run(["chmod", "-R", "o+rX", str(folder)], check=True)
    return folder


@pytest.fixture
def served(sweep: Path) -> Iterator[Path]:
    """The History Server is removed after the test, whatever happened in it."""
    try:
        yield sweep
    finally:
        main(["history", "--stop"])


def test_history_serves_the_runs_of_a_sweep_then_stops(
    served: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = load_runs(served)
    apps = {run["run_id"]: run["application_id"] for run in runs}
    assert sorted(apps) == ["w1-r1", "w1-r2"]
    for run in runs:
        assert run["status"] == "ok", run["error"]
        assert run["event_log"] == f"events/{run['run_id']}_{run['application_id']}.zstd"
        assert (served / run["event_log"]).is_file()

    assert main(["history", str(served)]) == 0

    out = capsys.readouterr().out
    base = settings.history_url()
    assert f"History Server: {base}" in out
    for run_id, app in apps.items():
        assert f"{run_id}  {app}  {base}/history/{app}/jobs/" in out
    # Asked afresh, not through the CLI's own wait: the REST API lists both runs, complete,
    # under the names the job gave them, and each has its jobs page.
    status, body = get(f"{base}/api/v1/applications")
    listed = {app["id"]: app for app in json.loads(body)}
    assert status == 200
    assert set(apps.values()) <= set(listed)
    for run_id, app in apps.items():
        assert listed[app]["name"] == f"sparksweep {SWEEP_ID} {run_id}"
        assert all(attempt["completed"] for attempt in listed[app]["attempts"])
        assert get(f"{base}/history/{app}/jobs/")[0] == 200
    jobs = json.loads(get(f"{base}/api/v1/applications/{apps['w1-r1']}/jobs")[1])
    assert {job.get("jobGroup") for job in jobs} >= {"sparksweep-load", "sparksweep-fit"}

    (container,) = json.loads(docker("inspect", CONTAINER))
    host = container["HostConfig"]
    assert container["Config"]["User"] == "185:185"
    assert host["ReadonlyRootfs"] and host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PortBindings"]["18080/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "18080"}]
    assert [(m["Source"], m["Destination"], m["RW"]) for m in container["Mounts"]] == [
        (str((served / "events").resolve()), "/workspace/events", False)
    ]
    assert list(container["NetworkSettings"]["Networks"]) == [NETWORK]

    assert main(["history", "--stop"]) == 0

    assert CONTAINER not in docker("ps", "--all", "--format", "{{.Names}}").split()
    assert NETWORK not in docker("network", "ls", "--format", "{{.Name}}").split()
