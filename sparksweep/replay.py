"""An application's recorded tasks re-scheduled on w' executors of c cores each.

What one run's event log says another cluster size would take, after qubole/sparklens'
CompletionEstimator, with what reproduced our runs at their own executor counts within
0.6%:

- Jobs run one after another in the recorded order (our driver is single-threaded), and
  the driver-only time stays as measured: from the application's start to the first job,
  between a job's end and the next job's submission, and from the last job to the end.
- In a job, a stage is ready when the stages it depends on that ran in this job have
  ended (skipped ones don't count; a resubmitted attempt also waits for what ended last
  before it), plus its measured submission delay after them (after the job's submission,
  for a first stage).
- Its tasks take free cores in their recorded launch order. Stages ready together compete
  as Spark's FIFO pool orders them, by stage id (for stages submitted together, their
  submission order); free cores are handed out one per executor per round, as Spark's
  resource offers do (spark.task.cpus cores a task).
- A task holds its core for its slot time: from its launch to the next launch on the same
  core in the same stage (the last one on its core: to its finish). The driver launches the
  next task about 2 ms before it records the previous one's finish, so finish-to-launch
  gaps would count the turnaround wrongly; the cores are rebuilt from the launch and finish
  times. A task of a stage's first wave also keeps its launch delay, from when its core
  was free for the stage.
- A stage ends at its last task's end plus its measured tail (its completion after its
  last task's finish), a job at its last stage's end plus its own tail.
- Cached partitions stay where they were computed: a task that read partition i of a
  cached RDD (PROCESS_LOCAL in the log) prefers the executor that computed it, and takes
  another one only after spark.locality.wait.process (3 s by default) has passed since its
  stage was ready. At the log's own count the recorded placement is used, elsewhere the
  replay's own placement of the tasks that computed the partitions.

The recorded tasks can be changed before they are re-scheduled (a Transform, after
Ernest's scaling): each task's slot time is split into a row part, its executor run time
in a stage that reads the data (its records read, input plus shuffle, are at least a tenth
of the most any stage read: k-means' reduce stages read k records a partition and stay
fixed), and a fixed part, the rest of its slot (launch, deserialization, result
serialization, scheduler delay; all of it in the other stages). `scale` multiplies the row
parts; `partitions` gives the stages of the run's partition count that many tasks, each with
the stage's mean row part times recorded/asked partitions and its median fixed part, the
cached partitions numbered alike.

`host_cpus` puts every executor and the driver on one host of that many CPUs. A stage's CPU
demand is its tasks' busy share (their CPU time over their run time) times the tasks it
runs at once (its tasks, at most the slots), plus one CPU for the driver (our driver is
single-threaded and busy while a job runs: at most one CPU, so an upper bound). Past the
host's CPUs every thread gets CPUs/demand of a CPU, so each task's CPU time (not its
waiting) stretches by demand/CPUs. The recording's own host (`own_host_cpus`, the asked
count when unknown) stretched it already: that is taken out first, so the log's own count
on its own host gives back the run. Stages that run at once are counted apart.

Two bounds come with it: the critical path (unlimited executors: every task starts when its
stage is ready) and perfect parallelism (the driver's time plus each job's task time spread
over every core, as sparklens does). The critical path never exceeds the replay. Perfect
parallelism does not either, unless a stage attempt failed with tasks still running (its
tail is negative): those tasks may outlast their job.

Not modelled, so a replay at the log's own count misses such a run: jobs that overlapped
(a driver with several threads) run one after another; executors that registered late
are there from the start; a cached partition recomputed elsewhere after an eviction stays
where it was first computed; the locality wait is one level (PROCESS_LOCAL, then anywhere).
"""

from __future__ import annotations

import heapq
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sparksweep.eventlog import Application, Job, Stage, Task

DEFAULT_LOCALITY_WAIT_S = 3.0
# A reduce task prefers the executors holding this share of its map outputs (Spark's
# MapOutputTrackerMaster.REDUCER_PREF_LOCS_FRACTION).
_REDUCER_FRACTION = 0.2
# A stage whose records read are at least this share of the most any stage read holds rows.
ROW_STAGE_SHARE = 0.1
# CPUs the driver takes while a job runs (see the module's docstring).
DRIVER_CPUS = 1.0
PLACEMENTS = ("simulated", "balanced")
_TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_TIME = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")

