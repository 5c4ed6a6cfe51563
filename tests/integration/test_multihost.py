"""Several hosts for real: one sweep over workers on two Docker Engines.

The test starts a second Docker Engine on this machine in a network namespace of its own,
joined to the machine by a veth pair, so that the two engines have an address each, as two
machines would: node1 (10.213.0.1, this machine's engine) runs the master, the driver and
workers; node2 (10.213.0.2, the second engine, with its own data root, exec root, pid file,
socket and bridge) runs workers only. Nothing is moved by hand: the image reaches node2
through the image role (saved on node1, loaded on node2), the data set through the worker
role (copied into node2's own data folder and checked there), and both hosts are driven
by `sparksweep run --inventory`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from sparksweep.cli import main
from sparksweep.runner import REPO_ROOT, run_playbook

SCHEMA = json.loads((REPO_ROOT / "sparksweep" / "schemas" / "run.schema.json").read_text())
ROWS = 20_000
SHORT = ["-e", "spark_job_partitions=2", "-e", "spark_job_max_iter=10"]
NETNS = "sparksweep-node2"
# The machine's end of the veth pair and node2's end, with an address each; node2's own
# bridge lives inside its namespace, so the first engine's docker0 is never touched.
VETH_HOST, VETH_NODE2 = "ssw-node1", "ssw-node2"
NODE1, NODE2 = "10.213.0.1", "10.213.0.2"
BRIDGE2, BRIDGE2_CIDR = "docker1", "10.213.1.1/24"


def run(*argv: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)


@dataclass
class SecondEngine:
    root: Path
    process: subprocess.Popen

    @property
    def socket(self) -> str:
        return f"unix://{self.root}/docker.sock"

    def docker(self, *args: str, check: bool = True) -> str:
        return run("docker", "-H", self.socket, *args, check=check).stdout


def _remove_namespace() -> None:
    # Deleting the namespace deletes the veth pair with it (and the bridge inside it).
    run("ip", "netns", "delete", NETNS, check=False)
    run("ip", "link", "delete", VETH_HOST, check=False)


def _first_engine_starts_a_container(image: str) -> None:
    """The first engine still starts a container on its default bridge (docker0)."""
    probe = run(
        "docker", "run", "--rm", "--network", "bridge", "--entrypoint", "true", image, check=False
    )
    assert probe.returncode == 0, f"the first engine no longer starts containers: {probe.stderr}"


@pytest.fixture(scope="module")
def second_engine() -> Iterator[SecondEngine]:
    if os.geteuid() != 0:
        pytest.fail("the second Docker Engine needs root (network namespace, dockerd)")
    driver = run("docker", "info", "--format", "{{.Driver}}").stdout.strip()
    _remove_namespace()
    # Short: dockerd's and containerd's socket paths must fit a unix socket's 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="ss-node2-", dir="/tmp"))
    (root / "daemon.json").write_text("{}\n")
    for argv in (
        ["ip", "netns", "add", NETNS],
        ["ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NODE2],
        ["ip", "link", "set", VETH_NODE2, "netns", NETNS],
        ["ip", "addr", "add", f"{NODE1}/24", "dev", VETH_HOST],
        ["ip", "link", "set", VETH_HOST, "up"],
        ["ip", "-n", NETNS, "addr", "add", f"{NODE2}/24", "dev", VETH_NODE2],
        ["ip", "-n", NETNS, "link", "set", VETH_NODE2, "up"],
        ["ip", "-n", NETNS, "link", "set", "lo", "up"],
        ["ip", "-n", NETNS, "link", "add", BRIDGE2, "type", "bridge"],
        ["ip", "-n", NETNS, "addr", "add", BRIDGE2_CIDR, "dev", BRIDGE2],
        ["ip", "-n", NETNS, "link", "set", BRIDGE2, "up"],
    ):
        run(*argv)
    log = (root / "dockerd.log").open("w")
    # nsenter enters the network namespace only: `ip netns exec` would also remount /sys,
    # hiding the cgroup hierarchies dockerd needs. --config-file: the machine's daemon.json
    # sets data-root, which would clash with the flag. No --bridge=none: that removes the
    # first engine's docker0.
    process = subprocess.Popen(
        [
            "nsenter", f"--net=/run/netns/{NETNS}", "dockerd",
            "--config-file", str(root / "daemon.json"),
            "--data-root", str(root / "data"),
            "--exec-root", str(root / "exec"),
            "--pidfile", str(root / "docker.pid"),
            "-H", f"unix://{root}/docker.sock",
            "--bridge", BRIDGE2,
            "--iptables=false", "--ip-masq=false",
            "--storage-driver", driver,
            "--cgroup-parent", "sparksweep-node2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    engine = SecondEngine(root, process)
    try:
        deadline = time.monotonic() + 60
        while engine.docker("info", check=False) == "":
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (root / "dockerd.log").read_text()[-2000:]
                pytest.fail(f"the second engine did not start: {tail}")
            time.sleep(1)
        yield engine
    finally:
        for container in engine.docker("ps", "-aq", check=False).split():
            engine.docker("rm", "-f", container, check=False)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        _remove_namespace()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def inventory(second_engine: SecondEngine, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """node1 (master and workers) and node2 (workers), as a user's inventory would name them."""
    folder = tmp_path_factory.mktemp("inventory")
    # Where Ansible finds the project's settings, beside the inventory (as `run` requires).
    (folder / "group_vars").symlink_to(REPO_ROOT / "inventory" / "group_vars")
    node2_data = tmp_path_factory.mktemp("node2-data")
    hosts = {
        "all": {
            "children": {
                "spark_master": {"hosts": {"node1": None}},
                "spark_workers": {"hosts": {"node1": None, "node2": None}},
            },
            "hosts": {
                "node1": {"ansible_host": NODE1},
                "node2": {
                    "ansible_host": NODE2,
                    "sparksweep_docker_host": second_engine.socket,
                    # node2's own data folder: the data set must be copied there.
                    "sparksweep_data_dir": str(node2_data),
                },
            },
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        }
    }
    path = folder / "two-engines.yml"
    path.write_text(json.dumps(hosts, indent=2))
    return path


