"""Bad input to the cluster playbook: a clear error, and nothing created or removed."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sparksweep.runner import run_playbook
from tests.filesystem import a_file, snapshot, unwritable_folder

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


# --- the preflight alone, as `ansible-playbook playbooks/preflight.yml` ------------------
# One case per preflight row of the README's "Bad input" table. The preflight only reads,
# so these run beside another user's cluster on the same engine: nothing here creates,
# stops or removes a container, and the UI port case binds a free port of its own.


WORKERS_FIX = "; for example -e workers=3."
RESULTS_FIX = "; make it a writable folder, or choose another with -e results_dir=DIR."


@dataclass(frozen=True)
class Preflight:
    id: str
    # The -e variables and the environment's additions, given the test's folder and a port
    # that something listens on.
    extravars: Callable[[Path, int], dict[str, str]]
    says: Callable[[Path, int], str]
    env: Callable[[Path], dict[str, str]] = lambda tmp: {}


PREFLIGHT_CASES = [
    *(
        Preflight(
            f"preflight-workers-{name}",
            lambda tmp, port, value=value: {"workers": value},
            lambda tmp, port, value=value: (
                f"workers must be a whole number from 1 to 16 (got {value}){WORKERS_FIX}"
            ),
        )
        for name, value in (("0", "0"), ("minus-1", "-1"), ("abc", "abc"), ("1000000", "1000000"))
    ),
    Preflight(
        "preflight-ui-port-taken",
        lambda tmp, port: {"workers": "1", "spark_master_ui_host_port": str(port)},
        lambda tmp, port: (
            f"spark_master: 127.0.0.1:{port} is already in use on localhost. Stop what listens "
            "there, or choose another port with -e spark_master_ui_host_port=PORT."
        ),
    ),
    Preflight(
        "preflight-docker-not-running",
        lambda tmp, port: {"workers": "1"},
        lambda tmp, port: "the Docker Engine does not answer on localhost (Error connecting: ",
        env=lambda tmp: {"DOCKER_HOST": f"unix://{tmp}/no-docker-here.sock"},
    ),
    Preflight(
        "preflight-results-dir-not-writable",
        lambda tmp, port: {"workers": "1", "results_dir": f"{unwritable_folder(tmp)}/results"},
        lambda tmp, port: (
            f"spark_master: the results go to {unwritable_folder(tmp)}/results, but on "
            f"localhost {unwritable_folder(tmp)} is not writable{RESULTS_FIX}"
        ),
    ),
    Preflight(
        "preflight-results-dir-under-a-file",
        lambda tmp, port: {"workers": "1", "results_dir": f"{a_file(tmp)}/results"},
        lambda tmp, port: (
            f"spark_master: the results go to {tmp}/a-file/results, but on localhost "
            f"{tmp}/a-file is a file, not a folder{RESULTS_FIX}"
        ),
    ),
]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that this test listens on: never the cluster's own 18081."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.mark.parametrize("case", PREFLIGHT_CASES, ids=[case.id for case in PREFLIGHT_CASES])
def test_preflight_refuses_bad_input(
    case: Preflight, repo: Path, tmp_path: Path, taken_port: int
) -> None:
    tmp = tmp_path / "input"
    tmp.mkdir()
    extravars = case.extravars(tmp, taken_port)
    watched = (repo / "data", repo / "results", tmp)
    before = snapshot(*watched)
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "playbooks/preflight.yml"]
    for key, value in extravars.items():
        command += ["-e", f"{key}={value}"]

    done = subprocess.run(
        command,
        cwd=repo,
        env={
            **os.environ,
            "ANSIBLE_CONFIG": str(repo / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            **case.env(tmp),
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output
    (line,) = [line for line in output.splitlines() if line.startswith("[ERROR]")]
    assert case.says(tmp, taken_port) in line, line
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", output), output
    assert snapshot(*watched) == before, "the preflight changed files"
