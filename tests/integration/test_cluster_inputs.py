"""Bad input to the cluster playbook: a clear error, and nothing created or removed."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparksweep.runner import run_playbook

LISTING = ["docker", "ps", "-a", "--filter", "label=sparksweep.managed=true"]


def our_containers() -> list[str]:
    out = subprocess.run(
        [*LISTING, "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    )
    return sorted(out.stdout.split())


@pytest.fixture
def before() -> Iterator[list[str]]:
    state = our_containers()
    yield state
    assert our_containers() == state, "a refused run created or removed containers"


@pytest.mark.parametrize(
    ("extravars", "expected"),
    [
        ({"workers": 0}, "workers must be a whole number from 1 to 16 (got 0)"),
        ({"workers": -2}, "workers must be a whole number from 1 to 16 (got -2)"),
        ({"workers": "abc"}, "workers must be a whole number from 1 to 16 (got abc)"),
        ({"workers": 2.5}, "workers must be a whole number from 1 to 16 (got 2.5)"),
        ({"workers": 17}, "workers must be a whole number from 1 to 16 (got 17)"),
        ({"workers": 2, "spark_workers_max": 1}, "from 1 to 1 (got 2)"),
        ({"workers": 1, "spark_worker_memory": "2q"}, "spark_worker_memory=2q"),
        ({"workers": 1, "spark_master_daemon_memory": "lots"}, "(got lots)"),
        (
            {"workers": 1, "spark_job_executor_memory": "3g"},
            "each executor asks for 1 cores and 3g, but a worker offers 1 cores and 2g",
        ),
        ({"workers": 1, "spark_job_driver_memory": "3g"}, "must fit the master container's 4g"),
    ],
)
def test_bad_input_is_refused_before_anything_is_touched(
    extravars: dict[str, object], expected: str, before: list[str], tmp_path: Path
) -> None:
    result = run_playbook("playbooks/cluster.yml", extravars=extravars, private_data_dir=tmp_path)
    assert not result.ok
    text = " ".join(" ".join(result.failures).split())
    assert expected in text, text


def test_taken_ui_port_is_refused(before: list[str], tmp_path: Path) -> None:
    if "spark-master" in before:
        pytest.skip("a master of ours already holds the port")
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_playbook(
            "playbooks/cluster.yml",
            extravars={"workers": 1, "spark_master_ui_host_port": port},
            private_data_dir=tmp_path,
        )
    assert not result.ok
    text = " ".join(" ".join(result.failures).split())
    assert f"127.0.0.1:{port} is already in use" in text, text


def test_workers_that_never_register_are_named_with_their_logs(tmp_path: Path) -> None:
    # Workers pointed at a port the master does not listen on can never register.
    try:
        result = run_playbook(
            "playbooks/cluster.yml",
            extravars={
                "workers": 2,
                "spark_worker_master_port": 7079,
                "spark_worker_wait_timeout": 10,
            },
            private_data_dir=tmp_path / "cluster",
        )
        assert not result.ok
        text = " ".join(" ".join(result.failures).split())
        assert "wanted exactly 2" in text, text
        assert "Not registered: spark-worker-1, spark-worker-2" in text, text
        # The tail of each worker's own log, where its connection errors are.
        assert "--- spark-worker-1:" in text and "Connection refused: spark-master/" in text, text
    finally:
        done = run_playbook("playbooks/teardown.yml", private_data_dir=tmp_path / "teardown")
        assert done.ok, done.failures
