"""What other worker counts would give: each run's event log replayed there, with its error.

A model, not a measurement. replay.py re-schedules one run's recorded tasks on w'
executors; this module turns that into what a sweep's report and `sparksweep predict`
show, for one event log or for every run of a sweep:

- The prediction of a run of ours in its own terms: `fit_s` (the run's measured fit with
  its fit jobs' span replaced by their replayed span, so the driver-only time at the fit's
  edges stays as measured) and `iterations_s` (the iterations phase, cut by the phases of
  job/anatomy.py, which also cut the run while it ran: one definition serves both).
- A per-executor cost the replay cannot see: the reduce tasks' shuffle fetch wait, which
  grows with the executors they fetch from. Its growth per executor is measured across the
  sweep's runs (least squares over every run, never below 0) and added per wave of each
  stage that reads a shuffle, as the change from the log's own executor count, so a replay
  at the log's own count adds nothing.
- Where cached partitions land: the prediction places partition i on executor i mod w'
  (a real run's first wave of equal tasks does); the replay's own placement, from the
  recorded task times, can crowd one executor, and gives the other end of `fit_s_range`.
- Task-time inflation: how much slower the same stages' tasks ran at each measured w than
  at the smallest (run time, and CPU time beside it). A second, pessimistic curve replays
  each w' with the largest slowdown measured at w' or fewer workers: past the measured
  points, tasks as slow as the slowest one made them.
- Its error where it can be checked: each run replayed at its own count (the self-check),
  and every measured point predicted from every other uncontended run (the cross-check).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from sparksweep import eventlog
from sparksweep.errors import ResultsError, SparksweepError
from sparksweep.eventlog import Application, Job, Stage
from sparksweep.job.anatomy import covered, split
from sparksweep.job.kmeans import FIT_GROUP, LOAD_GROUP
from sparksweep.replay import PLACEMENTS, Replay, Transform, replay
from sparksweep.results import load_runs

# A self-check that misses a run's own fit_s by more than this fails the model's promise.
SELF_CHECK_LIMIT = 0.05
# A cross-check prediction further off than this names the part that missed.
CROSS_CHECK_MARGIN = 0.10
# The partition counts the report's model compares at each worker count.
PARTITION_CHOICES = (4, 8, 16, 32, 64)
# The JSON shape of `sparksweep predict --json` (README, "Beyond the measured points").
PREDICT_VERSION = 1


@dataclass
class Source:
    """One event log, and the run of ours it belongs to when there is one."""

    app: Application
    run: dict[str, Any] | None = None

    @cached_property
    def fit_jobs(self) -> list[Job]:
        """The jobs of the fit's job group, by id."""
        return sorted((job for job in self.app.jobs if job.group == FIT_GROUP), key=lambda j: j.id)

    @cached_property
    def anatomy(self) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
        """The log's jobs and stages as anatomy.split() takes them, read once per log."""
        return eventlog.anatomy_data(self.app)

    @property
    def ours(self) -> bool:
        return bool(self.fit_jobs)

    @property
    def label(self) -> str:
        return self.run["run_id"] if self.run else self.app.id

    @property
    def workers(self) -> int:
        return self.run["workers"] if self.run else self.app.executor_count

    @property
    def rows(self) -> int | None:
        """The run's data set rows; None for another application or without its run JSON."""
        if self.run and self.run.get("dataset") and self.run["dataset"].get("rows"):
            return int(self.run["dataset"]["rows"])
        return None

    @property
    def host_cpus(self) -> int | None:
        """The CPUs of the host the run was measured on, when its run JSON says."""
        if self.run and self.run.get("host") and self.run["host"].get("cpus"):
            return int(self.run["host"]["cpus"])
        return None

    @property
    def partitions(self) -> int:
        """The run's partitions; for another application, its most common task count."""
        if self.run:
            return int(self.run["partitions"])
        counts = [stage.num_tasks for stage in self.app.stages if stage.tasks]
        return statistics.mode(counts) if counts else 0


