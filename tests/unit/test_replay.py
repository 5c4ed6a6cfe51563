"""Recorded tasks re-scheduled at other executor counts, on logs whose answers are known.

Each log below is a schedule Spark could have run, so replaying it at its own count must
give back its own times; each other count's answer is worked out by hand beside it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparksweep import eventlog, replay
from sparksweep.eventlog import Application, Stage
from tests.eventlogs import EventLog, failures, rdd, stage_info


def read(log: EventLog, tmp_path: Path) -> Application:
    return eventlog.read(log.write(tmp_path))


def flat(rows: list[tuple[float, ...]]) -> list[float]:
    """Rows as one list, which pytest.approx compares (it does not compare nested ones)."""
    return [value for row in rows for value in row]


def two_jobs() -> EventLog:
    """One executor of 2 cores. Job 0 (1.0-4.2): 4 unequal tasks, 2 s, 1 s, 1.5 s and 1 s.
    Job 1 (5.0-6.2): one 1 s task. Driver only: 1.0 s before, 0.8 s between, 0.8 s after.
    Stage tails 0.1 s and 0, job tails 0.1 s, job 1's stage is submitted 0.1 s late."""
    log = EventLog()
    log.executor("1", 2)
    first = stage_info(0, 4)
    log.job(0, 1.0, 4.2, [first])
    log.stage(first, 1.0, 4.1)
    log.task(0, 0, "1", 1.0, 3.0)
    log.task(0, 1, "1", 1.0, 2.0)
    log.task(0, 2, "1", 2.0, 3.5)
    log.task(0, 3, "1", 3.0, 4.0)
    second = stage_info(1, 1)
    log.job(1, 5.0, 6.2, [second])
    log.stage(second, 5.1, 6.1)
    log.task(1, 0, "1", 5.1, 6.1)
    log.end(7.0)
    return log


def test_at_its_own_count_a_replay_gives_back_the_run(tmp_path: Path) -> None:
    app = read(two_jobs(), tmp_path)

    result = replay.replay(app, 1)

    assert result.at_own_count and (result.executors, result.cores) == (1, 2)
    assert result.app_s == pytest.approx(app.duration) == pytest.approx(7.0)
    assert flat([(j.start, j.end) for j in result.jobs]) == pytest.approx([1.0, 4.2, 5.0, 6.2])
    assert flat([(s.start, s.end) for s in result.stages]) == pytest.approx([1.0, 4.1, 5.1, 6.1])


@pytest.mark.parametrize(
    ("executors", "cores", "app_s", "job_ends", "perfect_s"),
    [
        # Every task at once: the 2 s task is the stage.
        (2, 2, 6.0, [3.2, 5.2], 2.6 + 6.5 / 4),
        # Fewer tasks than cores: no faster than with 4.
        (3, 2, 6.0, [3.2, 5.2], 2.6 + 6.5 / 6),
        # One core: 6.5 s of tasks one after another.
        (1, 1, 9.5, [6.7, 8.7], 2.6 + 6.5),
    ],
)
def test_other_counts_keep_the_drivers_time(
    tmp_path: Path,
    executors: int,
    cores: int,
    app_s: float,
    job_ends: list[float],
    perfect_s: float,
) -> None:
    result = replay.replay(read(two_jobs(), tmp_path), executors, cores)

    assert not result.at_own_count
    assert result.app_s == pytest.approx(app_s)
    assert [job.end for job in result.jobs] == pytest.approx(job_ends)
    assert result.driver_s == pytest.approx(2.6)
    # The 2 s task, then the 1 s one, with their tails and delays.
    assert result.critical_path_s == pytest.approx(2.6 + 2.2 + 1.2)
    assert result.perfect_parallel_s == pytest.approx(perfect_s)


def fork_and_join() -> EventLog:
    """Two executors of one core. Job 0 (0.5-5.2): stages 0 (two 1 s tasks) and 1 (one 3 s
    task) both ready at 0.5, stage 2 (two 0.5 s tasks) joins them 0.1 s after both end, and
    its tail is 0.1 s. Stage 0 goes first (the FIFO pool's order), so stage 1 waits."""
    log = EventLog()
    log.executor("1", 1)
    log.executor("2", 1)
    left, right = stage_info(0, 2), stage_info(1, 1)
    join = stage_info(2, 2, parents=[0, 1])
    log.job(0, 0.5, 5.2, [left, right, join])
    log.stage(left, 0.5, 1.5)
    log.task(0, 0, "1", 0.5, 1.5)
    log.task(0, 1, "2", 0.5, 1.5)
    log.stage(right, 0.5, 4.5)
    log.task(1, 0, "1", 1.5, 4.5)
    log.stage(join, 4.6, 5.2)
    log.task(2, 0, "1", 4.6, 5.1)
    log.task(2, 1, "2", 4.6, 5.1)
    log.end(5.5)
    return log


