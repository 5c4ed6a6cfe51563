"""The sweep's scale step by Ansible against the same steps by the plain docker CLI.

    .venv/bin/python bench/orchestration.py [--workers 1,2,5] [--repeats 3] [--keep-cluster]

Needs the Docker Engine and the cluster's image and master: it first runs
playbooks/cluster.yml -e workers=1 (builds or reuses the image, starts the master; not
timed) and at the end playbooks/teardown.yml (every container, volume and network of ours),
unless --keep-cluster. It holds the one-sweep-at-a-time lock throughout, so it never runs
beside a sweep, but it uses the cluster's names (spark-master, spark-worker-N, the network
sparksweep, the master's UI on 127.0.0.1:18081): run it only when nothing else, such as the
integration tests, uses that cluster.

For each w, the same step two ways, each starting with w workers running:

- Ansible (our figure): bench/scale.yml, the two spark_worker steps the sweep runs before
  each run (roles/spark_sweep/tasks/run.yml): remove every worker container and volume,
  start w fresh workers, wait until the master lists exactly those w ALIVE. Timed inside
  the playbook between two markers (the times Ansible's callback stamps on their results),
  which is what the sweep pays per run; the whole ansible-playbook command, with Ansible's
  start and the inventory, is shown beside it.
- The docker CLI (the baseline), command by command as a shell script would: docker ps to
  list the workers, docker rm -f -v (their anonymous volumes go with them), docker volume
  ls / rm for any left behind, then per worker docker run with the role's image, network, mounts,
  command, user, limits, labels and healthcheck (from inventory/group_vars/all.yml, the
  roles' defaults and the running master's mounts), then a poll of the master's /json/
  every --poll-interval seconds (default 1, the role's own delay) until the same condition
  holds (not counting a removed worker the master still lists ALIVE).

Both kill the old workers (the role's force_kill, docker rm -f; --docker-remove stop-rm makes
the script stop them first, as the role did before). One difference is the tools', not the
bench's: docker run --health-cmd runs the role's healthcheck through a shell (CMD-SHELL)
where the role's is exec form (CMD).

The order alternates per repeat; the figure per w is the median over --repeats. Target:
Ansible at most 1.5 times the docker CLI at every w.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import benchlib
import yaml
from benchlib import BenchError

from sparksweep import lock, settings
from sparksweep.job.runrecord import MEMORY_SIZE

BENCHMARK = "orchestration"
TARGET = 1.5
SCALE_PLAYBOOK = "bench/scale.yml"
WORKER_LABEL = "sparksweep.component=worker"
# As roles/spark_worker/tasks/present.yml sets them (tests/unit/test_bench.py compares).
HEALTHCHECK = {"interval": "10s", "timeout": "5s", "retries": 3, "start_period": "20s"}
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
WORK_DIR = "/var/lib/spark/work"
_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class WorkerSpec:
    """Everything the role gives a worker container, for docker run."""

    image: str
    network: str
    master_host: str
    master_port: int
    cores: int
    memory: str
    memory_overhead: str
    daemon_memory: str
    ui_port_base: int
    port_base: int
    name_prefix: str
    uid: int
    src_dir: str
    data_dir: str
    conf_dir: str | None
    conf_mount: str
    pids_limit: int
    tmpfs_size: str
    log_max_size: str
    log_max_file: int
    cpus: float
    wait_timeout: float


def memory_bytes(size: str) -> int:
    """A Spark memory size (2g, the form the role asserts) in bytes, as Ansible's
    human_to_bytes reads it: powers of 1024."""
    if not re.fullmatch(MEMORY_SIZE, size):
        raise BenchError(f"{size!r} is not a memory size like 2g")
    return int(size[:-1]) * _UNITS[size[-1].lower()]


def resolve(value: Any, shared: dict[str, Any]) -> Any:
    """A role default that only names a shared variable ("{{ sparksweep_x }}") takes its value."""
    while isinstance(value, str) and (match := _TEMPLATE.fullmatch(value.strip())):
        if match.group(1) not in shared:
            raise BenchError(f"{value} names no variable of inventory/group_vars/all.yml")
        value = shared[match.group(1)]
    return value


def role_defaults(role: str) -> dict[str, Any]:
    path = benchlib.REPO_ROOT / "roles" / role / "defaults" / "main.yml"
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def mount_source(master: dict[str, Any], target: str) -> str | None:
    for mount in master.get("Mounts", []):
        if mount.get("Destination") == target:
            return mount.get("Source")
    return None


def worker_spec(
    master: dict[str, Any],
    shared: dict[str, Any],
    worker: dict[str, Any],
    common: dict[str, Any],
    host_cpus: int,
) -> WorkerSpec:
    """The worker containers the role would start, from the master container's inspect data
    (image and mounts: what the cluster runs with) and the variables' one home."""

    def var(defaults: dict[str, Any], name: str) -> Any:
        return resolve(defaults[name], shared)

    network = str(shared["sparksweep_network"])
    if network not in master.get("NetworkSettings", {}).get("Networks", {}):
        raise BenchError(f"the master is not on the network {network}: start it with cluster.yml")
    src, data = mount_source(master, "/workspace/src"), mount_source(master, "/workspace/data")
    if src is None or data is None:
        raise BenchError("the master mounts no /workspace/src or /workspace/data")
    cores = int(var(worker, "spark_worker_cores"))
    conf_mount = str(shared["sparksweep_conf_mount"])
    return WorkerSpec(
        image=master["Config"]["Image"],
        network=network,
        master_host=str(shared["sparksweep_master_name"]),
        master_port=int(shared["sparksweep_master_port"]),
        cores=cores,
        memory=str(var(worker, "spark_worker_memory")),
        memory_overhead=str(var(worker, "spark_worker_memory_overhead")),
        daemon_memory=str(var(worker, "spark_worker_daemon_memory")),
        ui_port_base=int(var(worker, "spark_worker_ui_port_base")),
        port_base=int(var(worker, "spark_worker_port_base")),
        name_prefix=str(var(worker, "spark_worker_name_prefix")),
        uid=int(shared["sparksweep_uid"]),
        src_dir=src,
        data_dir=data,
        conf_dir=mount_source(master, conf_mount),
        conf_mount=conf_mount,
        pids_limit=int(var(common, "spark_common_pids_limit")),
        tmpfs_size=str(var(common, "spark_common_tmpfs_size")),
        log_max_size=str(var(common, "spark_common_log_max_size")),
        log_max_file=int(var(common, "spark_common_log_max_file")),
        # Docker refuses a CPU limit above the host's CPUs; the role takes the smaller.
        cpus=float(min(cores, host_cpus)),
        wait_timeout=float(var(worker, "spark_worker_wait_timeout")),
    )