# A stage's extra seconds at w' executors: (stage, w' minus the log's own count) -> seconds.
StageCost = Callable[[Stage, int], float]


@dataclass(frozen=True)
class Transform:
    """How the recorded tasks change before the replay (the module's docstring)."""

    # Each task's row part times this.
    scale: float = 1.0
    # Stages of `partitions` tasks (the run's partition count) get `to_partitions` tasks.
    partitions: int | None = None
    to_partitions: int | None = None
    # One host of this many CPUs for the executors and the driver; None: no host limit.
    host_cpus: int | None = None
    # The CPUs of the host the log was recorded on; None: host_cpus.
    own_host_cpus: int | None = None

    @property
    def repartitions(self) -> bool:
        return self.to_partitions is not None and self.to_partitions != self.partitions


@dataclass(frozen=True)
class TaskParts:
    """A recorded task's slot time, split (seconds), with its host's stretch taken out."""

    row_s: float
    fixed_s: float
    cpu_s: float


@dataclass(frozen=True)
class StageTime:
    """A stage attempt in the replay. Times are seconds from the application's start."""

    stage_id: int
    attempt: int
    job_id: int
    # When it was ready: its parents' end plus its submission delay.
    start: float
    end: float
    tasks: int
    # Its tasks' slot time, summed.
    task_s: float


@dataclass(frozen=True)
class JobTime:
    """A job in the replay. Times are seconds from the application's start."""

    job_id: int
    start: float
    end: float
    # Its duration with unlimited executors, and with its task time spread over every core.
    critical_path_s: float
    perfect_parallel_s: float


@dataclass(frozen=True)
class Replay:
    executors: int
    cores: int
    # Whether the replay ran at the log's own executor count and cores, with the cached
    # partitions where the log has them.
    at_own_count: bool
    app_s: float
    critical_path_s: float
    perfect_parallel_s: float
    # The driver-only time between the jobs, the same at every count.
    driver_s: float
    jobs: tuple[JobTime, ...]
    stages: tuple[StageTime, ...]


def replay(
    app: Application,
    executors: int,
    cores: int | None = None,
    *,
    task_factor: float = 1.0,
    stage_cost: StageCost | None = None,
    placement: str = "simulated",
    transform: Transform | None = None,
) -> Replay:
    """The application re-scheduled on `executors` executors of `cores` cores each.

    cores: the log's own executors' cores when not given. task_factor multiplies every
    task's slot time (1.3: tasks 30% slower). stage_cost(stage, w' - own count) gives
    seconds added to a stage's end (its tail) at another executor count than the log's:
    it is never called at the log's own count, so a replay there adds nothing. It may be
    negative, but a stage then still ends no earlier than its last task.

    placement, at another count than the log's: "simulated" puts each cached partition
    where the replay ran the task that computed it; "balanced" puts partition i on executor
    i mod w', as a real run's first wave of equal tasks does. The replay's own placement
    follows the recorded task times, whose noise can crowd one executor (a w=1 log replayed
    at w'=2 placed 16 partitions 10/6, the real w=2 run 8/8), so the two span the range.

    transform: rows, partitions and host CPUs other than the log's (the module's docstring).
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS}")
    if executors < 1 or (cores is not None and cores < 1):
        raise ValueError("a replay needs at least one executor of at least one core")
    if task_factor <= 0:
        raise ValueError("task_factor must be positive")
    if transform is not None:
        _check(transform)
    cores = cores or app.executor_cores
    own_count = app.executor_count
    # Other partitions have no recorded placement to keep.
    at_own = (
        executors == own_count
        and cores == app.executor_cores
        and not (transform is not None and transform.repartitions)
    )
    extra = executors - own_count
    # An executor runs as many tasks at once as it has cores for (spark.task.cpus each).
    slots = max(cores // _task_slots(app), 1)

    def cost(stage: Stage) -> float:
        return stage_cost(stage, extra) if stage_cost is not None and extra else 0.0

    plan = _plan(app, task_factor, transform, executors * slots)
    where: dict[tuple[int, int], int] = {}
    if at_own:
        index = {executor: i % executors for i, executor in enumerate(app.cluster_executors)}
        where = {key: index[executor] for key, executor in plan.computed.items()}
    elif placement == "balanced":
        where = {(rdd, part): part % executors for rdd, part in plan.computed}
    cluster = _Cluster(
        executors,
        slots,
        locality_wait_s(app.properties),
        where,
        recorded=at_own or placement == "balanced",
    )

    clock = plan.start_gap
    jobs: list[JobTime] = []
    stages: list[StageTime] = []
    for job in plan.jobs:
        start = clock + job.gap
        if job.nodes:
            ends = cluster.run(job.nodes, start, cost)
            end = max(ends) + job.tail
        else:
            end = start + job.tail
        jobs.append(
            JobTime(
                job_id=job.job.id,
                start=start,
                end=end,
                critical_path_s=_critical_path(job, cost),
                perfect_parallel_s=sum(n.task_s for n in job.nodes) / (executors * slots),
            )
        )
        stages.extend(
            StageTime(
                stage_id=node.stage.id,
                attempt=node.stage.attempt,
                job_id=job.job.id,
                start=node.ready,
                end=node.end,
                tasks=len(node.tasks),
                task_s=node.task_s,
            )
            for node in job.nodes
        )
        clock = end
    driver = plan.start_gap + sum(job.gap for job in plan.jobs) + plan.end_gap
    return Replay(
        executors=executors,
        cores=cores,
        at_own_count=at_own,
        app_s=clock + plan.end_gap,
        critical_path_s=driver + sum(j.critical_path_s for j in jobs),
        perfect_parallel_s=driver + sum(j.perfect_parallel_s for j in jobs),
        driver_s=driver,
        jobs=tuple(jobs),
        stages=tuple(sorted(stages, key=lambda s: (s.start, s.stage_id, s.attempt))),
    )


def locality_wait_s(properties: dict[str, str]) -> float:
    """How long a task waits for its cached partition's executor (PROCESS_LOCAL level)."""
    text = properties.get("spark.locality.wait.process") or properties.get("spark.locality.wait")
    if not text:
        return DEFAULT_LOCALITY_WAIT_S
    match = _TIME.match(text.lower())
    if not match or match.group(2) not in ("", *_TIME_UNITS):
        return DEFAULT_LOCALITY_WAIT_S
    # A bare number is milliseconds, as Spark reads this setting.
    return float(match.group(1)) * _TIME_UNITS[match.group(2) or "ms"]