@pytest.mark.parametrize(
    ("executors", "app_s", "stages"),
    [
        (2, 5.5, [(0.5, 1.5), (0.5, 4.5), (4.6, 5.2)]),
        # A third executor takes stage 1 at once.
        (3, 4.5, [(0.5, 1.5), (0.5, 3.5), (3.6, 4.2)]),
        # One core: stage 0's tasks, then stage 1's, then stage 2's.
        (1, 7.0, [(0.5, 2.5), (0.5, 5.5), (5.6, 6.7)]),
    ],
)
def test_a_fork_and_a_join(
    tmp_path: Path, executors: int, app_s: float, stages: list[tuple[float, float]]
) -> None:
    result = replay.replay(read(fork_and_join(), tmp_path), executors)

    assert result.app_s == pytest.approx(app_s)
    by_id = sorted(result.stages, key=lambda s: s.stage_id)
    assert flat([(s.start, s.end) for s in by_id]) == pytest.approx(flat(stages))
    assert result.critical_path_s == pytest.approx(0.5 + 3.0 + 0.1 + 0.5 + 0.1 + 0.3)
    assert result.perfect_parallel_s == pytest.approx(0.8 + 6.0 / executors)


def cached_partitions(wait: str | None = None) -> EventLog:
    """Two executors of one core. Job 0 (0-2.5): stage 0's 2.5 s task on executor 2, and
    stage 1, which caches RDD 5's two partitions, both on executor 1 (1 s each). Job 1
    (2.5-4.5): stage 2 reads them; both tasks wait for executor 1, within the 3 s of
    spark.locality.wait, though executor 2 is free."""
    log = EventLog(properties={"spark.locality.wait": wait} if wait else None)
    log.executor("1", 1)
    log.executor("2", 1)
    cached = rdd(5, 2, cached=True)
    long, caching = stage_info(0, 1), stage_info(1, 2, rdds=[cached])
    log.job(0, 0.0, 2.5, [long, caching])
    log.stage(long, 0.0, 2.5)
    log.task(0, 0, "2", 0.0, 2.5)
    log.stage(caching, 0.0, 2.0)
    log.task(1, 0, "1", 0.0, 1.0)
    log.task(1, 1, "1", 1.0, 2.0)
    reading = stage_info(2, 2, rdds=[rdd(9, 2), cached])
    log.job(1, 2.5, 4.5, [reading])
    log.stage(reading, 2.5, 4.5)
    log.task(2, 0, "1", 2.5, 3.5)
    log.task(2, 1, "1", 3.5, 4.5)
    log.end(4.5)
    return log


@pytest.mark.parametrize(
    ("wait", "executors", "cores", "app_s"),
    [
        # The recorded placement: both partitions on executor 1, read one after the other.
        (None, 2, 1, 4.5),
        # The wait ends at 3.0: the second task takes executor 2 then.
        ("500ms", 2, 1, 4.0),
        ("0", 2, 1, 3.5),
        # The replay's own placement: job 0 puts stage 0 on one executor and a partition
        # on each other; job 1 reads them where they are, at once.
        (None, 3, 1, 3.5),
        # Two cores each: stage 0 and partition 1 on the first executor, partition 0 on
        # the second.
        (None, 2, 2, 3.5),
        # One core: 2.5 s, two 1 s tasks, then two more.
        (None, 1, 1, 6.5),
    ],
)
def test_cached_partitions_stay_where_they_were_computed(
    tmp_path: Path, wait: str | None, executors: int, cores: int, app_s: float
) -> None:
    app = read(cached_partitions(wait), tmp_path)

    result = replay.replay(app, executors, cores)

    assert result.app_s == pytest.approx(app_s)
    assert result.critical_path_s == pytest.approx(3.5)