def worker_names(spec: WorkerSpec, count: int) -> list[str]:
    return [f"{spec.name_prefix}-{i}" for i in range(1, count + 1)]


def docker_run_argv(spec: WorkerSpec, index: int) -> list[str]:
    """docker run for worker index (0-based), as roles/spark_worker/tasks/present.yml runs it
    through roles/spark_common/tasks/container.yml."""
    name = f"{spec.name_prefix}-{index + 1}"
    ui_port = spec.ui_port_base + index
    health = (
        'python -c "import urllib.request; '
        f"urllib.request.urlopen('http://localhost:{ui_port}/json/', timeout=4)\""
    )
    env = {"SPARK_DAEMON_MEMORY": spec.daemon_memory}
    mounts = [
        f"type=bind,source={spec.src_dir},target=/workspace/src,readonly",
        f"type=bind,source={spec.data_dir},target=/workspace/data,readonly",
        "type=volume,target=/var/lib/spark,"
        f"volume-label=sparksweep.managed=true,volume-label={WORKER_LABEL}",
    ]
    if spec.conf_dir is not None:
        env["SPARK_CONF_DIR"] = spec.conf_mount
        mounts.append(f"type=bind,source={spec.conf_dir},target={spec.conf_mount},readonly")
    argv = ["docker", "run", "--detach", "--name", name, "--hostname", name]
    argv += ["--network", spec.network, "--restart", "no", "--user", f"{spec.uid}:{spec.uid}"]
    argv += ["--security-opt", "no-new-privileges", "--cap-drop", "ALL", "--read-only"]
    argv += ["--tmpfs", f"/tmp:rw,exec,size={spec.tmpfs_size}"]
    argv += ["--pids-limit", str(spec.pids_limit), "--log-driver", "json-file"]
    argv += ["--log-opt", f"max-size={spec.log_max_size}"]
    argv += ["--log-opt", f"max-file={spec.log_max_file}"]
    argv += ["--cpus", f"{spec.cpus:g}"]
    argv += ["--memory", str(memory_bytes(spec.memory) + memory_bytes(spec.memory_overhead))]
    for mount in mounts:
        argv += ["--mount", mount]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    argv += ["--health-cmd", health, "--health-interval", HEALTHCHECK["interval"]]
    argv += ["--health-timeout", HEALTHCHECK["timeout"]]
    argv += ["--health-retries", str(HEALTHCHECK["retries"])]
    argv += ["--health-start-period", HEALTHCHECK["start_period"]]
    argv += ["--label", "sparksweep.managed=true", "--label", WORKER_LABEL]
    argv += [spec.image, "spark-class", WORKER_CLASS, "--host", name]
    argv += ["--port", str(spec.port_base + index)]
    argv += ["--cores", str(spec.cores), "--memory", spec.memory]
    argv += ["--webui-port", str(ui_port), "--work-dir", WORK_DIR]
    argv += [f"spark://{spec.master_host}:{spec.master_port}"]
    return argv


