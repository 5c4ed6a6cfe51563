"""The run record: its arguments, its config and hash, its errors, and its only writer.

Every run JSON (results/<sweep_id>/runs/w<workers>-r<repeat>.json) is written by this
module: by kmeans.py when the driver lives to write it, and by this file's own command
line when it does not (`runrecord.py failure`, called by the spark_job role with the
driver's exit code and output). `runrecord.py plan` is the sweep's one resume check.

It runs in the Spark image, beside kmeans.py, and on the controller as
sparksweep.job.runrecord, so it imports only the standard library.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import hashlib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any

try:
    from sparksweep.job import hostcpu
except ImportError:
    # In the containers this file runs from /workspace/src, beside hostcpu.py.
    import hostcpu  # type: ignore[no-redef]

SCHEMA_VERSION = 2
MESSAGE_CHARS = 2000
RUN_FILE = re.compile(r"w([0-9]+)-r([0-9]+)\.json")

# 52 is Spark's own exit code for an executor that hit OutOfMemoryError; "Container
# killed" and a 137 exit of an executor are the kernel's OOM killer in a memory-limited
# container.
_OOM = re.compile(
    r"OutOfMemoryError|Java heap space|exit(?:ed with)? code (?:52|137)\b|Container killed"
)
_EXECUTOR_LOST = re.compile(r"ExecutorLostFailure|executor lost|lost executor", re.I)
# coreutils' timeout: 124 when the command ended on its signal, 137 when --kill-after had
# to follow with SIGKILL.
_TIMEOUT_CODES = (124, 137)
_SIGKILL = 137


class RunError(Exception):
    """A run that must be recorded as failed with this kind, not as a crash."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# --- arguments -------------------------------------------------------------------------