@dataclass(frozen=True)
class Costs:
    """What the sweep's runs measured beyond the tasks' own durations."""

    # Seconds of fetch wait per reduce task added by each executor beyond the first.
    fetch_wait_per_executor_s: float
    # Per measured w: median fetch wait per shuffle-reading task (ms), its remote blocks
    # and bytes, and the median task launch cost (deserialization plus scheduler delay, ms).
    measured: dict[int, dict[str, float]]
    # Per measured w: the iterations' tasks' run time and CPU time over the smallest w's.
    inflation: dict[int, dict[str, float]]

    @property
    def pessimistic_factor(self) -> float:
        return max([1.0, *(entry["run_time"] for entry in self.inflation.values())])

    def factor_at(self, workers: int) -> float:
        """Tasks' slowdown at `workers`: the largest measured at this count or below (1 at
        the smallest), so the curve never has tasks faster than a measured point had them."""
        return max(
            [1.0, *(entry["run_time"] for w, entry in self.inflation.items() if w <= workers)]
        )

    def stage_cost(self, stage: Stage, extra: int, slots: int, tasks: int | None = None) -> float:
        """Extra seconds of a stage at `extra` executors more than its log had; `tasks`: its
        task count when the replay re-cut it (else its recorded attempts)."""
        if not self.fetch_wait_per_executor_s or not _reads_shuffle(stage):
            return 0.0
        waves = math.ceil((tasks if tasks is not None else len(stage.tasks)) / max(slots, 1))
        return self.fetch_wait_per_executor_s * extra * waves


NO_COSTS = Costs(0.0, {}, {})


def load(path: Path) -> Source:
    """One event log (a file or a rolled folder) and, beside it in a sweep, its run."""
    app = eventlog.read(path)
    return Source(app, _run_beside(path, app.id))


@dataclass(frozen=True)
class Shape:
    """What `sparksweep predict` asks beyond worker counts: rows, partitions, the host."""

    scale: float | None = None
    rows: int | None = None
    partitions: int | None = None
    host_cpus: int | None = None


NO_SHAPE = Shape()


def transform_for(source: Source, shape: Shape, cores: int) -> Transform | None:
    """The replay's Transform for a Shape; SparksweepError (one line) for one it cannot do."""
    if shape == NO_SHAPE:
        return None
    if shape.scale is not None and not shape.scale > 0:
        raise SparksweepError(f"--scale {shape.scale:g}: the rows' factor must be above 0")
    for flag, value in (("--rows", shape.rows), ("--partitions", shape.partitions)):
        if value is not None and value < 1:
            raise SparksweepError(f"{flag} {value}: must be at least 1")
        if value is not None and not source.ours:
            raise SparksweepError(
                f"{flag} needs a run of ours (a k-means fit); {source.label} is not: "
                "use --scale for another application"
            )
    if shape.rows is not None and source.rows is None:
        raise SparksweepError(
            f"--rows: {source.label} has no run JSON beside it (runs/) to say its rows; use --scale"
        )
    if shape.rows is not None and shape.scale is not None:
        raise SparksweepError("--rows and --scale both set the rows: give one")
    if shape.host_cpus is not None and shape.host_cpus < cores:
        raise SparksweepError(f"--host-cpus {shape.host_cpus}: below one worker's {cores} core(s)")
    scale = shape.scale or 1.0
    if shape.rows is not None and source.rows:
        scale = shape.rows / source.rows
    return Transform(
        scale=scale,
        partitions=source.partitions if shape.partitions is not None else None,
        to_partitions=shape.partitions,
        host_cpus=shape.host_cpus,
        # A log without its run's host: the host asked for, so its own count gives it back.
        own_host_cpus=source.host_cpus or shape.host_cpus,
    )


def predict(
    source: Source,
    workers: Sequence[int],
    cores: int | None = None,
    costs: Costs = NO_COSTS,
    shape: Shape = NO_SHAPE,
) -> list[dict[str, Any]]:
    """One prediction object per worker count (README, `sparksweep predict --json`)."""
    cores = cores or source.app.executor_cores
    transform = transform_for(source, shape, cores)
    measured = _measured(source)
    scale = transform.scale if transform else 1.0
    partitions = (transform.to_partitions if transform else None) or source.partitions
    # The run measured only itself: not another rows' count, partitions or host.
    same = (
        scale == 1.0
        and partitions == source.partitions
        and (shape.host_cpus is None or shape.host_cpus == (source.host_cpus or shape.host_cpus))
    )
    rows = []
    for w in workers:
        plain = _predicted(source, w, cores, 1.0, costs, transform)
        factor = costs.factor_at(w)
        slow = _predicted(source, w, cores, factor, costs, transform) if factor > 1.0 else plain
        own = same and w == source.app.executor_count and cores == source.app.executor_cores
        rows.append(
            {
                "workers": w,
                "cores": cores,
                "partitions": partitions,
                "rows": round(source.rows * scale) if source.rows else None,
                "scale": scale,
                "host_cpus": shape.host_cpus,
                **plain,
                "measured_app_s": measured["app_s"] if own else None,
                "measured_fit_s": measured["fit_s"] if own else None,
                "measured_iterations_s": measured["iterations_s"] if own else None,
                "pessimistic": {
                    "task_factor": factor,
                    "app_s": slow["app_s"],
                    "fit_s": slow["fit_s"],
                    "iterations_s": slow["iterations_s"],
                },
            }
        )
    return rows


