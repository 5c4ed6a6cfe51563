"""A run's anatomy from Spark's REST job and stage data, on a hand-made application."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sparksweep.analysis import build_report
from sparksweep.job import anatomy
from sparksweep.report import render_markdown, summary_sentences
from sparksweep.results import load_runs

LOAD, FIT = "sparksweep-load", "sparksweep-fit"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "results"


def job(job_id: int, group: str, name: str, start: float, end: float) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "jobGroup": group,
        "name": name,
        "start": start,
        "end": end,
        "stageIds": [job_id],
    }


def stage(stage_id: int, tasks: int, run_ms: int, cpu_ns: int) -> dict[str, Any]:
    return {
        "stageId": stage_id,
        "numTasks": tasks,
        "executorRunTime": run_ms,
        "executorCpuTime": cpu_ns,
        "jvmGcTime": 10,
        "executorDeserializeTime": 5,
        "schedulerDelay": 20,
    }


def application() -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Load 0-2 s; fit from 3 s: caching to 5, init 5.5-6, 3 iterations of 1 s, summary to 10."""
    iteration = "collectAsMap at KMeans.scala:333"
    jobs = [
        job(0, LOAD, "count at NativeMethodAccessorImpl.java:0", 0.0, 2.0),
        job(1, FIT, "takeSample at KMeans.scala:383", 3.0, 5.0),
        job(2, FIT, "takeSample at KMeans.scala:383", 5.5, 6.0),
        job(3, FIT, iteration, 6.2, 7.0),
        job(4, FIT, iteration, 7.1, 8.0),
        job(5, FIT, iteration, 8.2, 9.0),
        job(6, FIT, "$anonfun at CompletableFuture.java:1768", 9.1, 9.8),
    ]
    stages = {i: stage(i, 16, 1000, 500_000_000) for i in range(7)}
    return jobs, stages


def test_the_fit_phases_tile_the_fit_and_name_spark_jobs() -> None:
    jobs, stages = application()
    result = anatomy.split(jobs, stages, LOAD, FIT, fit_start=3.0, fit_end=10.0)
    phases = result["phases"]

    assert [phases[name]["jobs"] for name in ("load", *anatomy.FIT_PHASES)] == [1, 1, 1, 3, 1]
    walls = [phases[name]["wall_s"] for name in anatomy.FIT_PHASES]
    assert walls == pytest.approx([2.0, 1.0, 3.0, 1.0])
    assert sum(walls) == pytest.approx(10.0 - 3.0)
    assert phases["iterations"]["per_iteration_s"] == pytest.approx([1.0, 1.0, 1.0])
    assert phases["iterations"]["median_iteration_s"] == pytest.approx(1.0)
    # Between the jobs only the driver ran: 0.5 s before init, 0.4 s among the iterations.
    assert phases["init"]["driver_only_s"] == pytest.approx(0.5)
    assert phases["iterations"]["driver_only_s"] == pytest.approx(0.2 + 0.1 + 0.2)
    assert phases["summary"]["driver_only_s"] == pytest.approx(0.1 + 0.2)
    assert phases["iterations"]["tasks"] == 48
    assert phases["iterations"]["executor_run_s"] == pytest.approx(3.0)
    assert phases["iterations"]["scheduler_delay_s"] == pytest.approx(0.06)
    assert result["executor_cpu_ratio"] == pytest.approx(0.5)


def test_a_fit_without_iteration_jobs_is_refused() -> None:
    jobs, stages = application()
    with pytest.raises(ValueError, match="no iteration job"):
        anatomy.split(jobs[:3], stages, LOAD, FIT, fit_start=3.0, fit_end=10.0)


def test_the_report_shows_where_the_time_went(tmp_path: Any) -> None:
    jobs, stages = application()
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        run["anatomy"] = anatomy.split(jobs, stages, LOAD, FIT, fit_start=3.0, fit_end=10.0)
    report = build_report(runs)

    text = render_markdown(report)
    assert "Where the time went" in text
    assert "| 1 | 2.00 | 2.00 | 1.00 | 3.00 | 1.000 | 1.00 |" in text
    assert report["amdahl_iterations"]["n_points"] == len(runs)
    sentences = " ".join(summary_sentences(report))
    assert "4.0 s of the 120.0 s fit (3%) was outside the iterations" in sentences
    assert "Executors were on CPU for 50% at w=1" in sentences