def alive_ids(master_json: dict[str, Any] | None) -> set[str]:
    return {
        str(worker.get("id"))
        for worker in (master_json or {}).get("workers", [])
        if worker.get("state") == "ALIVE"
    }


def workers_ready(
    master_json: dict[str, Any] | None,
    wanted: Sequence[str],
    stale: Collection[str] = (),
) -> bool:
    """The role's condition: exactly the wanted workers ALIVE, and nothing else ALIVE.

    A worker in `stale` (ALIVE before its container was removed, under the same name) does
    not count: the script polls soon enough to see one the master has not yet marked dead.
    """
    if not master_json:
        return False
    alive = [
        worker.get("host")
        for worker in master_json.get("workers", [])
        if worker.get("state") == "ALIVE"
        and worker.get("host") in wanted
        and str(worker.get("id")) not in stale
    ]
    return len(alive) == len(wanted) and master_json.get("aliveworkers") == len(wanted)


def bench_marker(event: dict[str, Any]) -> tuple[str, datetime] | None:
    """bench/scale.yml's marker in an ansible-runner event, with the time of its result."""
    if event.get("event") != "runner_on_ok":
        return None
    msg = (event.get("event_data", {}).get("res") or {}).get("msg")
    if not isinstance(msg, dict) or "sparksweep_bench" not in msg:
        return None
    # Stamped by Ansible's callback when the result came back; else when it reached us.
    created = event.get("created")
    stamp = datetime.fromisoformat(created) if created else datetime.now(UTC)
    return str(msg["sparksweep_bench"]), stamp.replace(tzinfo=stamp.tzinfo or UTC)


def ratio_line(rows: Sequence[dict[str, Any]]) -> str:
    shown = ", ".join(f"w={row['workers']} {row['ratio']:.2f}" for row in rows)
    met = all(benchlib.meets(row["ratio"], TARGET, at_most=True) for row in rows)
    return (
        f"ratio Ansible scale step / docker CLI: {shown} "
        f"(target <= {TARGET:g}: {'met' if met else 'NOT met'})"
    )


# --- the engine ---------------------------------------------------------------------------