# The plan: what the replay needs from the log, the same at every count.


@dataclass
class _Task:
    order: int
    duration: float
    # The cached (RDD, partition) it reads, and those it computed and cached.
    reads: tuple[int, int] | None
    computes: tuple[tuple[int, int], ...]
    # The index in its node of the failed attempt it retries (it starts after that ends).
    after: int | None
    # Recorded NODE_LOCAL after a shuffle in its job: Spark preferred the executors holding
    # its map outputs (spark.shuffle.reduceLocality), and the replay does as well.
    near_outputs: bool = False


@dataclass
class _Node:
    stage: Stage
    parents: list[int]
    delay: float
    tail: float
    tasks: list[_Task]
    task_s: float
    # The tasks (their indexes) that each failed attempt's retry is.
    retries: dict[int, list[int]]
    # The replay's, per run.
    ready: float = 0.0
    end: float = 0.0


@dataclass
class _JobPlan:
    job: Job
    gap: float
    tail: float
    nodes: list[_Node]


@dataclass
class _Plan:
    start_gap: float
    end_gap: float
    jobs: list[_JobPlan]
    # The executor that computed each cached partition, as recorded.
    computed: dict[tuple[int, int], str] = field(default_factory=dict)


def _check(transform: Transform) -> None:
    if transform.scale <= 0:
        raise ValueError("scale must be positive")
    if transform.to_partitions is not None and (
        transform.to_partitions < 1 or transform.partitions is None or transform.partitions < 1
    ):
        raise ValueError("partitions need the run's own count and at least one asked for")
    for cpus in (transform.host_cpus, transform.own_host_cpus):
        if cpus is not None and cpus < 1:
            raise ValueError("a host has at least one CPU")


