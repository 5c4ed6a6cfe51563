"""Where a run's time went, from Spark's own job, stage and task data.

Read from the driver's REST API (the same status store the web UI and the event log
show), after the fit and before the session stops: timers around the fit cannot see
inside it. Standard library only: it runs in the driver beside kmeans.py.

Phases: load (the jobs of the load group), and inside the fit: caching (the fit's first
job, MLlib's first pass, which caches what MLlib keeps of its own: each vector's norm over
the job's persisted vectors with the row solver, a copy of every vector or block with
pyspark.ml's solvers; with random init it is also the count of the init's takeSample),
init (the initial centres),
iterations (one job per Lloyd iteration, whose result stage is collectAsMap in
KMeans.scala) and summary (what follows the last iteration). The fit's phases tile the
fit: each runs from the end of the one before (the fit's start for the first) to the end
of its last job (the fit's end for summary), so they sum to fit_s.
"""

from __future__ import annotations

import datetime
import itertools
import json
import statistics
import time
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

ITERATION_STAGE = "collectAsMap at KMeans.scala"
FIT_PHASES = ("caching", "init", "iterations", "summary")
_SETTLE_S = 10.0
# A driver UI on a loaded machine (seen: load 9 on 2 CPUs) took over 10 s to answer.
_TIMEOUT_S = 60


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
        return json.load(response)


def _epoch(text: str | None) -> float | None:
    """Spark's REST dates: 2026-11-27T12:00:00.123GMT."""
    if not text:
        return None
    parsed = datetime.datetime.strptime(text.replace("GMT", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return parsed.timestamp()


def covered(intervals: Iterable[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of [start, end] inside at least one interval."""
    total, reach = 0.0, start
    for low, high in sorted(intervals):
        low, high = max(low, reach), min(high, end)
        if high > low:
            total += high - low
            reach = high
    return total


def _phase(
    jobs: Sequence[dict[str, Any]], stages: dict[int, dict[str, Any]], start: float, end: float
) -> dict[str, Any]:
    intervals = [(job["start"], job["end"]) for job in jobs]
    own = [stages[stage] for job in jobs for stage in job["stageIds"] if stage in stages]
    wall = max(end - start, 0.0)
    return {
        "wall_s": wall,
        "jobs": len(jobs),
        "tasks": sum(stage["numTasks"] for stage in own),
        "executor_run_s": sum(stage["executorRunTime"] for stage in own) / 1e3,
        "executor_cpu_s": sum(stage["executorCpuTime"] for stage in own) / 1e9,
        "gc_s": sum(stage["jvmGcTime"] for stage in own) / 1e3,
        "deserialize_s": sum(stage["executorDeserializeTime"] for stage in own) / 1e3,
        "scheduler_delay_s": sum(stage["schedulerDelay"] for stage in own) / 1e3,
        "driver_only_s": max(wall - covered(intervals, start, end), 0.0),
    }


def split(
    jobs: Sequence[dict[str, Any]],
    stages: dict[int, dict[str, Any]],
    load_group: str,
    fit_group: str,
    fit_start: float,
    fit_end: float,
) -> dict[str, Any]:
    """The anatomy from REST job and stage data (jobs with epoch start and end added)."""
    load = [job for job in jobs if job.get("jobGroup") == load_group]
    fit = sorted(
        (job for job in jobs if job.get("jobGroup") == fit_group), key=lambda j: j["jobId"]
    )
    iterations = [job for job in fit if job["name"].startswith(ITERATION_STAGE)]
    if not fit or not iterations:
        raise ValueError("the fit ran no iteration job that Spark's data shows")
    first = fit.index(iterations[0])
    last = fit.index(iterations[-1])
    groups = {
        "caching": fit[:1] if first > 0 else [],
        "init": fit[1:first],
        "iterations": fit[first : last + 1],
        "summary": fit[last + 1 :],
    }
    phases: dict[str, Any] = {}
    if load:
        phases["load"] = _phase(
            load, stages, min(j["start"] for j in load), max(j["end"] for j in load)
        )
    begin = fit_start
    for name in FIT_PHASES:
        members = groups[name]
        finish = fit_end if name == "summary" else max((j["end"] for j in members), default=begin)
        phases[name] = _phase(members, stages, begin, finish)
        begin = finish
    # Each iteration from the end of the job before it: the driver's share included.
    ends = [fit[first - 1]["end"] if first > 0 else fit_start] + [j["end"] for j in iterations]
    per_iteration = [later - earlier for earlier, later in itertools.pairwise(ends)]
    phases["iterations"]["per_iteration_s"] = per_iteration
    phases["iterations"]["median_iteration_s"] = statistics.median(per_iteration)
    run = sum(p["executor_run_s"] for p in phases.values())
    cpu = sum(p["executor_cpu_s"] for p in phases.values())
    return {"phases": phases, "executor_cpu_ratio": cpu / run if run > 0 else None}


def measure(
    ui_url: str | None,
    application_id: str,
    load_group: str,
    fit_group: str,
    fit_start: float,
    fit_end: float,
) -> dict[str, Any] | None:
    """The run's anatomy, or None when the driver serves no UI (spark.ui.enabled=false)."""
    if not ui_url:
        return None
    base = f"{ui_url}/api/v1/applications/{application_id}"
    # The status store takes Spark's events from a queue: wait until every job has ended.
    deadline = time.monotonic() + _SETTLE_S
    while True:
        jobs = _get(f"{base}/jobs")
        if all(job.get("completionTime") for job in jobs) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for job in jobs:
        job["start"] = _epoch(job.get("submissionTime"))
        job["end"] = _epoch(job.get("completionTime")) or job["start"]
    jobs = [job for job in jobs if job["start"] is not None]
    stages: dict[int, dict[str, Any]] = {}
    for stage in _get(f"{base}/stages"):
        if stage.get("status") != "COMPLETE":
            continue
        tasks = _get(
            f"{base}/stages/{stage['stageId']}/{stage['attemptId']}/taskList?length=100000"
        )
        stage["schedulerDelay"] = sum(task.get("schedulerDelay", 0) for task in tasks)
        # A stage that ran twice (a retry) counts with both attempts.
        earlier = stages.get(stage["stageId"])
        if earlier is not None:
            for key in (
                "numTasks",
                "executorRunTime",
                "executorCpuTime",
                "jvmGcTime",
                "executorDeserializeTime",
                "schedulerDelay",
            ):
                stage[key] += earlier[key]
        stages[stage["stageId"]] = stage
    return split(jobs, stages, load_group, fit_group, fit_start, fit_end)