def measure_costs(sources: Sequence[Source]) -> Costs:
    """Fetch wait growth per executor and task-time inflation, from a sweep's runs."""
    by_w: dict[int, list[Source]] = defaultdict(list)
    for source in sources:
        by_w[source.app.executor_count].append(source)
    if not by_w:
        return NO_COSTS
    measured: dict[int, dict[str, float]] = {}
    waits: list[tuple[int, float]] = []
    for w, group in sorted(by_w.items()):
        tasks = [
            task
            for source in group
            for stage in source.app.stages
            if _reads_shuffle(stage)
            for task in stage.tasks
            if task.metrics is not None
        ]
        every = [task for source in group for task in source.app.tasks if task.metrics]
        if not tasks or not every:
            continue
        wait = statistics.median(task.metrics.shuffle_fetch_wait_ms for task in tasks)
        waits.extend((w, task.metrics.shuffle_fetch_wait_ms / 1e3) for task in tasks)
        measured[w] = {
            "fetch_wait_ms": wait,
            "remote_blocks": statistics.mean(t.metrics.shuffle_remote_blocks for t in tasks),
            "remote_bytes": statistics.mean(t.metrics.shuffle_remote_bytes for t in tasks),
            "launch_ms": statistics.median(
                t.metrics.executor_deserialize_ms + t.scheduler_delay_ms for t in every
            ),
        }
    growth = 0.0
    if len({w for w, _ in waits}) >= 2:
        x = np.array([w - 1 for w, _ in waits], dtype=float)
        y = np.array([wait for _, wait in waits])
        slope, _ = np.polyfit(x, y, 1)
        growth = max(float(slope), 0.0)
    return Costs(growth, measured, _inflation(by_w))


def self_check(source: Source) -> dict[str, Any]:
    """A run replayed at its own count against what it measured: errors as fractions."""
    own = predict(source, [source.app.executor_count])[0]
    measured = _measured(source)
    errors = {key: _error(own[key], measured[key]) for key in ("app_s", "fit_s", "iterations_s")}
    return {
        "run_id": source.label,
        "workers": source.app.executor_count,
        "predicted": {key: own[key] for key in errors},
        "measured": {key: measured[key] for key in errors},
        "error": errors,
        "within_limit": all(abs(e) <= SELF_CHECK_LIMIT for e in errors.values() if e is not None),
    }


def cross_check(
    sources: Sequence[Source], contended: Sequence[int], costs: Costs = NO_COSTS
) -> list[dict[str, Any]]:
    """Every measured run predicted from every uncontended run at another worker count."""
    rows = []
    for base in sources:
        if base.workers in contended:
            continue
        for target in sources:
            if target.workers == base.workers:
                continue
            measured = _measured(target)
            cores = target.app.executor_cores
            predicted = predict(base, [target.workers], cores, costs)[0]
            error = _error(predicted["fit_s"], measured["fit_s"])
            # The same prediction on a host like the target's: its executors and driver on
            # its CPUs, from the base's own host (replay.py's docstring).
            host = target.host_cpus if target.host_cpus and target.host_cpus >= cores else None
            on_host = (
                predict(base, [target.workers], cores, costs, Shape(host_cpus=host))[0]["fit_s"]
                if host
                else None
            )
            rows.append(
                {
                    "from": base.label,
                    "to": target.label,
                    "workers": target.workers,
                    "predicted_fit_s": predicted["fit_s"],
                    "measured_fit_s": measured["fit_s"],
                    "error": error,
                    "contended": target.workers in contended,
                    "missed": _missed(base, target, predicted)
                    if error is not None and abs(error) > CROSS_CHECK_MARGIN
                    else None,
                    "host_cpus": host,
                    "host_predicted_fit_s": on_host,
                    "host_error": _error(on_host, measured["fit_s"]),
                }
            )
    return rows


