"""The sweep's progress lines and failure messages, from ansible-runner event dicts."""

from __future__ import annotations

from typing import Any

from sparksweep.runner import SweepProgress, _failure_text


def event(kind: str, task: str, **res: Any) -> dict[str, Any]:
    return {"event": kind, "event_data": {"task": task, "host": "localhost", "res": res}}


def test_progress_names_the_run_the_phase_and_skips_untouched_tasks() -> None:
    lines: list[str] = []
    progress = SweepProgress(lines.append)
    for e in [
        event("playbook_on_task_start", "Start run w2-r1"),
        event("playbook_on_task_start", "Run the workers"),
        event("runner_on_ok", "Wait until the master reports exactly the wanted ALIVE workers"),
        event("playbook_on_task_start", "Validate the CSV"),
        event("playbook_on_task_start", "Submit the K-Means job (w2-r1)"),
        event("runner_on_ok", "Show how the run went", msg="w2-r1: ok fit 3.1 s\nmore"),
    ]:
        assert progress(e) is True
    texts = [line.split("] ", 1)[1] for line in lines]
    assert texts == [
        "w2-r1  workers ALIVE",
        "w2-r1  job running",
        "w2-r1  w2-r1: ok fit 3.1 s",
    ]


def test_failure_text_names_the_task_the_host_and_the_message() -> None:
    text = _failure_text(event("runner_on_failed", "Check workers", msg="workers must be 1-16"))
    assert text == "task 'Check workers' on localhost: workers must be 1-16"