@pytest.fixture(scope="module")
def sweep(
    inventory: Path, second_engine: SecondEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    results = tmp_path_factory.mktemp("results")
    argv = ["run", "--workers", "2", "--rows", str(ROWS), "--results-dir", str(results)]
    argv += ["--inventory", str(inventory), "--sweep-id", "two-engines", *SHORT]
    try:
        assert main(argv) == 0
        yield results / "two-engines"
    finally:
        # The master runs on node1's host network, bound to an address of the veth pair:
        # removed before the namespace goes, and before other tests start their own.
        done = run_playbook(
            "playbooks/teardown.yml",
            inventory=inventory,
            private_data_dir=tmp_path_factory.mktemp("teardown"),
        )
        assert done.ok, done.failures


def node2_data_dir(inventory: Path) -> Path:
    return Path(json.loads(inventory.read_text())["all"]["hosts"]["node2"]["sparksweep_data_dir"])


def records(sweep: Path) -> dict[str, dict]:
    docs = {}
    for path in sorted((sweep / "runs").glob("*.json")):
        doc = json.loads(path.read_text())
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)
        docs[path.stem] = doc
    return docs


def test_a_sweep_spreads_its_workers_over_two_engines(
    sweep: Path, second_engine: SecondEngine
) -> None:
    runs = records(sweep)
    assert sorted(runs) == ["w1-r1", "w2-r1"]
    assert all(doc["status"] == "ok" for doc in runs.values()), runs
    hosts = {
        run_id: sorted(executor["host"].rpartition(":")[0] for executor in doc["executors"])
        for run_id, doc in runs.items()
    }
    # w=1 on the first worker host, w=2 one worker on each: every executor reached the
    # driver on node1 from its own host's address.
    assert hosts == {"w1-r1": [NODE1], "w2-r1": [NODE1, NODE2]}
    # The two engines share this machine's CPUs: its CPU use is counted once, as one host.
    for doc in runs.values():
        assert [h["host"] for h in doc["host_cpu"]["hosts"]] == ["node1+node2"]


def test_the_image_and_the_data_reached_the_second_engine_through_the_roles(
    sweep: Path, second_engine: SecondEngine, inventory: Path
) -> None:
    image = json.loads(next((sweep / "runs").glob("w2-r1.json")).read_text())["config"]["image"]
    ours = run("docker", "image", "inspect", "--format", "{{.Id}}", image).stdout.strip()
    theirs = second_engine.docker("image", "inspect", "--format", "{{.Id}}", image).strip()
    assert theirs == ours
    node2_data = node2_data_dir(inventory)
    files = (node2_data / "parquet").rglob("*")
    copied = sorted(path.relative_to(node2_data) for path in files if path.is_file())
    source = REPO_ROOT / "data"
    assert copied, "nothing was copied into node2's data folder"
    for relative in copied:
        assert (node2_data / relative).read_bytes() == (source / relative).read_bytes()


def test_a_stale_shared_data_folder_stops_the_sweep_before_any_run(
    sweep: Path, inventory: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    node2_data = node2_data_dir(inventory)
    part = sorted((node2_data / "parquet").rglob("*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:-1] + b"\0")
    results = tmp_path_factory.mktemp("stale-results")
    # Said to be shared, node2's folder is only checked, not copied again.
    result = run_playbook(
        "playbooks/sweep.yml",
        inventory=inventory,
        extravars={
            "workers": 1,
            "rows": ROWS,
            "sweep_id": "stale",
            "results_dir": str(results),
            "sparksweep_data_shared": True,
        },
        private_data_dir=tmp_path_factory.mktemp("stale"),
    )
    assert not result.ok
    (failure,) = result.failures
    relative = part.relative_to(node2_data / "parquet")
    assert (
        "differs from the controller's" in failure
        and f"{relative} (missing or different)" in failure
    )
    assert not (results / "stale" / "runs").exists() or not any(
        (results / "stale" / "runs").iterdir()
    )


def test_the_first_engine_is_unharmed(sweep: Path, second_engine: SecondEngine) -> None:
    image = json.loads(next((sweep / "runs").glob("w1-r1.json")).read_text())["config"]["image"]
    assert "docker0" in run("ip", "-br", "link").stdout
    _first_engine_starts_a_container(image)
