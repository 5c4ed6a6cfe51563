"""Run the project's playbooks through ansible-runner, as the CLI and the tests do."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ansible_runner

from sparksweep import lock
from sparksweep.errors import PlaybookError, SweepInterruptedError
from sparksweep.plan import resolve_plan, write_plan
from sparksweep.progress import SweepProgress, ansible_warnings, print_line
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
        inventory=str((inventory or REPO_ROOT / "inventory" / "localhost.yml").resolve()),
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


def run_sweep(
    *,
    workers: int | Sequence[int],
    repeats: int = 1,
    order: str = "interleaved",
    seed: int | None = None,
    rows: int | None = None,
    sweep_id: str | None = None,
    extravars: dict[str, Any] | None = None,
    results_dir: Path | None = None,
    inventory: Path | None = None,
    write: Callable[[str], None] = print_line,
    progress: SweepProgress | None = None,
) -> Path:
    """Run playbooks/sweep.yml and return the sweep's results folder.

    workers is N for 1..N or the worker counts; the runs go in order (interleaved, or each
    round shuffled with seed), planned once here (sparksweep.plan): a sweep that already
    holds runs keeps the plan recorded in its plan.json (extended when these options ask
    for more repeats), PlanError when they ask for another. The plan is recorded before
    the playbook starts and passed to it as the extra variable sweep_plan.

    Holds the machine's sweep lock throughout: SweepBusyError at once when another sweep
    runs. progress is shown from the moment the lock is held; without one, the sweep's
    progress lines go to write (default: stdout).
    """
    sweep_id = sweep_id or new_sweep_id()
    results_dir = (results_dir or REPO_ROOT / "results").resolve()
    folder = results_dir / sweep_id
    variables: dict[str, Any] = dict(extravars or {})
    variables.update(
        {
            # The CLI writes and prints the report itself.
            "sparksweep_report_enabled": False,
            # This process holds the lock; the playbook must not take it again.
            "sparksweep_lock_held": True,
            "sweep_id": sweep_id,
            "results_dir": str(results_dir),
        }
    )
    if rows is not None:
        variables["rows"] = rows
    private = REPO_ROOT / ".cache" / "runner" / sweep_id
    with lock.held(sweep_id):
        # Under the lock: no other sweep can be writing this sweep's runs or plan meanwhile.
        plan = resolve_plan(folder, workers, repeats, order, seed)
        write_plan(folder, plan)
        # The runs, in order, as the role loops over them: one definition of the order.
        variables["sweep_plan"] = plan.extravar()
        progress = progress or SweepProgress(plan.workers, plan.repeats, write=write)
        with progress.shown(sweep_id, folder):
            result = run_playbook(
                "playbooks/sweep.yml",
                extravars=variables,
                inventory=inventory,
                private_data_dir=private,
                event_handler=progress,
            )
        if result.status == "canceled":
            # Ctrl-C: ansible-runner stopped ansible-playbook, but the application it
            # started in the master container with docker exec runs on. Still holding the
            # lock, end it, remove the workers and anything half written.
            stopped = run_playbook(
                "playbooks/stop.yml",
                extravars={"sweep_id": sweep_id, "results_dir": str(results_dir)},
                inventory=inventory,
                private_data_dir=private / "stop",
            )
            what = (
                "its application ended, its workers removed"
                if stopped.ok
                else "stopping it failed: "
                + (stopped.failures[0] if stopped.failures else f"status {stopped.status}")
            )
            raise SweepInterruptedError(sweep_id, f"sweep {sweep_id} interrupted ({what})")
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