def partition_cap(partitions: int, cores: int, workers: int) -> float:
    """The most the iterations can speed up from 1 to `workers` workers: whole waves."""
    if partitions < 1:
        return float(workers)
    return math.ceil(partitions / cores) / math.ceil(partitions / (workers * cores))


# Inside.


def _predicted(
    source: Source,
    workers: int,
    cores: int,
    factor: float,
    costs: Costs,
    transform: Transform | None = None,
) -> dict[str, Any]:
    """The balanced placement's prediction, with the simulated placement's as its range."""
    slots = workers * cores
    results = {
        placement: replay(
            source.app,
            workers,
            cores,
            task_factor=factor,
            stage_cost=lambda stage, extra: costs.stage_cost(
                stage, extra, slots, _recut(stage, transform)
            ),
            placement=placement,
            transform=transform,
        )
        for placement in PLACEMENTS
    }
    result = results["balanced"]
    out: dict[str, Any] = {
        "app_s": result.app_s,
        "critical_path_s": result.critical_path_s,
        "perfect_parallel_s": result.perfect_parallel_s,
        "fit_s": None,
        "fit_s_range": None,
        "iterations_s": None,
        "fit_critical_path_s": None,
        "fit_perfect_parallel_s": None,
    }
    if source.ours:
        out.update(_fit_terms(source, result))
        other = _fit_terms(source, results["simulated"])["fit_s"]
        out["fit_s_range"] = [min(out["fit_s"], other), max(out["fit_s"], other)]
    return out


def _recut(stage: Stage, transform: Transform | None) -> int | None:
    """The stage's task count when --partitions re-cut it, else None."""
    if transform is not None and transform.repartitions and stage.num_tasks == transform.partitions:
        return transform.to_partitions
    return None


def _fit_terms(source: Source, result: Replay) -> dict[str, float | None]:
    app = source.app
    fit_ids = {job.id for job in source.fit_jobs}
    jobs = {job.job_id: job for job in result.jobs if job.job_id in fit_ids}
    recorded = [job for job in source.fit_jobs if job.completed is not None]
    recorded_span = max(j.completed for j in recorded) - min(j.submitted for j in recorded)
    span = max(j.end for j in jobs.values()) - min(j.start for j in jobs.values())
    edges = _measured_fit(source) - recorded_span
    gaps = span - sum(j.end - j.start for j in jobs.values())
    rest = edges + gaps
    recorded_rows, stages = source.anatomy
    first = min(j.start for j in jobs.values())
    # The fit's jobs at their replayed times; the rows read from the log stay as recorded.
    rows = [
        {
            **row,
            "start": app.start + jobs[row["jobId"]].start,
            "end": app.start + jobs[row["jobId"]].end,
        }
        if row["jobId"] in jobs
        else row
        for row in recorded_rows
    ]
    fit_start = app.start + first - _lead(source)
    fit_end = fit_start + edges + span
    phases = split(rows, stages, LOAD_GROUP, FIT_GROUP, fit_start, fit_end)["phases"]
    return {
        "fit_s": edges + span,
        "iterations_s": phases["iterations"]["wall_s"],
        "fit_critical_path_s": rest + sum(j.critical_path_s for j in jobs.values()),
        "fit_perfect_parallel_s": rest + sum(j.perfect_parallel_s for j in jobs.values()),
    }


def _lead(source: Source) -> float:
    """The fit's driver-only lead-in before its first job, from the run's anatomy."""
    run = source.run
    caching = (run.get("anatomy") or {}).get("phases", {}).get("caching") if run else None
    if not caching or not source.fit_jobs:
        return 0.0
    # The caching phase runs from the fit's start to the end of the fit's first job.
    first = min(job.submitted for job in source.fit_jobs)
    first_job = source.fit_jobs[0]
    lead = caching["wall_s"] - ((first_job.completed or first) - first)
    return max(lead, 0.0)


def _measured(source: Source) -> dict[str, float | None]:
    app = source.app
    if not source.ours:
        return {"app_s": app.duration, "fit_s": None, "iterations_s": None}
    iterations = None
    if source.run and source.run.get("anatomy"):
        iterations = source.run["anatomy"]["phases"]["iterations"]["wall_s"]
    else:
        rows, stages = source.anatomy
        fit = [row for row in rows if row["jobGroup"] == FIT_GROUP]
        start = min(row["start"] for row in fit)
        end = max(row["end"] for row in fit)
        iterations = split(rows, stages, LOAD_GROUP, FIT_GROUP, start, end)["phases"]["iterations"][
            "wall_s"
        ]
    return {"app_s": app.duration, "fit_s": _measured_fit(source), "iterations_s": iterations}