def _plan(
    app: Application, factor: float, transform: Transform | None = None, total_slots: int = 1
) -> _Plan:
    slot_times = _slot_times(app)
    by_job: dict[int, list[Stage]] = {}
    for stage in app.stages:
        if stage.job_id is not None:
            by_job.setdefault(stage.job_id, []).append(stage)
    ran = sorted(
        (job for job in app.jobs if job.id in by_job or job.completed is not None),
        key=lambda job: (job.submitted, job.id),
    )
    reads, computes, computed = _cache_use(app)
    order = {
        task.task_id: i
        for i, task in enumerate(sorted(app.tasks, key=lambda t: (t.launch, t.task_id)))
    }
    shaper = (
        _Shaper(app, slot_times, transform, total_slots, reads, computes)
        if transform is not None
        else None
    )
    jobs: list[_JobPlan] = []
    previous_end: float | None = None
    for job in ran:
        stages = sorted(by_job.get(job.id, []), key=lambda s: (s.submitted, s.id, s.attempt))
        completed = job.completed
        if completed is None:
            completed = max((_completed(s) for s in stages), default=job.submitted)
        nodes = _nodes(job, stages, slot_times, factor, order, reads, computes)
        if shaper is not None:
            nodes = [shaper.node(node, factor) for node in nodes]
        last = max((_completed(s) for s in stages), default=None)
        gap = job.submitted - (app.start if previous_end is None else previous_end)
        jobs.append(
            _JobPlan(
                job=job,
                gap=max(gap, 0.0),
                tail=completed - (last if last is not None else job.submitted),
                nodes=nodes,
            )
        )
        previous_end = completed if previous_end is None else max(previous_end, completed)
    start_gap = jobs[0].gap if jobs else 0.0
    if jobs:
        jobs[0].gap = 0.0
    end_gap = max(app.end - previous_end, 0.0) if previous_end is not None else app.duration
    if transform is not None and transform.repartitions:
        # The new partitions' keys, for the balanced placement (no executor recorded them).
        computed = {
            key: ""
            for job in jobs
            for node in job.nodes
            for task in node.tasks
            for key in task.computes
        }
    return _Plan(start_gap=start_gap, end_gap=end_gap, jobs=jobs, computed=computed)


def _completed(stage: Stage) -> float:
    if stage.completed is not None:
        return stage.completed
    return max((task.finish for task in stage.tasks), default=stage.submitted)


def _nodes(
    job: Job,
    stages: list[Stage],
    slot_times: dict[int, float],
    factor: float,
    order: dict[int, int],
    reads: dict[int, tuple[int, int]],
    computes: dict[int, tuple[tuple[int, int], ...]],
) -> list[_Node]:
    nodes: list[_Node] = []
    latest: dict[int, int] = {}
    for stage in stages:
        parents = {latest[p] for p in stage.parent_ids if p in latest}
        if stage.attempt > 0:
            # A resubmission follows the failure that caused it: what ended last before it.
            before = [
                i for i, node in enumerate(nodes) if _completed(node.stage) <= stage.submitted
            ]
            if before:
                parents.add(max(before, key=lambda i: _completed(nodes[i].stage)))
            if stage.id in latest:
                parents.add(latest[stage.id])
        anchor = max((_completed(nodes[p].stage) for p in parents), default=job.submitted)
        tasks: list[_Task] = []
        attempts: dict[int, int] = {}
        for task in stage.tasks:
            retried = attempts.get(task.index)
            tasks.append(
                _Task(
                    order=order[task.task_id],
                    duration=slot_times[task.task_id] * factor,
                    reads=reads.get(task.task_id),
                    computes=computes.get(task.task_id, ()),
                    after=retried if retried is not None and not task.speculative else None,
                    near_outputs=bool(parents) and task.locality == "NODE_LOCAL",
                )
            )
            attempts[task.index] = len(tasks) - 1
        last_finish = max((task.finish for task in stage.tasks), default=stage.submitted)
        retries: dict[int, list[int]] = {}
        for t, task in enumerate(tasks):
            if task.after is not None:
                retries.setdefault(task.after, []).append(t)
        nodes.append(
            _Node(
                stage=stage,
                parents=sorted(parents),
                delay=stage.submitted - anchor,
                tail=_completed(stage) - last_finish,
                tasks=tasks,
                task_s=sum(task.duration for task in tasks),
                retries=retries,
            )
        )
        latest[stage.id] = len(nodes) - 1
    return nodes


def row_stages(app: Application) -> set[tuple[int, int]]:
    """The stage attempts whose tasks' run time grows with the rows (the module's docstring)."""
    records = {
        (stage.id, stage.attempt): sum(
            t.metrics.input_records + t.metrics.shuffle_records_read
            for t in stage.tasks
            if t.metrics is not None
        )
        for stage in app.stages
    }
    most = max(records.values(), default=0)
    return {key for key, count in records.items() if most and count >= ROW_STAGE_SHARE * most}