def test_the_locality_wait_is_read_as_spark_reads_it() -> None:
    assert replay.locality_wait_s({}) == 3.0
    assert replay.locality_wait_s({"spark.locality.wait": "1s"}) == 1.0
    assert replay.locality_wait_s({"spark.locality.wait": "250"}) == 0.25
    assert replay.locality_wait_s(
        {"spark.locality.wait": "1s", "spark.locality.wait.process": "2min"}
    ) == pytest.approx(120.0)


@pytest.mark.parametrize("executors", [1, 2, 4])
def test_retries_follow_what_failed(tmp_path: Path, executors: int) -> None:
    """A retried task starts after its failed attempt, a resubmitted stage after the
    failure that caused it: more executors change nothing here."""
    result = replay.replay(read(failures(), tmp_path), executors)

    assert result.app_s == pytest.approx(5.5)
    assert result.critical_path_s == pytest.approx(5.5)
    assert flat([(s.stage_id, s.attempt, s.start, s.end) for s in result.stages]) == (
        pytest.approx(
            flat(
                [
                    (0, 0, 0.0, 2.0),
                    (1, 0, 2.0, 3.0),
                    (2, 0, 3.0, 3.5),
                    (1, 1, 3.7, 4.7),
                    (2, 1, 4.7, 5.2),
                ]
            )
        )
    )


def test_tasks_that_ran_slower(tmp_path: Path) -> None:
    app = read(two_jobs(), tmp_path)

    # Job 0 on 2 cores: 1-5 and 1-3, 3-6, 5-7 (+0.2); job 1 from 8.0: 8.1-10.1 (+0.1).
    assert replay.replay(app, 1, task_factor=2.0).app_s == pytest.approx(11.0)
    # Every task at once: the 4 s task, then the 2 s one.
    doubled = replay.replay(app, 2, 2, task_factor=2.0)
    assert doubled.app_s == pytest.approx(9.0)
    assert doubled.critical_path_s == pytest.approx(9.0)
    assert doubled.perfect_parallel_s == pytest.approx(2.6 + 13.0 / 4)


def test_a_cost_per_extra_executor(tmp_path: Path) -> None:
    app = read(two_jobs(), tmp_path)
    calls: list[tuple[int, int]] = []

    def cost(stage: Stage, extra: int) -> float:
        calls.append((stage.id, extra))
        return 0.5 * extra

    # Two executors more than the log's: a second more on each stage's end.
    result = replay.replay(app, 3, 2, stage_cost=cost)
    assert result.app_s == pytest.approx(6.0 + 2 * 1.0)
    assert result.critical_path_s == pytest.approx(6.0 + 2 * 1.0)
    assert {call for call in calls} == {(0, 2), (1, 2)}

    def refused(stage: Stage, extra: int) -> float:
        raise AssertionError("called at the log's own executor count")

    assert replay.replay(app, 1, stage_cost=refused).app_s == pytest.approx(7.0)
    assert replay.replay(app, 1, 1, stage_cost=refused).app_s == pytest.approx(9.5)
    # A saving larger than a stage's tail ends the stage with its last task.
    saving = replay.replay(app, 2, 2, stage_cost=lambda stage, extra: -10.0)
    assert saving.app_s == pytest.approx(6.0 - 0.1)