def _measured_fit(source: Source) -> float:
    """The run's fit_s; for a log of ours without its run JSON, its fit jobs' span."""
    if source.run:
        return float(source.run["timings"]["fit_s"])
    fit = [job for job in source.fit_jobs if job.completed]
    return max(j.completed for j in fit) - min(j.submitted for j in fit)


def _inflation(by_w: dict[int, list[Source]]) -> dict[int, dict[str, float]]:
    """Per w: the same stages' median task run time and CPU time over the smallest w's."""

    def medians(group: list[Source]) -> dict[str, tuple[float, float]]:
        runs: dict[str, list[float]] = defaultdict(list)
        cpus: dict[str, list[float]] = defaultdict(list)
        for source in group:
            for stage in source.app.stages:
                for task in stage.tasks:
                    if task.metrics is None or not task.successful:
                        continue
                    runs[stage.name].append(task.metrics.executor_run_ms)
                    cpus[stage.name].append(task.metrics.executor_cpu_ns / 1e6)
        return {
            name: (statistics.median(runs[name]), statistics.median(cpus[name])) for name in runs
        }

    counts = sorted(by_w)
    if not counts:
        return {}
    base = medians(by_w[counts[0]])
    out: dict[int, dict[str, float]] = {}
    for w in counts:
        here = medians(by_w[w])
        shared = [name for name in here if name in base and base[name][0] > 0 and base[name][1] > 0]
        if not shared:
            continue
        weights = [base[name][0] for name in shared]
        out[w] = {
            "run_time": float(
                np.average([here[n][0] / base[n][0] for n in shared], weights=weights)
            ),
            "cpu_time": float(
                np.average([here[n][1] / base[n][1] for n in shared], weights=weights)
            ),
        }
    return out


def _missed(base: Source, target: Source, predicted: dict[str, Any]) -> str:
    """Which part of the fit the prediction got most wrong: compute, coordination or driver."""
    parts_pred = _parts(base, predicted["fit_s"], target.app.executor_count)
    parts_true = _parts(target, _measured_fit(target), target.app.executor_count)
    return max(parts_true, key=lambda key: abs(parts_true[key] - parts_pred[key]))


def _parts(source: Source, fit_s: float, workers: int) -> dict[str, float]:
    app = source.app
    fit_ids = {job.id for job in source.fit_jobs}
    tasks = [
        task
        for stage in app.stages
        if stage.job_id in fit_ids
        for task in stage.tasks
        if task.metrics is not None
    ]
    compute = sum(t.metrics.executor_run_ms for t in tasks) / 1e3 / (workers * app.executor_cores)
    busy = [(j.submitted, j.completed) for j in source.fit_jobs if j.completed]
    start, end = min(low for low, _ in busy), max(high for _, high in busy)
    # Driver-only: the measured fit less the time some fit job was running.
    driver = _measured_fit(source) - covered(busy, start, end)
    return {"compute": compute, "driver": driver, "coordination": fit_s - compute - driver}


def _reads_shuffle(stage: Stage) -> bool:
    return any(t.metrics and t.metrics.shuffle_records_read for t in stage.tasks)


def _error(predicted: float | None, measured: float | None) -> float | None:
    if predicted is None or not measured:
        return None
    return (predicted - measured) / measured


def _run_beside(path: Path, application_id: str) -> dict[str, Any] | None:
    """The run JSON of a sweep whose events/ folder holds this log, if there is one."""
    sweep = path.resolve().parent.parent
    if path.resolve().parent.name != "events" or not (sweep / "runs").is_dir():
        return None
    try:
        runs = load_runs(sweep)
    except ResultsError:
        # A folder that does not load as a sweep: the log is read on its own.
        return None
    return next((run for run in runs if run.get("application_id") == application_id), None)


def sweep_sources(sweep_dir: Path, runs: Sequence[dict[str, Any]]) -> list[Source]:
    """The sweep's ok runs whose event log is kept, each read; EventLogError names a bad one."""
    return [
        Source(eventlog.read(sweep_dir / run["event_log"]), run)
        for run in runs
        if run["status"] == "ok"
        and run.get("event_log")
        and (sweep_dir / run["event_log"]).exists()
    ]


