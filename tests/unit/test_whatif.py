"""sparksweep predict and the model behind it, on event logs whose answers are known by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from sparksweep import eventlog, whatif
from sparksweep.analysis import add_model, build_report
from sparksweep.cli import main
from sparksweep.errors import SparksweepError
from sparksweep.job.kmeans import FIT_GROUP
from sparksweep.report import _model_sentences as model_sentences
from sparksweep.report import summary_sentences
from sparksweep.results import load_runs
from tests.eventlogs import EventLog, stage_info

ITERATION = "collectAsMap at KMeans.scala:1"


def fit_log(group: str | None = FIT_GROUP, records: int = 0) -> EventLog:
    """One executor of one core. The fit (1.0-8.0): a caching job of two 1 s tasks, then two
    iterations of two 1 s tasks each, 0.5 s of driver time before each; the app ends at 9.
    With records, each task read that many rows and ran 0.9 s of its 1 s (0.1 s fixed)."""
    log = EventLog()
    log.executor("1", 1)
    for job, (start, name) in enumerate(
        [(1.0, "count at Test.scala:1"), (3.5, ITERATION), (6.0, ITERATION)]
    ):
        info = stage_info(job, 2, name=name)
        log.job(job, start, start + 2.0, [info], group=group)
        log.stage(info, start, start + 2.0)
        metrics = (
            {
                "Executor Run Time": 900,
                "Input Metrics": {"Bytes Read": 8 * records, "Records Read": records},
            }
            if records
            else None
        )
        log.task(job, 0, "1", start, start + 1.0, metrics=metrics)
        log.task(job, 1, "1", start + 1.0, start + 2.0, metrics=metrics)
    log.end(9.0)
    return log


def predict_json(path: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["predict", str(path), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_run_of_ours_is_predicted_in_its_own_terms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fit_log().write(tmp_path)

    document = predict_json(path, "--workers", "1,2", capsys=capsys)

    assert document["predict_version"] == whatif.PREDICT_VERSION
    own, two = document["predictions"]
    assert (own["workers"], own["cores"], own["partitions"]) == (1, 1, 2)
    # At its own count: the run itself, measured beside it.
    assert own["fit_s"] == pytest.approx(7.0) == pytest.approx(own["measured_fit_s"])
    assert own["iterations_s"] == pytest.approx(5.0)
    assert own["app_s"] == pytest.approx(9.0) == pytest.approx(own["measured_app_s"])
    # Two executors: every job takes 1 s, the driver's 0.5 s gaps stay.
    assert two["fit_s"] == pytest.approx(4.0)
    assert two["fit_s_range"] == pytest.approx([4.0, 4.0])
    assert two["iterations_s"] == pytest.approx(3.0)
    assert two["app_s"] == pytest.approx(6.0)
    assert two["fit_critical_path_s"] == pytest.approx(4.0)
    assert two["fit_perfect_parallel_s"] == pytest.approx(4.0)
    assert two["measured_fit_s"] is None and two["measured_app_s"] is None
    # One log measures no inflation: the pessimistic curve is the plain one.
    assert two["pessimistic"] == {
        "task_factor": 1.0,
        "app_s": pytest.approx(6.0),
        "fit_s": pytest.approx(4.0),
        "iterations_s": pytest.approx(3.0),
    }


def test_another_application_has_no_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fit_log(group=None).write(tmp_path)

    document = predict_json(path, "--workers", "1,2", "--cores", "2", capsys=capsys)

    row = document["predictions"][1]
    assert (row["workers"], row["cores"]) == (2, 2)
    assert row["fit_s"] is None and row["iterations_s"] is None and row["fit_s_range"] is None
    # Four cores: each job's two tasks at once.
    assert row["app_s"] == pytest.approx(6.0)
    assert row["critical_path_s"] == pytest.approx(6.0)


def test_the_default_counts_reach_past_the_logs_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fit_log().write(tmp_path)

    document = predict_json(path, capsys=capsys)

    assert [row["workers"] for row in document["predictions"]] == list(range(1, 9))


def test_the_table_says_it_is_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fit_log().write(tmp_path)

    assert main(["predict", str(path), "--workers", "1-2"]) == 0

    out = capsys.readouterr().out
    assert "replayed (a model)" in out and "7.0" in out and "4.0" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["missing.zstd"], "no such file or folder"),
        ([""], "empty path"),
        (["LOG", "--workers", "0"], "start at 1"),
        (["LOG", "--workers", "2,1"], "ascending"),
        (["LOG", "--cores", "0"], "--cores"),
        (["EMPTY"], "EMPTY"),
        (["tests/fixtures/results/good"], "no ok run of this sweep kept its event log"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    log = fit_log().write(tmp_path)
    (tmp_path / "EMPTY").mkdir()
    names = {
        "LOG": str(log),
        "EMPTY": str(tmp_path / "EMPTY"),
        "missing.zstd": str(tmp_path / "missing.zstd"),
    }
    argv = ["predict", *(names.get(arg, arg) for arg in args)]

    assert main(argv) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("partitions", "cores", "workers", "cap"),
    [(16, 1, 4, 4.0), (16, 1, 5, 4.0), (16, 1, 3, 16 / 6), (16, 2, 2, 2.0), (16, 1, 32, 16.0)],
)
def test_the_partitions_cap_the_iterations_speedup(
    partitions: int, cores: int, workers: int, cap: float
) -> None:
    assert whatif.partition_cap(partitions, cores, workers) == pytest.approx(cap)


def test_a_sweep_without_event_logs_says_why_it_has_no_model(tmp_path: Path) -> None:
    runs = load_runs(Path("tests/fixtures/results/good"))
    report = build_report(runs)

    add_model(report, runs, Path("tests/fixtures/results/good"))

    assert report["model"] is None
    assert report["model_reason"] == "no ok run kept its event log"
    assert "No model beyond the measured points: no ok run kept its event log." in (
        summary_sentences(report)
    )


def test_the_report_fits_usl_beside_amdahl_and_gives_each_point_its_interval() -> None:
    runs = load_runs(Path("tests/fixtures/results/good"))

    report = build_report(runs)

    usl = report["usl"]
    assert usl["workers"] == [1, 2, 3, 4] and 0.0 <= usl["alpha"] <= 1.0 and usl["beta"] >= 0.0
    assert report["law"] in ("usl", "amdahl") and report["law"] == usl["law"]
    low, high = report["amdahl"]["ci95_bootstrap"]
    assert low <= report["amdahl"]["parallel_fraction"] <= high
    # Two runs per count: no 95% interval from order statistics, and it says what min-max covers.
    interval = report["points"][0]["interval"]
    assert interval["n"] == 2 and interval["low"] is None and interval["widest_coverage"] == 0.5
    assert any(
        s.startswith("Universal Scalability Law on every run") for s in summary_sentences(report)
    )


def test_two_worker_counts_give_no_usl_fit_and_say_why() -> None:
    runs = [run for run in load_runs(Path("tests/fixtures/results/good")) if run["workers"] <= 2]

    report = build_report(runs)

    assert report["usl"] is None and report["law"] == "amdahl"
    assert "three or more" in report["usl_reason"]


def test_rows_partitions_and_the_host_are_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = fit_log(records=100).write(tmp_path)

    plain, scaled = (
        predict_json(path, "--workers", "1,2", *args, capsys=capsys)["predictions"]
        for args in ([], ["--scale", "2"])
    )

    assert [(r["rows"], r["scale"], r["partitions"], r["host_cpus"]) for r in plain] == [
        (None, 1.0, 2, None),
        (None, 1.0, 2, None),
    ]
    # Three jobs of two 1.9 s tasks and the driver's 1.0 s: 12.4 s; not the measured run.
    assert scaled[0]["fit_s"] == pytest.approx(12.4) and scaled[0]["measured_fit_s"] is None
    # On two executors one 1.9 s task a job.
    assert scaled[1]["fit_s"] == pytest.approx(6.7)
    halves = predict_json(path, "--workers", "1,2", "--partitions", "4", capsys=capsys)
    # Four tasks of 0.1 + 0.45 s a job: 2.2 s on one executor, 1.1 s on two.
    assert [r["fit_s"] for r in halves["predictions"]] == pytest.approx([7.6, 4.3])
    assert halves["predictions"][0]["partitions"] == 4


def test_rows_come_from_the_runs_data_set(tmp_path: Path) -> None:
    source = whatif.Source(
        eventlog.read(fit_log(records=100).write(tmp_path)),
        {
            "run_id": "w1-r1",
            "workers": 1,
            "partitions": 2,
            "dataset": {"rows": 200},
            "host": {"cpus": 4},
            "timings": {"fit_s": 7.0},
        },
    )

    row = whatif.predict(source, [1], shape=whatif.Shape(rows=400, host_cpus=4))[0]

    assert (row["rows"], row["scale"], row["host_cpus"]) == (400, 2.0, 4)
    assert row["fit_s"] == pytest.approx(12.4)


@pytest.mark.parametrize(
    ("log", "args", "words"),
    [
        ("LOG", ["--scale", "0"], "--scale 0: "),
        ("LOG", ["--scale", "-1"], "--scale -1: "),
        ("LOG", ["--rows", "0"], "--rows 0: must be at least 1"),
        ("LOG", ["--partitions", "0"], "--partitions 0: must be at least 1"),
        ("OTHER", ["--rows", "10"], "--rows needs a run of ours"),
        ("OTHER", ["--partitions", "4"], "--partitions needs a run of ours"),
        ("LOG", ["--rows", "10"], "no run JSON"),
        ("LOG", ["--host-cpus", "0"], "--host-cpus 0: below one worker's"),
        ("LOG", ["--cores", "4", "--host-cpus", "2"], "--host-cpus 2: below one worker's 4"),
    ],
)
def test_bad_shapes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log: str, args: list[str], words: str
) -> None:
    ours, other = tmp_path / "ours", tmp_path / "other"
    ours.mkdir()
    other.mkdir()
    paths = {"LOG": fit_log().write(ours), "OTHER": fit_log(group=None).write(other)}

    assert main(["predict", str(paths[log]), *args]) == 2

    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err and "Traceback" not in err


def two_executor_log() -> EventLog:
    """fit_log's jobs on two executors of one core, each job's two tasks at once (1 s)."""
    log = EventLog(app_id="app-20260101000000-0001")
    log.executor("1", 1)
    log.executor("2", 1)
    metrics = {"Executor Run Time": 900, "Input Metrics": {"Bytes Read": 800, "Records Read": 100}}
    for job, (start, name) in enumerate(
        [(1.0, "count at Test.scala:1"), (2.5, ITERATION), (4.0, ITERATION)]
    ):
        info = stage_info(job, 2, name=name)
        log.job(job, start, start + 1.0, [info], group=FIT_GROUP)
        log.stage(info, start, start + 1.0)
        log.task(job, 0, "1", start, start + 1.0, metrics=metrics)
        log.task(job, 1, "2", start, start + 1.0, metrics=metrics)
    log.end(6.0)
    return log


def test_the_report_model_checks_on_the_measured_host_and_picks_partitions(
    tmp_path: Path,
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()

    def source(log: EventLog, folder: Path, workers: int, fit_s: float) -> whatif.Source:
        run = {
            "run_id": f"w{workers}-r1",
            "workers": workers,
            "partitions": 2,
            "dataset": {"rows": 200},
            "host": {"cpus": 1},
            "timings": {"fit_s": fit_s},
        }
        return whatif.Source(eventlog.read(log.write(folder)), run)

    sources = [
        source(fit_log(records=100), one, 1, 7.0),
        source(two_executor_log(), two, 2, 4.0),
    ]

    model = whatif.sweep_model(sources, contended=[], predict_to=2)

    assert model is not None
    cross = next(row for row in model["cross_check"] if row["from"] == "w1-r1")
    # Two executors and the driver on one CPU stretch the tasks' CPU time more than the
    # base's one executor did: slower than the plain replay.
    assert cross["host_cpus"] == 1
    assert cross["host_predicted_fit_s"] > cross["predicted_fit_s"]
    assert cross["host_error"] == pytest.approx((cross["host_predicted_fit_s"] - 4.0) / 4.0)
    assert model["cross_check_host_max_error"] is not None
    worst = max(model["cross_check"], key=lambda row: abs(row["host_error"]))
    assert (
        f"On hosts of the measured runs' CPUs it missed by {worst['host_error']:+.0%} at worst"
        in " ".join(model_sentences({"model": model}))
    )
    # Each task's 0.1 s fixed part makes more partitions dearer; at w=1 with 4 of them:
    # three jobs of 4 x 0.1 + 1.8 s, and the driver's 1.0 s.
    first = model["partition_choice"][0]
    assert first["workers"] == 1 and first["fastest"] == 4
    assert first["fit_s"]["4"] == pytest.approx(7.6)
    assert list(first["fit_s"]) == [str(p) for p in whatif.PARTITION_CHOICES]


def test_the_fetch_wait_cost_counts_the_recut_stages_waves(tmp_path: Path) -> None:
    stage = eventlog.read(fit_log(records=100).write(tmp_path)).stages[0]
    costs = whatif.Costs(0.5, {}, {})
    # Only a stage that read a shuffle pays it: stage 0 made to.
    task = stage.tasks[0]
    assert task.metrics is not None
    stage.tasks[0] = replace(task, metrics=replace(task.metrics, shuffle_records_read=1))

    # Two recorded tasks on one slot: two waves of 0.5 s at one executor more; eight
    # re-cut tasks: eight waves.
    assert costs.stage_cost(stage, 1, 1) == pytest.approx(1.0)
    assert costs.stage_cost(stage, 1, 1, 8) == pytest.approx(4.0)


def test_the_table_says_what_was_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fit_log(records=100).write(tmp_path)

    assert main(["predict", str(path), "--workers", "1", "--partitions", "4", "--scale", "2"]) == 0
    assert main(["predict", str(path), "--workers", "1", "--host-cpus", "2"]) == 0

    out = " ".join(capsys.readouterr().out.split())
    assert "4 partitions, rows x2" in out and "2 partitions, one host of 2 CPUs" in out


def test_rows_and_scale_together_are_refused(tmp_path: Path) -> None:
    run = {"run_id": "w1-r1", "workers": 1, "partitions": 2, "dataset": {"rows": 200}}
    source = whatif.Source(eventlog.read(fit_log().write(tmp_path)), run)

    with pytest.raises(SparksweepError, match="--rows and --scale both"):
        whatif.predict(source, [1], shape=whatif.Shape(rows=400, scale=2.0))
