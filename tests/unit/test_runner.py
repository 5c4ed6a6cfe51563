"""The sweep's phase markers and failure messages, from ansible-runner event dicts."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from sparksweep import runner
from sparksweep.errors import PlanError
from sparksweep.lock import LOCK_ENV
from sparksweep.plan import PLAN_FILE
from sparksweep.progress import PHASES, SweepProgress
from sparksweep.runner import PlaybookResult, _failure_text

SWEEP_TASKS = Path(__file__).resolve().parents[2] / "roles" / "spark_sweep" / "tasks"


def event(kind: str, task: str, **res: Any) -> dict[str, Any]:
    return {"event": kind, "event_data": {"task": task, "host": "localhost", "res": res}}


def marker(phase: str, **fields: Any) -> dict[str, Any]:
    return event("runner_on_ok", "Mark the phase", msg={"sparksweep_phase": phase, **fields})


def test_progress_names_the_run_and_the_phase_from_markers_only() -> None:
    lines: list[str] = []
    progress = SweepProgress(4, 1, write=lines.append)
    for e in [
        marker("planned", done=["w1-r1"], runs="4"),
        marker("workers_alive", run_id="w2-r1"),
        event("runner_on_ok", "Wait until the master reports exactly the wanted ALIVE workers"),
        event("playbook_on_task_start", "Submit the K-Means job (w2-r1)"),
        marker("job_running", run_id="w2-r1"),
        marker("run_done", run_id="w2-r1", status="ok", text="fit 3.1 s"),
        marker("not_a_phase", run_id="w3-r1"),
    ]:
        assert progress(e) is True
    texts = [line.split("] ", 1)[1].strip() for line in lines]
    assert texts == [
        "data ready; 4 runs planned, already done: w1-r1",
        "w2-r1  workers ALIVE",
        "w2-r1  job running",
        "w2-r1  w2-r1: ok fit 3.1 s (2/4 done, about 0:00:00 left)",
    ]


def test_ansible_warnings_are_shown() -> None:
    lines: list[str] = []
    SweepProgress(1, 1, write=lines.append)(
        {"event": "warning", "stdout": "[WARNING]: something odd"}
    )
    assert lines[0].endswith("ansible: [WARNING]: something odd")


def emitted_markers() -> dict[str, set[str]]:
    """Every marker the spark_sweep role emits, with the fields its msg carries."""
    found: dict[str, set[str]] = {}

    def walk(tasks: list[dict[str, Any]]) -> None:
        for task in tasks:
            walk(task.get("block", []))
            msg = (task.get("ansible.builtin.debug") or {}).get("msg")
            if isinstance(msg, dict) and "sparksweep_phase" in msg:
                found[msg["sparksweep_phase"]] = set(msg) - {"sparksweep_phase"}

    for path in SWEEP_TASKS.glob("*.yml"):
        walk(yaml.safe_load(path.read_text()) or [])
    return found


def test_every_phase_the_runner_knows_is_marked_by_the_sweep_with_its_fields() -> None:
    emitted = emitted_markers()
    assert set(emitted) == set(PHASES)
    for phase, text in PHASES.items():
        named = {field for _, field, _, _ in string.Formatter().parse(text) if field}
        assert named <= emitted[phase] | {"run_id"}, (phase, named, emitted[phase])


def test_failure_text_names_the_task_the_host_and_the_message() -> None:
    text = _failure_text(event("runner_on_failed", "Check workers", msg="workers must be 1-16"))
    assert text == "task 'Check workers' on localhost: workers must be 1-16"


@pytest.fixture
def playbooks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """run_playbook replaced by a recorder that succeeds; the sweep lock in tmp_path."""
    calls: list[dict[str, Any]] = []

    def run_playbook(playbook: str, **kwargs: Any) -> PlaybookResult:
        calls.append({"playbook": playbook, **kwargs})
        return PlaybookResult(status="successful", rc=0, stats={})

    monkeypatch.setattr(runner, "run_playbook", run_playbook)
    monkeypatch.setenv(LOCK_ENV, str(tmp_path / "sparksweep.lock"))
    return calls


def test_run_sweep_records_the_plan_and_passes_its_runs_to_the_playbook(
    playbooks: list[dict[str, Any]], tmp_path: Path
) -> None:
    folder = runner.run_sweep(
        workers=(1, 2, 4),
        repeats=2,
        order="random",
        seed=11,
        sweep_id="s",
        results_dir=tmp_path / "results",
        write=lambda line: None,
    )

    (call,) = playbooks
    plan = json.loads((folder / PLAN_FILE).read_text())
    assert (plan["workers"], plan["repeats"], plan["order"], plan["seed"]) == (
        [1, 2, 4],
        2,
        "random",
        11,
    )
    assert call["extravars"]["sweep_plan"] == plan["runs"]
    assert len(plan["runs"]) == 6
    # The plan is the one definition of the runs: no workers or repeats for the role to
    # derive another from.
    assert "workers" not in call["extravars"]
    assert "repeats" not in call["extravars"]


def test_run_sweep_with_n_workers_plans_1_to_n_interleaved(
    playbooks: list[dict[str, Any]], tmp_path: Path
) -> None:
    runner.run_sweep(
        workers=2, repeats=2, sweep_id="s", results_dir=tmp_path, write=lambda line: None
    )

    (call,) = playbooks
    assert call["extravars"]["sweep_plan"] == [
        {"workers": 1, "repeat": 1},
        {"workers": 2, "repeat": 1},
        {"workers": 1, "repeat": 2},
        {"workers": 2, "repeat": 2},
    ]


def test_a_resumed_sweep_keeps_its_order_and_another_is_refused(
    playbooks: list[dict[str, Any]], tmp_path: Path
) -> None:
    first = runner.run_sweep(
        workers=(1, 2, 3, 4),
        repeats=2,
        order="random",
        sweep_id="s",
        results_dir=tmp_path,
        write=lambda line: None,
    )
    (first / "runs").mkdir(exist_ok=True)
    (first / "runs" / "w1-r1.json").write_text("{}")
    seed = json.loads((first / PLAN_FILE).read_text())["seed"]

    runner.run_sweep(
        workers=(1, 2, 3, 4),
        repeats=2,
        order="random",
        sweep_id="s",
        results_dir=tmp_path,
        write=lambda line: None,
    )
    assert playbooks[1]["extravars"]["sweep_plan"] == playbooks[0]["extravars"]["sweep_plan"]
    assert json.loads((first / PLAN_FILE).read_text())["seed"] == seed

    with pytest.raises(PlanError, match=f"random order, seed {seed}, not workers 4, 2 repeat"):
        runner.run_sweep(
            workers=4, repeats=2, sweep_id="s", results_dir=tmp_path, write=lambda line: None
        )
    assert len(playbooks) == 2


def test_a_resume_with_more_repeats_records_and_runs_the_extended_plan(
    playbooks: list[dict[str, Any]], tmp_path: Path
) -> None:
    first = runner.run_sweep(
        workers=2, repeats=1, sweep_id="s", results_dir=tmp_path, write=lambda line: None
    )
    (first / "runs").mkdir(exist_ok=True)
    (first / "runs" / "w1-r1.json").write_text("{}")

    runner.run_sweep(
        workers=2, repeats=2, sweep_id="s", results_dir=tmp_path, write=lambda line: None
    )

    plan = json.loads((first / PLAN_FILE).read_text())
    assert plan["repeats"] == 2
    assert plan["runs"] == playbooks[1]["extravars"]["sweep_plan"]
    assert plan["runs"] == [*playbooks[0]["extravars"]["sweep_plan"], *plan["runs"][2:]]
    assert plan["runs"][2:] == [{"workers": 1, "repeat": 2}, {"workers": 2, "repeat": 2}]
    assert not list(first.glob(".*.tmp"))