def master_json(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except (OSError, ValueError, urllib.error.URLError):
        return None


def docker(*argv: str) -> str:
    finished = subprocess.run(["docker", *argv], capture_output=True, text=True)
    if finished.returncode != 0:
        raise BenchError(f"docker {' '.join(argv[:2])} failed: {finished.stderr.strip()}")
    return finished.stdout


def docker_scale(
    spec: WorkerSpec, count: int, url: str, poll_interval: float, remove: str
) -> float:
    """The scale step by the docker CLI; returns its seconds."""
    started = time.perf_counter()
    stale = alive_ids(master_json(url))
    names = docker("ps", "--all", "--filter", f"label={WORKER_LABEL}", "--format", "{{.Names}}")
    if names.split():
        if remove == "stop-rm":
            docker("stop", *names.split())
            docker("rm", "--volumes", *names.split())
        else:
            docker("rm", "--force", "--volumes", *names.split())
    volumes = docker("volume", "ls", "--quiet", "--filter", f"label={WORKER_LABEL}")
    if volumes.split():
        docker("volume", "rm", *volumes.split())
    wanted = worker_names(spec, count)
    for index in range(len(wanted)):
        docker(*docker_run_argv(spec, index)[1:])
    deadline = started + spec.wait_timeout
    while not workers_ready(master_json(url), wanted, stale):
        if time.perf_counter() > deadline:
            raise BenchError(
                f"the master at {url} did not list {count} ALIVE workers within "
                f"{spec.wait_timeout:g} s (docker CLI)"
            )
        time.sleep(poll_interval)
    return time.perf_counter() - started


def ansible_scale(count: int, image: str) -> tuple[float, float]:
    """The scale step by Ansible: (seconds between the markers, the whole command's)."""
    from sparksweep.runner import run_playbook

    marks: dict[str, datetime] = {}

    def on_event(event: dict[str, Any]) -> bool:
        mark = bench_marker(event)
        if mark is not None:
            marks[mark[0]] = mark[1]
        return True

    started = time.perf_counter()
    result = run_playbook(
        SCALE_PLAYBOOK,
        extravars={"workers": count, "spark_image_ref": image},
        event_handler=on_event,
    )
    process_s = time.perf_counter() - started
    if not result.ok:
        detail = result.failures[0] if result.failures else f"status {result.status}"
        raise BenchError(f"{SCALE_PLAYBOOK} failed: {detail}")
    if set(marks) != {"scale_started", "scale_done"}:
        raise BenchError(f"{SCALE_PLAYBOOK} reported no start and end markers")
    return (marks["scale_done"] - marks["scale_started"]).total_seconds(), process_s


def playbook(name: str, **extravars: Any) -> None:
    from sparksweep.runner import run_playbook

    result = run_playbook(name, extravars=extravars)
    if not result.ok:
        detail = result.failures[0] if result.failures else f"status {result.status}"
        raise BenchError(f"{name} failed: {detail}")


def measure(args: argparse.Namespace, machine: benchlib.Machine) -> list[dict[str, Any]]:
    shared = settings.shared()
    url = (
        f"http://{shared['sparksweep_master_ui_bind_address']}:"
        f"{shared['sparksweep_master_ui_host_port']}/json/"
    )
    print("cluster: playbooks/cluster.yml -e workers=1 (image and master; not timed) ...")
    playbook("playbooks/cluster.yml", workers=1)
    if (master_json(url) or {}).get("status") != "ALIVE":
        raise BenchError(f"no ALIVE Spark master answers at {url} after cluster.yml")
    inspected = json.loads(docker("inspect", str(shared["sparksweep_master_name"])))[0]
    spec = worker_spec(
        inspected,
        shared,
        role_defaults("spark_worker"),
        role_defaults("spark_common"),
        machine.nproc,
    )
    print(f"image: {spec.image}; master UI: {url}")
    rows = []
    print(
        f"{'w':>3} {'repeat':>6} {'ansible step_s':>15} {'ansible command_s':>18} {'docker_s':>9}"
    )
    for w in args.workers:
        warning = benchlib.oversubscription(w, spec.cores, machine.nproc)
        if warning:
            print(warning)
        # Not timed: every timed step then starts from w workers running.
        docker_scale(spec, w, url, args.poll_interval, args.docker_remove)
        steps, commands, dockers = [], [], []
        for repeat in range(1, args.repeats + 1):
            ansible_first = repeat % 2 == 1
            for tool in ("ansible", "docker") if ansible_first else ("docker", "ansible"):
                if tool == "ansible":
                    step_s, command_s = ansible_scale(w, spec.image)
                    steps.append(step_s)
                    commands.append(command_s)
                else:
                    dockers.append(
                        docker_scale(spec, w, url, args.poll_interval, args.docker_remove)
                    )
            print(
                f"{w:>3} {repeat:>6} {steps[-1]:>15.2f} {commands[-1]:>18.2f} {dockers[-1]:>9.2f}"
            )
        row = {
            "workers": w,
            "cores": w * spec.cores,
            "warning": warning,
            "ansible_step_s": steps,
            "ansible_command_s": commands,
            "docker_s": dockers,
            "median_ansible_step_s": benchlib.median(steps),
            "median_ansible_command_s": benchlib.median(commands),
            "median_docker_s": benchlib.median(dockers),
        }
        row["ratio"] = benchlib.ratio(row["median_ansible_step_s"], row["median_docker_s"])
        row["ratio_command"] = benchlib.ratio(
            row["median_ansible_command_s"], row["median_docker_s"]
        )
        print(
            f"w={w}: median Ansible step {row['median_ansible_step_s']:.2f} s (whole command "
            f"{row['median_ansible_command_s']:.2f} s), docker CLI {row['median_docker_s']:.2f} s:"
            f" ratio {row['ratio']:.2f} (whole command {row['ratio_command']:.2f})"
        )
        rows.append(row)
    return rows


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Needs the Docker Engine; creates and removes the cluster's containers. "
        "See the top of bench/orchestration.py for what is compared.",
    )
    parser.add_argument(
        "--workers",
        type=benchlib.int_list,
        default=[1, 2, 5],
        help="worker counts, comma-separated (default 1,2,5)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed steps per tool and w")
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=1.0,
        help="seconds between the docker script's polls of the master (default 1, the role's)",
    )
    parser.add_argument(
        "--docker-remove",
        choices=["rm-f", "stop-rm"],
        default="rm-f",
        help="docker rm -f -v (default, as the role kills), or docker stop then docker rm -v",
    )
    parser.add_argument(
        "--keep-cluster", action="store_true", help="leave the master and workers running"
    )
    benchlib.add_results_dir(parser)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.poll_interval <= 0:
        parser.error("--repeats must be at least 1 and --poll-interval above 0")
    if max(args.workers) > settings.workers_max():
        parser.error(f"at most {settings.workers_max()} workers (sparksweep_workers_max)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    machine = benchlib.this_machine()
    print(machine.line())
    if shutil.which("docker") is None:
        raise BenchError("no docker CLI on the PATH: this benchmark needs the Docker Engine")
    print("mode: the cluster's containers on this host's Docker Engine")
    with lock.held(f"bench-orchestration-{benchlib.utc_stamp(started)}"):
        try:
            rows = measure(args, machine)
        finally:
            if not args.keep_cluster:
                print("teardown: playbooks/teardown.yml ...")
                try:
                    playbook("playbooks/teardown.yml")
                except BenchError as exc:
                    # The measurement's own error, if any, is the one to show first.
                    print(f"teardown failed: {exc}")
    summary = ratio_line(rows)
    return benchlib.finish(
        BENCHMARK,
        {
            "mode": "cluster containers on the local Docker Engine",
            "poll_interval_s": args.poll_interval,
            "docker_remove": args.docker_remove,
            "repeats": args.repeats,
            "warnings": [row["warning"] for row in rows if row["warning"]],
            "target": {"ratio_at_most": TARGET},
            "results": rows,
            "summary": summary,
        },
        machine,
        started=started,
        results_dir=args.results_dir,
    )


if __name__ == "__main__":
    raise SystemExit(benchlib.run(main, "orchestration"))
