"""Run the project's playbooks through ansible-runner, as the CLI and the tests do."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner

from sparksweep import lock
from sparksweep.errors import PlaybookError
from sparksweep.results import new_sweep_id

REPO_ROOT = Path(__file__).resolve().parent.parent

EventHandler = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class PlaybookResult:
    status: str
    rc: int
    stats: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    # Ansible's [WARNING] and [DEPRECATION WARNING] lines: each is a bug of ours to fix.
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    def changed_count(self) -> int:
        return sum(self.stats.get("changed", {}).values())


def ansible_warnings(event: dict[str, Any]) -> list[str]:
    """The [WARNING] and [DEPRECATION WARNING] lines Ansible printed with this event."""
    return [
        line.strip() for line in str(event.get("stdout", "")).splitlines() if "WARNING]" in line
    ]


def _failure_text(event: dict[str, Any]) -> str:
    data = event.get("event_data", {})
    res = data.get("res", {}) or {}
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or "failed"
    if isinstance(msg, list):
        msg = " ".join(str(part) for part in msg)
    task = data.get("task", "?")
    host = data.get("host", "?")
    return f"task '{task}' on {host}: {str(msg).strip()}"


def run_playbook(
    playbook: str,
    *,
    extravars: dict[str, Any] | None = None,
    inventory: Path | None = None,
    private_data_dir: Path | None = None,
    event_handler: EventHandler | None = None,
    quiet: bool = True,
) -> PlaybookResult:
    """Run playbooks/<playbook> from the repository with its ansible.cfg and inventory."""
    if private_data_dir is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        private_data_dir = REPO_ROOT / ".cache" / "runner" / stamp
    private_data_dir.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    warnings: list[str] = []

    def on_event(event: dict[str, Any]) -> bool:
        warnings.extend(ansible_warnings(event))
        # ignore_errors tasks report as failed too; only real failures end the playbook.
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable") and not event.get(
            "event_data", {}
        ).get("ignore_errors"):
            failures.append(_failure_text(event))
        return event_handler(event) if event_handler else True

    # The runner calls ansible-playbook by name; put the one beside this interpreter first on
    # the PATH so a virtualenv works without being activated.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        project_dir=str(REPO_ROOT),
        playbook=playbook,
        inventory=str(inventory or REPO_ROOT / "inventory" / "localhost.yml"),
        extravars=extravars or {},
        envvars={
            "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "PATH": path,
        },
        event_handler=on_event,
        quiet=quiet,
    )
    return PlaybookResult(
        status=result.status,
        rc=result.rc,
        stats=result.stats or {},
        failures=failures,
        warnings=warnings,
    )


# The sweep's phases, as roles/spark_sweep marks them: a debug task whose msg holds
# sparksweep_phase and the fields each line names. Markers, not task names, so renaming a
# task cannot silently end its progress line (tests/unit/test_runner.py checks both sides).
PHASES = {
    "sweep_started": "sweep {sweep_id} started",
    "cluster_ready": "image built or reused, master ALIVE",
    "data_preparing": "data: preparing (generated, validated and converted once per data set)",
    "planned": "data ready; {runs} runs planned, already done: {done}",
    "workers_removed": "workers removed with their volumes",
    "workers_alive": "workers ALIVE",
    "job_running": "job running",
    "run_done": "{run_id}: {status} {text}",
}


class SweepProgress:
    """One line per phase of the sweep: which run, which phase, elapsed time."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._start = time.monotonic()
        self._run = ""

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self._start
        self._write(f"[{elapsed:7.1f}s] {self._run:<6} {text}")

    def __call__(self, event: dict[str, Any]) -> bool:
        # Ansible's warnings are shown, not hidden with the rest of its output: each one is
        # a bug of ours.
        for line in ansible_warnings(event):
            self._line(f"ansible: {line}")
        if event.get("event") != "runner_on_ok":
            return True
        marker = (event.get("event_data", {}).get("res") or {}).get("msg")
        if isinstance(marker, dict) and marker.get("sparksweep_phase") in PHASES:
            self._run = str(marker.get("run_id", self._run))
            fields = {key: value for key, value in marker.items() if key != "sparksweep_phase"}
            if isinstance(fields.get("done"), list):
                fields["done"] = ", ".join(fields["done"]) or "none"
            self._line(PHASES[marker["sparksweep_phase"]].format_map(_Blank(fields)).strip())
        return True


class _Blank(dict[str, Any]):
    """A marker without a field its line names still gives a line."""

    def __missing__(self, key: str) -> str:
        return "?"


def run_sweep(
    *,
    workers: int,
    repeats: int = 1,
    rows: int | None = None,
    sweep_id: str | None = None,
    extravars: dict[str, Any] | None = None,
    results_dir: Path | None = None,
    write: Callable[[str], None] = print,
) -> Path:
    """Run playbooks/sweep.yml and return the sweep's results folder.

    Holds the machine's sweep lock throughout: SweepBusyError at once when another sweep
    runs.
    """
    sweep_id = sweep_id or new_sweep_id()
    results_dir = (results_dir or REPO_ROOT / "results").resolve()
    variables: dict[str, Any] = dict(extravars or {})
    variables.update(
        {
            # The CLI writes and prints the report itself.
            "sparksweep_report_enabled": False,
            # This process holds the lock; the playbook must not take it again.
            "sparksweep_lock_held": True,
            "workers": workers,
            "repeats": repeats,
            "sweep_id": sweep_id,
            "results_dir": str(results_dir),
        }
    )
    if rows is not None:
        variables["rows"] = rows
    with lock.held(sweep_id):
        write(f"sweep {sweep_id}: results in {results_dir / sweep_id}")
        result = run_playbook(
            "playbooks/sweep.yml",
            extravars=variables,
            private_data_dir=REPO_ROOT / ".cache" / "runner" / sweep_id,
            event_handler=SweepProgress(write),
        )
    if not result.ok:
        detail = (
            result.failures[0] if result.failures else f"status {result.status}, rc {result.rc}"
        )
        raise PlaybookError(f"the sweep playbook failed: {detail}")
    return results_dir / sweep_id


def serve_history(events: Path) -> None:
    """Run playbooks/history.yml: Spark's History Server over the folder of event logs.

    Needs no sweep lock: the server is a container of its own beside the cluster.
    """
    _history_playbook({"spark_history_state": "present", "history_dir": str(events.resolve())})


def stop_history() -> None:
    """Remove the History Server's container and its network."""
    _history_playbook({"spark_history_state": "absent"})


def _history_playbook(extravars: dict[str, Any]) -> None:
    result = run_playbook("playbooks/history.yml", extravars=extravars)
    if not result.ok:
        detail = (
            result.failures[0] if result.failures else f"status {result.status}, rc {result.rc}"
        )
        raise PlaybookError(f"the history playbook failed: {detail}")