def _pattern(regex: str, what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not re.fullmatch(regex, value):
            raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
        return value

    return check


def _at_least(minimum: int) -> Callable[[str], int]:
    def check(value: str) -> int:
        number = int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return number

    return check


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not number >= 0 or math.isinf(number):
        raise argparse.ArgumentTypeError(f"{value} is not a number >= 0")
    return number


def _conf(value: str) -> tuple[str, str]:
    key, sep, setting = value.partition("=")
    if not sep or not re.fullmatch(r"spark\.[A-Za-z0-9._-]+", key):
        raise argparse.ArgumentTypeError(f"{value!r} is not spark.KEY=VALUE")
    return key, setting


# A memory size with the unit Spark reads; the CLI checks its --memory against it too.
MEMORY_SIZE = r"[0-9]+[kKmMgGtT]"
_MEMORY = _pattern(MEMORY_SIZE, "a Spark memory size like 2g or 512m")
SWEEP_ID = _pattern(r"[A-Za-z0-9._-]+", "a sweep id")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that define what a run measures: its config, hashed for resume."""
    parser.add_argument("--data", required=True, help="Parquet folder from prepare.py, or a CSV")
    parser.add_argument("--cores-per-worker", required=True, type=_at_least(1))
    parser.add_argument(
        "--executor-memory",
        required=True,
        type=_MEMORY,
        help="recorded and checked; Spark takes it from --conf spark.executor.memory",
    )
    parser.add_argument(
        "--driver-memory",
        type=_MEMORY,
        default=None,
        help="recorded and checked; Spark takes it from --conf spark.driver.memory",
    )
    parser.add_argument("--partitions", type=_at_least(1), default=16)
    parser.add_argument("--k", type=_at_least(2), default=10)
    parser.add_argument("--max-iter", type=_at_least(1), default=20)
    parser.add_argument("--tol", type=_non_negative_float, default=1e-4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--init-mode", choices=["random", "k-means||"], default="random")
    parser.add_argument(
        "--solver",
        choices=["auto", "row", "block"],
        default="row",
        help="row (default): the fastest fit measured; see the README",
    )
    parser.add_argument("--dataset-source", required=True, choices=["susy", "synthetic"])
    parser.add_argument("--dataset-fingerprint", required=True)
    parser.add_argument(
        "--dataset-rows",
        type=_at_least(0),
        help="expected row count: the run fails when the data holds another number",
    )
    parser.add_argument(
        "--spark-version", default=None, help="the run fails when Spark reports another"
    )
    parser.add_argument("--image", default=None, help="the image the cluster runs, recorded")
    parser.add_argument(
        "--conf",
        dest="confs",
        type=_conf,
        action="append",
        default=[],
        metavar="spark.KEY=VALUE",
        help="an extra Spark setting the run was submitted with: recorded and checked",
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that name one run of a sweep."""
    parser.add_argument("--out", required=True, help="metrics JSON to write")
    parser.add_argument("--sweep-id", required=True, type=SWEEP_ID)
    parser.add_argument(
        "--run-id", required=True, type=_pattern(r"w[0-9]+-r[0-9]+", "a run id like w2-r1")
    )
    parser.add_argument("--workers", required=True, type=_at_least(1))


def job_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    add_config_arguments(parser)
    add_run_arguments(parser)
    parser.add_argument(
        "--executor-wait",
        type=_non_negative_float,
        default=120.0,
        help="seconds to wait for exactly --workers executors before the run fails",
    )
    return parser


def data_format(path: str) -> str:
    """prepare.py writes Parquet folders; anything else is read as SUSY CSV."""
    return "parquet" if os.path.isdir(path) else "csv"


# --- config ------------------------------------------------------------------------------


def config_of(args: argparse.Namespace) -> dict[str, Any]:
    """Everything that makes two runs comparable; runs of one sweep must share it."""
    return {
        "dataset": {
            "fingerprint": args.dataset_fingerprint,
            "rows": args.dataset_rows,
            "source": args.dataset_source,
            "format": data_format(args.data),
        },
        "params": {
            "k": args.k,
            "max_iter": args.max_iter,
            "tol": args.tol,
            "seed": args.seed,
            "init_mode": args.init_mode,
            "solver": args.solver,
        },
        "cores_per_worker": args.cores_per_worker,
        "executor_memory": args.executor_memory,
        "driver_memory": args.driver_memory,
        "partitions": args.partitions,
        "spark_version": args.spark_version,
        "image": args.image,
        "conf": dict(sorted(args.confs)),
    }


def config_hash(config: dict[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def config_diff(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the fields that differ between two configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        names: list[str] = []
        for key in sorted(set(old) | set(new)):
            names += config_diff(old.get(key), new.get(key), f"{prefix}{key}.")
        return names
    return [] if old == new else [prefix.rstrip(".") or "config"]


# --- the record --------------------------------------------------------------------------


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def new_record(args: argparse.Namespace) -> dict[str, Any]:
    """A failed record with everything known before Spark starts; the job fills it in."""
    config = config_of(args)
    return {
        "schema_version": SCHEMA_VERSION,
        "sweep_id": args.sweep_id,
        "run_id": args.run_id,
        "workers": args.workers,
        "cores_per_worker": args.cores_per_worker,
        "executor_memory": args.executor_memory,
        "partitions": args.partitions,
        "dataset": {
            "path": args.data,
            "format": config["dataset"]["format"],
            "rows": args.dataset_rows,
            "fingerprint": args.dataset_fingerprint,
            "source": args.dataset_source,
        },
        "params": dict(config["params"]),
        "config": config,
        "config_hash": config_hash(config),
        "application_id": None,
        "executors": [],
        "anatomy": None,
        "event_log": None,
        "iterations": None,
        "cost": None,
        "timings": {
            "session_s": None,
            "executors_s": None,
            "load_s": None,
            "fit_s": None,
            "iteration_s": None,
            "total_s": None,
        },
        "spark_version": None,
        "started_at": now_iso(),
        "host": {
            "cpus": os.cpu_count() or 1,
            "mem_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        },
        "status": "failed",
        "error": None,
    }


def error_kind(text: str) -> str:
    """Classify a failure from its full text; memory first, as a killed executor is also lost."""
    if _OOM.search(text):
        return "oom"
    if _EXECUTOR_LOST.search(text):
        return "executor_lost"
    return "exception"


def set_error(record: dict[str, Any], kind: str, message: str) -> None:
    record["status"] = "failed"
    record["error"] = {"kind": kind, "message": message[:MESSAGE_CHARS]}


def write_json(path: str, record: dict[str, Any]) -> None:
    """Write atomically: readers see the old file or the whole new one, never a part.

    NaN and infinities are refused: they are not JSON, and one would block the report.
    """
    text = json.dumps(record, indent=2, allow_nan=False) + "\n"
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # Not tempfile.mkstemp: its 0600 mode would hide the results from users outside the
    # container.
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- a driver that died ------------------------------------------------------------------


def failure_kind(exit_code: int, output: str, elapsed: float, timeout: float | None) -> str:
    """Why spark-submit ended without a record of its own."""
    if timeout is not None and exit_code in _TIMEOUT_CODES and elapsed >= timeout:
        return "timeout"
    if re.search(r"OutOfMemoryError|Java heap space", output):
        return "oom"
    if exit_code == _SIGKILL:
        # A SIGKILL of the driver: the kernel's OOM killer or a person; the message says
        # which cannot be told apart from here.
        return "killed"
    return "exit"


# The prefix of the line on which a job that could not write its record prints it instead.
RECORD_FALLBACK = "sparksweep-record: "


def printed_record(output: str) -> dict[str, Any] | None:
    """The record a job printed because it could not write it, if its output holds one."""
    for line in reversed(output.splitlines()):
        if line.startswith(RECORD_FALLBACK):
            try:
                record = json.loads(line.removeprefix(RECORD_FALLBACK))
            except ValueError:
                return None
            return record if isinstance(record, dict) else None
    return None


_EXECUTOR_REMOVED = re.compile(r"Executor (app-[\w-]+/\d+) removed: ([^\n]+)")


def removed_executors(output: str) -> str | None:
    """What the master told the driver about executors it launched and lost, from the
    driver's log: an executor killed at start-up never registers, so only this shows why."""
    removed = _EXECUTOR_REMOVED.findall(output)
    if not removed:
        return None
    reasons = collections.Counter(reason.strip() for _, reason in removed)
    listed = "; ".join(f"{reason} ({count}x)" for reason, count in reasons.items())
    return (
        f"the master launched and lost {len(removed)} executor(s), last {removed[-1][0]}: " + listed
    )


def failure_record(
    args: argparse.Namespace,
    *,
    exit_code: int,
    output: str,
    elapsed: float,
    timeout: float | None,
    started_at: str | None,
    cause: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The record of a run whose driver died; cause is (kind, why) when the role knows
    better than the exit code, such as the master container killed under the driver."""
    record = new_record(args)
    if started_at:
        record["started_at"] = started_at
    record["timings"]["total_s"] = elapsed
    if cause is not None:
        head = f"{cause[1]}; spark-submit exited with {exit_code} after {elapsed:.1f} s"
        tail = output.strip()[-(MESSAGE_CHARS - len(head) - 2) :]
        set_error(record, cause[0], f"{head}: {tail}" if tail else head)
        return record
    kind = failure_kind(exit_code, output, elapsed, timeout)
    limit = f" (limit {timeout:g} s)" if kind == "timeout" else ""
    signal = " (SIGKILL: the kernel's OOM killer or a kill)" if exit_code == _SIGKILL else ""
    head = f"spark-submit exited with {exit_code}{signal} after {elapsed:.1f} s{limit}"
    tail = output.strip()[-(MESSAGE_CHARS - len(head) - 2) :]
    set_error(record, kind, f"{head}: {tail}" if tail else head)
    return record


# --- resume ------------------------------------------------------------------------------


def plan(runs_dir: str, config: dict[str, Any], sweep_id: str) -> list[str]:
    """Run ids already done with this config; RunError when the folder holds another config."""
    wanted = config_hash(config)
    done: list[str] = []
    names = sorted(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else []
    for name in names:
        if not RUN_FILE.fullmatch(name):
            continue
        path = os.path.join(runs_dir, name)
        try:
            with open(path, encoding="utf-8") as stream:
                record = json.load(stream)
        except (OSError, ValueError) as exc:
            raise RunError("resume", f"{path} cannot be read ({exc}); move it away") from exc
        if record.get("config_hash") != wanted:
            old = record.get("config")
            fields = config_diff(old, config) if isinstance(old, dict) else ["config"]
            raise RunError(
                "resume",
                f"sweep {sweep_id} already holds {name} measured with other settings "
                f"(different {', '.join(fields) or 'config'}); use a new sweep id, or the "
                "same settings to resume it",
            )
        if record.get("status") == "ok":
            done.append(name.removesuffix(".json"))
    return done


def _read_args(args_json: str, parser: argparse.ArgumentParser) -> argparse.Namespace:
    argv = json.loads(args_json)
    if not isinstance(argv, list) or not all(isinstance(item, str) for item in argv):
        raise SystemExit("--job-args must be a JSON list of strings")
    return parser.parse_args(argv)


def main(argv: Iterable[str] | None = None) -> int:
    """`plan`: print the run ids already done, as JSON; `failure`: write a failed record;
    `host-cpu`: add the hosts' CPU use during the run to its record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan_cmd = commands.add_parser("plan", help="the sweep's resume check")
    plan_cmd.add_argument("--runs-dir", required=True)
    plan_cmd.add_argument("--sweep-id", required=True, type=SWEEP_ID)
    plan_cmd.add_argument("--job-args", required=True, help="the job's config arguments, JSON")
    failure = commands.add_parser("failure", help="record a run whose driver died")
    failure.add_argument("--exit-code", required=True, type=int)
    failure.add_argument("--elapsed", required=True, type=_non_negative_float)
    failure.add_argument("--timeout", type=_non_negative_float, default=None)
    failure.add_argument("--started-at", default=None)
    failure.add_argument("--job-args", required=True, help="the job's arguments, JSON")
    failure.add_argument(
        "--cause-kind",
        type=_pattern(r"[a-z_]+", "an error kind"),
        default=None,
        help="the error kind, when the caller knows the cause (with --cause)",
    )
    failure.add_argument("--cause", default=None, help="why the run died, in words")
    failure.add_argument(
        "--out", default=None, help="write here instead of the job's --out (a host path)"
    )
    cpu = commands.add_parser(
        "host-cpu", help="add the hosts' CPU use to a run's record (samples on stdin, JSON)"
    )
    cpu.add_argument("--run", required=True, help="the run's JSON file")
    args = parser.parse_args(list(argv) if argv is not None else None)

    if args.command == "host-cpu":
        record = _read_record(args.run)
        if record is None:
            print(
                f"runrecord: {args.run} holds no run record to add the CPU use to", file=sys.stderr
            )
            return 3
        record["host_cpu"] = host_cpu(record, json.load(sys.stdin))
        write_json(args.run, record)
        print(json.dumps(record["host_cpu"]))
        return 0

    if args.command == "plan":
        config_parser = argparse.ArgumentParser(prog="job arguments")
        add_config_arguments(config_parser)
        job = _read_args(args.job_args, config_parser)
        try:
            done = plan(args.runs_dir, config_of(job), args.sweep_id)
        except RunError as exc:
            print(f"runrecord: {exc}", file=sys.stderr)
            return 3
        print(json.dumps({"done": done, "config_hash": config_hash(config_of(job))}))
        return 0

    job = _read_args(args.job_args, job_parser("job arguments"))
    # The driver's output comes on stdin: it can be long, and an argument would show in ps.
    output = sys.stdin.read() if not sys.stdin.isatty() else ""
    record = failure_record(
        job,
        exit_code=args.exit_code,
        output=output,
        elapsed=args.elapsed,
        timeout=args.timeout,
        started_at=args.started_at,
        cause=(args.cause_kind, args.cause) if args.cause_kind and args.cause else None,
    )
    out = args.out or job.out
    # The job measured the run but could not write its record: that record, not a failure.
    record = printed_record(output) or record
    earlier = _read_record(out)
    write = True
    if earlier is not None and args.started_at and earlier.get("started_at", "") >= args.started_at:
        # The job lived long enough to write this attempt's record itself: it knows more,
        # except why executors it waited for never came, which only the driver's log says.
        record = earlier
        lost = removed_executors(output)
        error = record.get("error") or {}
        write = error.get("kind") == "executors_missing" and bool(lost)
        if write:
            set_error(record, "executors_missing", f"{error['message']}; {lost}")
    if write:
        try:
            write_json(out, record)
        except OSError as exc:
            # A full disk or a lost folder: the record goes to the output, where the role
            # and ansible-runner's artifacts keep it, and the sweep stops on this line.
            print(json.dumps(record))
            print(
                f"runrecord: cannot write {out}: {exc.strerror or exc}; the record is printed "
                "above. Free the folder's disk, then resume the sweep with the same id",
                file=sys.stderr,
            )
            return 4
    print(json.dumps(record))
    return 0


# --- the hosts' CPU during the run ------------------------------------------------------


def host_cpu(record: dict[str, Any], samples: dict[str, list[Any]]) -> dict[str, Any]:
    """The record's host_cpu: per Docker host, the CPUs busy during the run, and whose.

    samples is {"hosts": [...], "start": [...], "end": [...]}, one hostcpu.py sample per
    host taken before and one after the submit. given_cpus is what the run asked for: its
    executors' cores.
    """
    # Docker hosts on one machine (two engines, as in the several-hosts test) share its CPUs:
    # the machine is counted once, with all of their containers as the run's.
    machines: dict[str, tuple[list[str], dict[str, Any], dict[str, Any]]] = {}
    for host, start, end in zip(samples["hosts"], samples["start"], samples["end"], strict=True):
        key = start.get("machine") or f"host:{host}"
        if key not in machines:
            machines[key] = (
                [host],
                dict(start, containers=dict(start["containers"])),
                dict(end, containers=dict(end["containers"])),
            )
            continue
        names, first_start, first_end = machines[key]
        names.append(host)
        first_start["containers"].update(start["containers"])
        first_end["containers"].update(end["containers"])
    hosts = [
        {"host": "+".join(names), **hostcpu.usage(start, end)}
        for names, start, end in machines.values()
    ]
    return {
        "hosts": hosts,
        "given_cpus": record["workers"] * record["cores_per_worker"],
        "other_cpus": round(sum(h["other_cpus"] for h in hosts), 3),
    }


def _read_record(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as stream:
            record = json.load(stream)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


if __name__ == "__main__":
    sys.exit(main())