def default_predict_to(measured_workers: Sequence[int]) -> int:
    """The larger of 8 and twice the largest measured worker count."""
    return max(8, 2 * max(measured_workers, default=1))


def sweep_model(
    sources: Sequence[Source], contended: Sequence[int], predict_to: int
) -> dict[str, Any] | None:
    """report.json's "model": the replay's curve beyond the measured points, and its error.

    The curve is predicted from the runs at the smallest uncontended worker count (the
    smallest of all when every one is contended): the median, over those runs, of each
    prediction. None when no run kept its event log.
    """
    ours = [source for source in sources if source.ours]
    if not ours:
        return None
    measured = sorted({source.workers for source in ours})
    quiet = [w for w in measured if w not in contended]
    base_w = (quiet or measured)[0]
    base = [source for source in ours if source.workers == base_w]
    costs = measure_costs(ours)
    cores = base[0].app.executor_cores
    workers = list(range(1, predict_to + 1))
    per_base = [predict(source, workers, cores, costs) for source in base]
    rows = []
    for i, w in enumerate(workers):
        here = [predictions[i] for predictions in per_base]
        rows.append(
            {
                "workers": w,
                "measured": w in measured,
                **{
                    key: statistics.median(row[key] for row in here)
                    for key in (
                        "fit_s",
                        "iterations_s",
                        "fit_critical_path_s",
                        "fit_perfect_parallel_s",
                    )
                },
                "fit_s_range": [
                    min(row["fit_s_range"][0] for row in here),
                    max(row["fit_s_range"][1] for row in here),
                ],
                "pessimistic_fit_s": statistics.median(row["pessimistic"]["fit_s"] for row in here),
            }
        )
    t1 = rows[0]["fit_s"]
    for row in rows:
        row["speedup"] = t1 / row["fit_s"]
        row["speedup_range"] = [t1 / row["fit_s_range"][1], t1 / row["fit_s_range"][0]]
        row["pessimistic_speedup"] = t1 / row["pessimistic_fit_s"]
        row["critical_path_speedup"] = t1 / row["fit_critical_path_s"]
        row["perfect_parallel_speedup"] = t1 / row["fit_perfect_parallel_s"]
    checks = [self_check(source) for source in ours]
    crosses = cross_check(ours, contended, costs)
    partitions = base[0].partitions
    choices = partition_choice(base, workers, cores, costs)
    return {
        "kind": "replay of recorded tasks (a model, not a measurement)",
        "base_workers": base_w,
        "base_runs": [source.label for source in base],
        "base_contended": base_w in contended,
        "predict_to": predict_to,
        "cores": cores,
        "partitions": partitions,
        "partition_cap": {str(w): partition_cap(partitions, cores, w) for w in workers},
        "predictions": rows,
        "costs": {
            "fetch_wait_per_executor_s": costs.fetch_wait_per_executor_s,
            "measured": {str(w): v for w, v in costs.measured.items()},
            "inflation": {str(w): v for w, v in costs.inflation.items()},
            "pessimistic_task_factor": costs.pessimistic_factor,
        },
        "self_check": checks,
        "self_check_limit": SELF_CHECK_LIMIT,
        "self_check_max_error": max(
            (
                abs(check["error"]["fit_s"])
                for check in checks
                if check["error"]["fit_s"] is not None
            ),
            default=None,
        ),
        "cross_check": crosses,
        "cross_check_margin": CROSS_CHECK_MARGIN,
        "cross_check_host_max_error": max(
            (abs(row["host_error"]) for row in crosses if row["host_error"] is not None),
            default=None,
        ),
        "partition_choice": choices,
    }


def partition_choice(
    base: Sequence[Source], workers: Sequence[int], cores: int, costs: Costs = NO_COSTS
) -> list[dict[str, Any]]:
    """Per worker count, the replayed fit_s at each of PARTITION_CHOICES partitions (the
    median over the base runs, as the report's curve) and the fastest of them: a model."""
    per_p = {
        p: [predict(source, workers, cores, costs, Shape(partitions=p)) for source in base]
        for p in PARTITION_CHOICES
    }
    out = []
    for i, w in enumerate(workers):
        fits = {str(p): statistics.median(rows[i]["fit_s"] for rows in per_p[p]) for p in per_p}
        out.append({"workers": w, "fit_s": fits, "fastest": int(min(fits, key=fits.__getitem__))})
    return out