def host_slowdown(busy: float, running: int, cpus: int | None) -> float:
    """How much longer CPU work takes with `running` tasks of this busy share and the driver
    on `cpus` CPUs: 1 while they fit."""
    if cpus is None:
        return 1.0
    return max(1.0, (running * busy + DRIVER_CPUS) / cpus)


class _Shaper:
    """The recorded tasks' slot times under a Transform (the module's docstring)."""

    def __init__(
        self,
        app: Application,
        slot_times: dict[int, float],
        transform: Transform,
        total_slots: int,
        reads: dict[int, tuple[int, int]],
        computes: dict[int, tuple[tuple[int, int], ...]],
    ) -> None:
        self.transform = transform
        self.total_slots = total_slots
        self.reads = reads
        self.computes = computes
        self.rows = row_stages(app)
        own_slots = app.executor_count * max(app.executor_cores // _task_slots(app), 1)
        # Without a host asked for, the tasks stay as the recording's host ran them.
        own_cpus = (transform.own_host_cpus or transform.host_cpus) if transform.host_cpus else None
        self.parts: dict[int, TaskParts] = {}
        # Per stage attempt: its tasks' busy share without a host's stretch.
        self.busy: dict[tuple[int, int], float] = {}
        for stage in app.stages:
            key = (stage.id, stage.attempt)
            measured = [t for t in stage.tasks if t.metrics is not None]
            cpu = sum(t.metrics.executor_cpu_ns for t in measured) / 1e9
            run = sum(t.metrics.executor_run_ms for t in measured) / 1e3
            # The recorded run time holds the CPU time stretched by the own host's slowdown,
            # which depends on the busy share without it: a few rounds settle both.
            busy, stretch = 0.0, 1.0
            for _ in range(20):
                bare = run - cpu * (stretch - 1)
                busy = min(cpu / bare, 1.0) if bare > 0 else 0.0
                stretch = host_slowdown(busy, min(len(stage.tasks), own_slots), own_cpus)
            self.busy[key] = busy
            for task in stage.tasks:
                slot = slot_times[task.task_id]
                if task.metrics is None:
                    self.parts[task.task_id] = TaskParts(0.0, slot, 0.0)
                    continue
                run_s = min(task.metrics.executor_run_ms / 1e3, slot)
                cpu_s = min(task.metrics.executor_cpu_ns / 1e9, run_s)
                taken = min(cpu_s * (stretch - 1), run_s - cpu_s)
                row = run_s - taken if key in self.rows else 0.0
                self.parts[task.task_id] = TaskParts(row, slot - taken - row, cpu_s)

    def node(self, node: _Node, factor: float) -> _Node:
        stage = node.stage
        key = (stage.id, stage.attempt)
        transform = self.transform
        scale = transform.scale
        if transform.repartitions and stage.num_tasks == transform.partitions:
            return self._repartitioned(node, factor)
        cpus = transform.host_cpus
        stretch = host_slowdown(self.busy[key], min(len(node.tasks), self.total_slots), cpus)
        tasks = []
        for recorded, task in zip(stage.tasks, node.tasks, strict=True):
            parts = self.parts[recorded.task_id]
            # CPU time grows with the rows in a stage that reads them, else stays.
            cpu = parts.cpu_s * (scale if key in self.rows else 1.0)
            slot = parts.fixed_s + parts.row_s * scale + cpu * (stretch - 1)
            tasks.append(_replace_duration(task, slot * factor))
        return _with_tasks(node, tasks, node.retries)

    def _repartitioned(self, node: _Node, factor: float) -> _Node:
        """The stage's P tasks, each with its mean row part times recorded/P partitions."""
        stage = node.stage
        key = (stage.id, stage.attempt)
        transform = self.transform
        assert transform.to_partitions is not None and transform.partitions is not None
        done = [t for t in stage.tasks if t.successful] or stage.tasks
        if not done:
            return node
        count = transform.to_partitions
        share = transform.scale * transform.partitions / count
        parts = [self.parts[t.task_id] for t in done]
        row = sum(p.row_s for p in parts) / len(parts) * share
        cpu = sum(p.cpu_s for p in parts) / len(parts) * (share if key in self.rows else 1.0)
        fixed = statistics.median(p.fixed_s for p in parts)
        stretch = host_slowdown(self.busy[key], min(count, self.total_slots), transform.host_cpus)
        duration = (fixed + row + cpu * (stretch - 1)) * factor
        # Partition i of each cached RDD the stage read or computed becomes the new task i's.
        read = sorted({self.reads[t.task_id][0] for t in done if t.task_id in self.reads})
        made = sorted({rdd for t in done for rdd, _ in self.computes.get(t.task_id, ())})
        tasks = [
            _Task(
                order=i,
                duration=duration,
                reads=(read[-1], i) if read else None,
                computes=tuple((rdd, i) for rdd in made),
                after=None,
            )
            for i in range(count)
        ]
        return _with_tasks(node, tasks, {})


def _replace_duration(task: _Task, duration: float) -> _Task:
    return _Task(task.order, duration, task.reads, task.computes, task.after, task.near_outputs)


def _with_tasks(node: _Node, tasks: list[_Task], retries: dict[int, list[int]]) -> _Node:
    return _Node(
        stage=node.stage,
        parents=node.parents,
        delay=node.delay,
        tail=node.tail,
        tasks=tasks,
        task_s=sum(task.duration for task in tasks),
        retries=retries,
    )


def _slot_times(app: Application) -> dict[int, float]:
    """Each task's slot time (by task id), from the executors' cores rebuilt from the log.

    A launch takes a core whose task had ended by then, else the core whose task was
    recorded ending first: the driver launches a task before it records the finish of the
    one that freed its core.
    """
    submitted = {(stage.id, stage.attempt): stage.submitted for stage in app.stages}
    first_finish = {
        (stage.id, stage.attempt): min((task.finish for task in stage.tasks), default=math.inf)
        for stage in app.stages
    }
    slots = _task_slots(app)
    by_executor: dict[str, list[Task]] = {}
    for task in app.tasks:
        by_executor.setdefault(task.executor_id, []).append(task)
    times: dict[int, float] = {}
    for executor_id, tasks in by_executor.items():
        added = app.executors[executor_id].added
        free_since = added if added is not None else -math.inf
        # Per core: its task, when that task's slot time began, and its recorded finish.
        cores: list[tuple[Task, float] | None] = [None] * max(
            app.executors[executor_id].cores // slots, 1
        )
        for task in sorted(tasks, key=lambda t: (t.launch, t.task_id)):
            free = [i for i, core in enumerate(cores) if _finish(core) <= task.launch]
            if free:
                # The core freed last: an earlier one stayed idle, which in a stage with
                # tasks waiting only a locality wait does.
                chosen = max(free, key=lambda i: _finish(cores[i]))
            else:
                # Each core's task was recorded ending after this launch: the driver
                # launched before it recorded the finish that freed the core, the earliest.
                chosen = min(range(len(cores)), key=lambda i: _finish(cores[i]))
            previous = cores[chosen]
            stage = (task.stage_id, task.stage_attempt)
            if previous is not None and (previous[0].stage_id, previous[0].stage_attempt) == stage:
                times[previous[0].task_id] = task.launch - previous[1]
                began = task.launch
            else:
                if previous is not None:
                    times[previous[0].task_id] = previous[0].finish - previous[1]
                began = task.launch
                # A task of the stage's first wave also keeps the driver's delay in
                # launching it, from when its core was free for the stage; a later one (a
                # retry, a speculative copy, one that waited for locality) waited for
                # something else, which the replay plays itself.
                if (
                    task.attempt == 0
                    and not task.speculative
                    and task.launch <= first_finish[stage]
                ):
                    ready = max(submitted[stage], free_since)
                    if previous is not None:
                        ready = max(ready, previous[0].finish)
                    began = min(task.launch, ready)
            cores[chosen] = (task, began)
        for core in cores:
            if core is not None:
                times[core[0].task_id] = core[0].finish - core[1]
    return times


def _task_slots(app: Application) -> int:
    """Cores a task takes (spark.task.cpus)."""
    try:
        return max(int(app.properties.get("spark.task.cpus", "1")), 1)
    except ValueError:
        return 1


def _finish(core: tuple[Task, float] | None) -> float:
    return core[0].finish if core is not None else -math.inf


def _cache_use(
    app: Application,
) -> tuple[
    dict[int, tuple[int, int]],
    dict[int, tuple[tuple[int, int], ...]],
    dict[tuple[int, int], str],
]:
    """Which task read which cached partition, which computed it, and on which executor.

    A cached RDD's partition is computed by the first successful task, in submission order
    of the stages that hold the RDD, whose partition it is; a later stage's task with that
    partition that ran PROCESS_LOCAL reads it (the cached RDD nearest the stage's output
    when it holds several).
    """
    computed: dict[tuple[int, int], str] = {}
    reads: dict[int, tuple[int, int]] = {}
    computes: dict[int, tuple[tuple[int, int], ...]] = {}
    for stage in sorted(app.stages, key=lambda s: (s.submitted, s.id, s.attempt)):
        cached = sorted((rdd for rdd in stage.rdds if rdd.cached), key=lambda r: -r.id)
        if not cached:
            continue
        before = set(computed)
        for task in stage.tasks:
            held = [(rdd.id, task.partition) for rdd in cached if task.partition < rdd.partitions]
            read = next((key for key in held if key in before), None)
            # One that ran elsewhere (NODE_LOCAL, ANY) had given up waiting for it.
            if read is not None and task.locality == "PROCESS_LOCAL":
                reads[task.task_id] = read
            if not task.successful:
                continue
            new = tuple(key for key in held if key not in computed)
            if new:
                computes[task.task_id] = new
                for key in new:
                    computed[key] = task.executor_id
    return reads, computes, computed


def _critical_path(job: _JobPlan, cost: Callable[[Stage], float]) -> float:
    """The job's duration with an executor for every task."""
    ends: list[float] = []
    for node in job.nodes:
        ready = max((ends[p] for p in node.parents), default=0.0) + node.delay
        chains: list[float] = []
        for task in node.tasks:
            before = chains[task.after] if task.after is not None else 0.0
            chains.append(before + task.duration)
        last = ready + max(chains, default=0.0)
        ends.append(last + _tail(node, cost))
    if not job.nodes:
        return job.tail
    return max(ends) + job.tail


def _tail(node: _Node, cost: Callable[[Stage], float]) -> float:
    """The stage's tail plus its extra cost; a saving ends it with its last task at most."""
    return max(node.tail + cost(node.stage), min(node.tail, 0.0))


# The replay's cluster.


class _Job:
    def __init__(self, nodes: Sequence[_Node]) -> None:
        self.nodes = nodes
        self.waiting = [len(node.parents) for node in nodes]
        self.ended = 0


@dataclass
class _Ready:
    """A ready stage's tasks that have not started, by recorded launch order."""

    job: _Job
    index: int
    anywhere: list[tuple[int, int]] = field(default_factory=list)
    # By the executor that holds the cached partition each reads.
    pinned: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # Past the locality wait: pinned tasks may take any core.
    relaxed: bool = False
    started: int = 0
    last_end: float = -math.inf

    @property
    def node(self) -> _Node:
        return self.job.nodes[self.index]


class _Cluster:
    """The replay's executors: runs the plan's jobs one after another, in time order."""

    def __init__(
        self,
        executors: int,
        slots: int,
        wait_s: float,
        placement: dict[tuple[int, int], int],
        recorded: bool,
    ) -> None:
        self.executors = executors
        self.free = [slots] * executors
        self.wait_s = wait_s
        self.placement = placement
        # At the log's own count the recorded placement stands; elsewhere the replay's.
        self.recorded = recorded
        self.ready: list[_Ready] = []
        self.now = 0.0
        self.events: list[tuple[float, int, str, Any]] = []
        self.sequence = 0
        # Per node (by id): how many of its tasks each executor ran, where its outputs are.
        self.ran: dict[int, Counter[int]] = {}

    def _at(self, time: float, kind: str, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (max(time, self.now), self.sequence, kind, payload))

    def run(
        self, nodes: Sequence[_Node], start: float, cost: Callable[[Stage], float]
    ) -> list[float]:
        """One job's stages replayed from `start`; their ends."""
        job = _Job(nodes)
        for i, node in enumerate(nodes):
            if not node.parents:
                self._at(start + node.delay, "ready", (job, i))
        while job.ended < len(nodes):
            time, _, kind, payload = heapq.heappop(self.events)
            self.now = time
            self._handle(kind, payload, cost)
            # Everything that happens at one instant is in before the cores are handed out.
            if not self.events or self.events[0][0] > time:
                self._dispatch(cost)
        return [node.end for node in nodes]

    def _handle(self, kind: str, payload: Any, cost: Callable[[Stage], float]) -> None:
        if kind == "free":
            self.free[payload] += 1
        elif kind == "queue":
            self._queue(*payload)
        elif kind == "relax":
            payload.relaxed = True
        elif kind == "ready":
            job, i = payload
            node = job.nodes[i]
            node.ready = self.now
            state = _Ready(job, i)
            self.ready.append(state)
            self.ready.sort(key=lambda s: (s.node.stage.id, s.node.stage.attempt))
            for t, task in enumerate(node.tasks):
                if task.after is None:
                    self._queue(state, t)
            if state.pinned:
                self._at(self.now + self.wait_s, "relax", state)
            if not node.tasks:
                self.ready.remove(state)
                self._at(self.now + _tail(node, cost), "end", (job, i))
        else:
            job, i = payload
            job.nodes[i].end = self.now
            job.ended += 1
            for c, child in enumerate(job.nodes):
                if i in child.parents:
                    job.waiting[c] -= 1
                    if job.waiting[c] == 0:
                        ready = max(job.nodes[p].end for p in child.parents) + child.delay
                        self._at(ready, "ready", (job, c))

    def _queue(self, state: _Ready, t: int) -> None:
        task = state.node.tasks[t]
        executor = self.placement.get(task.reads) if task.reads is not None else None
        if executor is None and task.near_outputs:
            executor = self._holder(state)
        if executor is None:
            heapq.heappush(state.anywhere, (task.order, t))
        else:
            heapq.heappush(state.pinned.setdefault(executor, []), (task.order, t))

    def _holder(self, state: _Ready) -> int | None:
        """The executor a reduce task waits for: Spark prefers those holding at least 20% of
        its map outputs (REDUCER_PREF_LOCS_FRACTION), taken here as the parents' tasks each
        executor ran. None when every executor qualifies, as when the map tasks were spread
        evenly; the largest holder when only some do (Spark would take any of them)."""
        ran: Counter[int] = Counter()
        for parent in state.node.parents:
            ran.update(self.ran.get(id(state.job.nodes[parent]), Counter()))
        total = sum(ran.values())
        holders = [e for e, count in ran.items() if count >= _REDUCER_FRACTION * total]
        if not holders or len(holders) == self.executors:
            return None
        return max(holders, key=lambda e: (ran[e], -e))

    def _dispatch(self, cost: Callable[[Stage], float]) -> None:
        """Hands the free cores out, one per executor per round, in the pool's order."""
        taken = [0] * self.executors
        blocked: set[int] = set()
        while self.ready:
            executor = min(
                (e for e in range(self.executors) if self.free[e] and e not in blocked),
                key=lambda e: (taken[e], e),
                default=None,
            )
            if executor is None:
                return
            picked = self._pick(executor)
            if picked is None:
                blocked.add(executor)
                continue
            self._start(*picked, executor, cost)
            taken[executor] += 1

    def _pick(self, executor: int) -> tuple[_Ready, int] | None:
        """The first task, by the pool's order, that may run on this executor now."""
        for state in self.ready:
            own = state.pinned.get(executor)
            if own:
                return state, heapq.heappop(own)[1]
            if state.anywhere:
                return state, heapq.heappop(state.anywhere)[1]
            if state.relaxed:
                queues = [queue for queue in state.pinned.values() if queue]
                if queues:
                    return state, heapq.heappop(min(queues, key=lambda q: q[0]))[1]
        return None

    def _start(self, state: _Ready, t: int, executor: int, cost: Callable[[Stage], float]) -> None:
        node = state.node
        task = node.tasks[t]
        end = self.now + task.duration
        self.free[executor] -= 1
        self._at(end, "free", executor)
        self.ran.setdefault(id(node), Counter())[executor] += 1
        if not self.recorded:
            for key in task.computes:
                self.placement[key] = executor
        state.last_end = max(state.last_end, end)
        state.started += 1
        for retry in node.retries.get(t, ()):
            self._at(end, "queue", (state, retry))
        if state.started == len(node.tasks):
            self.ready.remove(state)
            self._at(state.last_end + _tail(node, cost), "end", (state.job, state.index))