def test_local_mode_replays_as_executors_of_the_drivers_cores(tmp_path: Path) -> None:
    log = EventLog(app_id="local-1", properties={"spark.master": "local[2]"})
    log.executor("driver", 2)
    info = stage_info(0, 4)
    log.job(0, 0.0, 2.0, [info])
    log.stage(info, 0.0, 2.0)
    for index in range(4):
        log.task(0, index, "driver", float(index // 2), float(index // 2 + 1))
    log.end(2.0)
    app = read(log, tmp_path)

    assert replay.replay(app, 1).app_s == pytest.approx(2.0)
    assert replay.replay(app, 2).app_s == pytest.approx(1.0)
    assert replay.replay(app, 2).cores == 2


def test_tasks_of_two_cores_each(tmp_path: Path) -> None:
    log = EventLog(properties={"spark.task.cpus": "2"})
    log.executor("1", 4)
    info = stage_info(0, 4)
    log.job(0, 0.0, 2.0, [info])
    log.stage(info, 0.0, 2.0)
    for index in range(4):
        log.task(0, index, "1", float(index // 2), float(index // 2 + 1))
    log.end(2.0)
    app = read(log, tmp_path)

    assert replay.replay(app, 1).app_s == pytest.approx(2.0)
    assert replay.replay(app, 2).app_s == pytest.approx(1.0)
    assert replay.replay(app, 1, 2).app_s == pytest.approx(4.0)


def test_the_driver_launches_before_it_records_the_finish(tmp_path: Path) -> None:
    """Each next task on a core launched 2 ms before the previous one's recorded finish:
    a slot time runs from launch to launch, so the replay keeps the 2 ms overlap out."""
    log = EventLog()
    log.executor("1", 1)
    info = stage_info(0, 3)
    log.job(0, 0.0, 2.996, [info])
    log.stage(info, 0.0, 2.996)
    log.task(0, 0, "1", 0.0, 1.002)
    log.task(0, 1, "1", 1.0, 2.002)
    log.task(0, 2, "1", 2.0, 2.996)
    log.end(3.0)
    app = read(log, tmp_path)

    assert replay.replay(app, 1).app_s == pytest.approx(3.0)
    # Three cores: the first two tasks' slot times are 1 s, the last one's 0.996 s; the
    # driver's 4 ms after the job stay.
    assert replay.replay(app, 3).app_s == pytest.approx(1.0 + 0.004)


def test_a_replay_needs_a_cluster(tmp_path: Path) -> None:
    app = read(two_jobs(), tmp_path)
    with pytest.raises(ValueError, match="at least one executor"):
        replay.replay(app, 0)
    with pytest.raises(ValueError, match="task_factor"):
        replay.replay(app, 1, task_factor=0.0)


# Any application: the bounds hold.


@st.composite
def applications(draw: st.DrawFn, chains: bool = False) -> EventLog:
    """Jobs of 1 to 4 stages over random parents, 1 to 6 tasks each of random length, run
    by a list scheduler on 1 to 3 executors of 1 to 3 cores; the first stage caches an
    RDD that later stages with as many tasks may read. Times in milliseconds.

    With chains, each stage depends on the one before and nothing is cached: a schedule
    that Spark's FIFO would run the same way, so the replay must give it back.
    """
    executors, cores = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    wait = draw(st.sampled_from(["0", "200ms", "3s"]))
    log = EventLog(properties={"spark.locality.wait": wait})
    for executor in range(executors):
        log.executor(str(executor), cores)
    free = {(e, c): 0 for e in range(executors) for c in range(cores)}
    clock = draw(st.integers(0, 500))
    stage_id = 0
    cached: dict[str, Any] | None = None
    for job_id in range(draw(st.integers(1, 3))):
        clock += draw(st.integers(0, 300))
        submitted = clock
        ends: dict[int, int] = {}
        infos, runs = [], []
        for k in range(draw(st.integers(1, 4))):
            earlier = list(range(stage_id - k, stage_id))
            if chains:
                parents = earlier[-1:]
            else:
                parents = sorted(draw(st.sets(st.sampled_from(earlier)))) if earlier else []
            tasks = draw(st.integers(1, 6))
            rdds = []
            if not chains and cached is None:
                cached = rdd(500, tasks, cached=True)
                rdds = [cached]
            elif cached and cached["Number of Partitions"] == tasks and draw(st.booleans()):
                rdds = [rdd(600 + stage_id, tasks), cached]
            info = stage_info(stage_id, tasks, parents=parents, rdds=rdds)
            ready = max((ends[p] for p in parents), default=submitted) + draw(st.integers(0, 50))
            placed = []
            for index in range(tasks):
                slot = min(free, key=lambda s: (max(free[s], ready), s))
                launch = max(free[slot], ready)
                finish = launch + draw(st.integers(1, 2000))
                free[slot] = finish
                placed.append((index, str(slot[0]), launch, finish))
            ends[stage_id] = max(f for *_, f in placed) + draw(st.integers(0, 50))
            infos.append(info)
            runs.append((info, ready, ends[stage_id], placed))
            stage_id += 1
        clock = max(ends.values()) + draw(st.integers(0, 50))
        log.job(job_id, submitted / 1e3, clock / 1e3, infos)
        for info, ready, end, placed in runs:
            log.stage(info, ready / 1e3, end / 1e3)
            for index, executor, launch, finish in placed:
                log.task(info["Stage ID"], index, executor, launch / 1e3, finish / 1e3)
    log.end((clock + draw(st.integers(0, 300))) / 1e3)
    return log


@settings(max_examples=150, deadline=None)
@given(
    log=applications(),
    executors=st.integers(1, 4),
    cores=st.integers(1, 3),
    factor=st.sampled_from([1.0, 1.7]),
)
def test_the_critical_path_and_perfect_parallelism_bound_any_replay(
    log: EventLog, executors: int, cores: int, factor: float
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = eventlog.read(log.write(Path(folder)))

    result = replay.replay(app, executors, cores, task_factor=factor)

    assert result.critical_path_s <= result.app_s + 1e-9
    assert result.perfect_parallel_s <= result.app_s + 1e-9
    assert result.driver_s <= result.perfect_parallel_s + 1e-9
    for job in result.jobs:
        assert job.critical_path_s <= job.end - job.start + 1e-9
        assert job.perfect_parallel_s <= job.end - job.start + 1e-9
    for stage in result.stages:
        assert stage.start <= stage.end + 1e-9


@settings(max_examples=100, deadline=None)
@given(log=applications(chains=True))
def test_any_run_of_chained_stages_replays_to_itself(log: EventLog) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = eventlog.read(log.write(Path(folder)))

    result = replay.replay(app, app.executor_count)

    assert result.at_own_count
    assert result.app_s == pytest.approx(app.duration, abs=1e-6)


def rows_log() -> EventLog:
    """One executor of one core. Job 0 (0-2): stage 0's two 1 s tasks read 100 rows each,
    ran 0.9 s (0.45 s of CPU) and so have 0.1 s fixed. Job 1 (2-2.5): stage 1's two 0.25 s
    tasks read 2 shuffle records each: too few to grow with the rows, all fixed."""
    log = EventLog()
    log.executor("1", 1)
    reading = stage_info(0, 2)
    log.job(0, 0.0, 2.0, [reading])
    log.stage(reading, 0.0, 2.0)
    rows = {
        "Executor Run Time": 900,
        "Executor CPU Time": 450_000_000,
        "Input Metrics": {"Bytes Read": 800, "Records Read": 100},
    }
    log.task(0, 0, "1", 0.0, 1.0, metrics=rows)
    log.task(0, 1, "1", 1.0, 2.0, metrics=rows)
    fixed = stage_info(1, 2, parents=[0])
    log.job(1, 2.0, 2.5, [fixed])
    log.stage(fixed, 2.0, 2.5)
    shuffle = {
        "Shuffle Read Metrics": {
            "Remote Blocks Fetched": 0,
            "Local Blocks Fetched": 1,
            "Fetch Wait Time": 0,
            "Remote Bytes Read": 0,
            "Local Bytes Read": 10,
            "Total Records Read": 2,
        }
    }
    log.task(1, 0, "1", 2.0, 2.25, metrics=shuffle)
    log.task(1, 1, "1", 2.25, 2.5, metrics=shuffle)
    log.end(2.5)
    return log


@pytest.mark.parametrize(
    ("transform", "executors", "task_s", "app_s"),
    [
        # Nothing changed: the run.
        (replay.Transform(), 1, [2.0, 0.5], 2.5),
        # Twice the rows: 0.1 + 2 x 0.9 = 1.9 s a reading task; the fixed stage stays.
        (replay.Transform(scale=2.0), 1, [3.8, 0.5], 4.3),
        (replay.Transform(scale=0.5), 1, [1.1, 0.5], 1.6),
        # Four partitions: each reading task 0.1 + 0.9 / 2; the fixed stage has four of
        # its 0.25 s tasks.
        (replay.Transform(partitions=2, to_partitions=4), 1, [2.2, 1.0], 3.2),
        (replay.Transform(partitions=2, to_partitions=4), 2, [2.2, 1.0], 1.6),
        # One partition: 0.1 + 1.8 s, then one 0.25 s task.
        (replay.Transform(partitions=2, to_partitions=1, scale=2.0), 2, [3.7, 0.25], 3.95),
    ],
)
def test_rows_and_partitions_grow_the_row_part_only(
    tmp_path: Path,
    transform: replay.Transform,
    executors: int,
    task_s: list[float],
    app_s: float,
) -> None:
    app = read(rows_log(), tmp_path)

    result = replay.replay(app, executors, 1, transform=transform)

    assert [stage.task_s for stage in result.stages] == pytest.approx(task_s)
    assert result.app_s == pytest.approx(app_s)


def test_only_stages_that_read_the_rows_hold_them(tmp_path: Path) -> None:
    app = read(rows_log(), tmp_path)

    assert replay.row_stages(app) == {(0, 0)}


def test_repartitioned_cached_partitions_are_placed_by_their_new_number(tmp_path: Path) -> None:
    app = read(cached_partitions(), tmp_path)

    # Nothing read rows, so every task keeps its 1 s. Job 0: stage 0's 2.5 s task on one
    # executor, stage 1's four tasks caching partitions 0-3 on the other (0-3) and on the
    # first once free (2.5-3.5). Job 1 reads partition i on executor i mod 2: two 1 s tasks
    # on each, 3.5-5.5 (on the recorded executor alone it would end at 7.5).
    result = replay.replay(
        app,
        2,
        1,
        placement="balanced",
        transform=replay.Transform(partitions=2, to_partitions=4),
    )

    assert [s.tasks for s in result.stages] == [1, 4, 4]
    assert result.app_s == pytest.approx(5.5)


def test_a_host_with_fewer_cpus_stretches_the_tasks_cpu_time(tmp_path: Path) -> None:
    app = read(rows_log(), tmp_path)

    # Recorded with CPUs to spare; two executors on one CPU: two tasks of busy share 0.5
    # and the driver want 2 CPUs, so CPU time takes twice as long. Stage 0: 1 s + 0.45 s a
    # task; stage 1: its tasks ran 0.247 s with 0.1235 s of CPU.
    result = replay.replay(app, 2, 1, transform=replay.Transform(host_cpus=1, own_host_cpus=8))

    assert [stage.task_s for stage in result.stages] == pytest.approx([2.9, 0.747])


def test_the_own_count_on_its_own_host_gives_back_the_run(tmp_path: Path) -> None:
    app = read(rows_log(), tmp_path)

    result = replay.replay(app, 1, 1, transform=replay.Transform(host_cpus=1))

    assert result.app_s == pytest.approx(2.5, abs=1e-3)
    # Its tasks were stretched by that host: on a host of 8 CPUs they would have been faster.
    faster = replay.replay(app, 1, 1, transform=replay.Transform(host_cpus=8, own_host_cpus=1))
    assert faster.app_s < 2.4
    # Its own host alone, with none asked for, changes nothing.
    same = replay.replay(app, 2, 1, transform=replay.Transform(own_host_cpus=1))
    assert same.app_s == pytest.approx(replay.replay(app, 2, 1).app_s)


def reduce_near_its_outputs() -> EventLog:
    """Two executors of one core. Job 0 (0-1): one task on executor 1 computes a cached
    partition. Job 1 (1-4): a map task reads it there (1-2), then two 1 s reduce tasks run
    NODE_LOCAL on executor 1 one after the other (2-4), waiting for it rather than taking
    the idle executor 2: Spark prefers the executors that hold the map outputs."""
    log = EventLog()
    log.executor("1", 1)
    log.executor("2", 1)
    cached = rdd(5, 1, cached=True)
    first = stage_info(0, 1, rdds=[cached])
    log.job(0, 0.0, 1.0, [first])
    log.stage(first, 0.0, 1.0)
    log.task(0, 0, "1", 0.0, 1.0)
    mapped, reduced = stage_info(1, 1, rdds=[cached]), stage_info(2, 2, parents=[1])
    log.job(1, 1.0, 4.0, [mapped, reduced])
    log.stage(mapped, 1.0, 2.0)
    log.task(1, 0, "1", 1.0, 2.0)
    log.stage(reduced, 2.0, 4.0)
    log.task(2, 0, "1", 2.0, 3.0, locality="NODE_LOCAL")
    log.task(2, 1, "1", 3.0, 4.0, locality="NODE_LOCAL")
    log.end(4.0)
    return log


@pytest.mark.parametrize("executors", [2, 3])
def test_reduce_tasks_wait_for_the_executor_holding_their_map_outputs(
    tmp_path: Path, executors: int
) -> None:
    app = read(reduce_near_its_outputs(), tmp_path)

    # Both executors count, though one ran nothing: it was a free core.
    assert app.executor_count == 2
    # The one map task's outputs are on one executor: the reduce tasks queue for it, at the
    # log's own count and at any other (spread over two cores they would end at 3).
    assert replay.replay(app, executors).app_s == pytest.approx(4.0)
