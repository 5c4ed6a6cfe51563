"""Loading run JSON folders and building reports from them, on the fixture folders.

The fixtures (tests/fixtures/results/README.md) time the fit as 120 s * (0.1 + 0.9 / w),
with repeat 1 at +2% and repeat 2 at -2%, and add a constant 20 s of session start and data
load to get total_s. So fit_s follows p = 0.9, T1 = 120 s and total_s follows
p = 108 / 140, T1 = 140 s; the host has 2 CPUs and each worker 1 core.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sparksweep.analysis import build_report
from sparksweep.errors import ResultsError
from sparksweep.job import runrecord
from sparksweep.report import (
    failed_run_lines,
    render_markdown,
    render_table,
    summary_sentences,
    write_report,
)
from sparksweep.results import atomic_write, load_runs, sweep_folder, write_json_atomic

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "results"
P_FIT, T1_FIT = 0.9, 120.0
P_TOTAL, T1_TOTAL = 108 / 140, 140.0
MEDIAN_FIT = {1: 120.0, 2: 66.0, 3: 48.0, 4: 39.0}


def copy_fixture(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def rewrite_runs(sweep: Path, change: Any, pattern: str = "*.json") -> None:
    """Apply change(run) to the run JSON files of a copied sweep and write them back."""
    for path in (sweep / "runs").glob(pattern):
        run = json.loads(path.read_text())
        change(run)
        path.write_text(json.dumps(run))


def fail(run: dict[str, Any]) -> None:
    run["status"] = "failed"
    run["error"] = {"kind": "driver_exit", "message": "driver exited with code 1"}
    run["iterations"] = run["cost"] = None
    run["timings"] = dict.fromkeys(run["timings"])


# --- load_runs -------------------------------------------------------------------------


def test_load_runs_reads_every_run_of_a_sweep() -> None:
    runs = load_runs(FIXTURES / "good")

    assert sorted(run["run_id"] for run in runs) == [
        f"w{w}-r{r}" for w in range(1, 5) for r in (1, 2)
    ]
    assert sweep_folder(FIXTURES / "good") == FIXTURES / "good"


def test_load_runs_accepts_the_folder_above_one_sweep(tmp_path: Path) -> None:
    copy_fixture("good", tmp_path)

    assert len(load_runs(tmp_path)) == 8
    assert sweep_folder(tmp_path) == tmp_path / "good"


def test_malformed_json_names_the_file() -> None:
    with pytest.raises(ResultsError, match=r"w1-r2\.json: not valid JSON: .*line \d+"):
        load_runs(FIXTURES / "malformed")


def test_schema_violation_names_the_file_and_the_json_path() -> None:
    with pytest.raises(ResultsError) as caught:
        load_runs(FIXTURES / "schema-violation")

    message = str(caught.value)
    assert "w2-r1.json" in message
    assert "$.timings.fit_s" in message
    assert "less than the minimum of 0" in message


def test_ok_run_without_a_fit_time_violates_the_schema(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, lambda run: run["timings"].update(fit_s=None))

    with pytest.raises(ResultsError, match=r"\$\.timings\.fit_s"):
        load_runs(sweep)


def test_nan_is_not_json(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    path = sweep / "runs" / "w1-r1.json"
    path.write_text(path.read_text().replace('"fit_s": 122.4', '"fit_s": NaN'))

    with pytest.raises(ResultsError, match=r"w1-r1\.json: line \d+: \"fit_s\": NaN is not a JSON"):
        load_runs(sweep)


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("beyond a double's range", lambda raw: raw.replace('"fit_s": 122.4', '"fit_s": 1e400')),
        (
            "100000 is greater than the maximum of 1024",
            lambda raw: raw.replace('"workers": 1,', '"workers": 100000,'),
        ),
    ],
)
def test_numbers_beyond_reason_are_refused_at_once(tmp_path: Path, text: str, change: Any) -> None:
    sweep = copy_fixture("good", tmp_path)
    path = sweep / "runs" / "w1-r1.json"
    path.write_text(change(path.read_text()))

    with pytest.raises(ResultsError, match=text):
        load_runs(sweep)


def test_bad_timestamp_violates_the_schema(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, lambda run: run.update(started_at="yesterday"))

    with pytest.raises(ResultsError, match=r"\$\.started_at: 'yesterday' is not a 'date-time'"):
        load_runs(sweep)


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no run files"):
        load_runs(FIXTURES / "empty")
    with pytest.raises(ResultsError, match="no run files"):
        load_runs(tmp_path)


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="does not exist"):
        load_runs(tmp_path / "nowhere")


def test_mixed_sweeps_are_refused_with_their_ids() -> None:
    with pytest.raises(ResultsError) as caught:
        load_runs(FIXTURES / "mixed")

    message = str(caught.value)
    assert "sweep-a" in message
    assert "sweep-b" in message
    assert "point at one sweep's folder" in message


def test_a_run_counted_twice_is_refused(tmp_path: Path) -> None:
    copy_fixture("good", tmp_path)
    shutil.copytree(FIXTURES / "good", tmp_path / "good-copy")

    with pytest.raises(ResultsError, match="appears twice"):
        load_runs(tmp_path)


def test_runs_of_different_settings_are_refused_naming_the_fields(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)

    def change(run: dict[str, Any]) -> None:
        run["params"]["k"] = 12
        run["dataset"]["fingerprint"] = "sha256:" + "cd" * 32

    rewrite_runs(sweep, change, "w3-*.json")

    with pytest.raises(ResultsError) as caught:
        load_runs(sweep)
    message = str(caught.value)
    assert "mixes runs measured with different settings" in message
    assert "dataset.fingerprint, params.k" in message


def test_version_2_runs_with_mixed_config_hashes_are_refused(tmp_path: Path) -> None:
    runs = tmp_path / "s1" / "runs"
    runs.mkdir(parents=True)
    for workers, k in ((1, 10), (2, 11)):
        record = runrecord.new_record(
            runrecord.job_parser("test").parse_args(
                [
                    *("--data", "/d", "--cores-per-worker", "1", "--executor-memory", "2g"),
                    *("--dataset-source", "synthetic", "--dataset-fingerprint", "sha256:ab"),
                    *("--k", str(k), "--out", "x", "--sweep-id", "s1"),
                    *("--run-id", f"w{workers}-r1", "--workers", str(workers)),
                ]
            )
        )
        runrecord.set_error(record, "exit", "x")
        runrecord.write_json(str(runs / f"w{workers}-r1.json"), record)

    with pytest.raises(ResultsError, match=r"w1-r1.json and w2-r1.json differ in params\.k"):
        load_runs(tmp_path / "s1")


def test_a_run_id_that_does_not_name_its_workers_is_refused(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, lambda run: run.update(workers=3), "w2-r1.json")

    with pytest.raises(ResultsError, match="run_id w2-r1 names 2 workers but the run had 3"):
        load_runs(sweep)


def test_a_file_named_for_another_run_is_refused(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    (sweep / "runs" / "w4-r2.json").rename(sweep / "runs" / "w4-r3.json")

    with pytest.raises(ResultsError, match="does not match its run_id w4-r2"):
        load_runs(sweep)


# --- write_json_atomic -----------------------------------------------------------------


def test_write_json_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})

    assert json.loads(target.read_text()) == {"a": 2}
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_write_json_atomic_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json_atomic(target, {"a": 1})

    with pytest.raises(ValueError):
        write_json_atomic(target, {"a": float("nan")})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_atomic_write_leaves_the_old_file_when_the_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "speedup.png"
    target.write_bytes(b"old")

    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["speedup.png"]


def test_write_report_into_a_missing_folder_is_a_results_error(tmp_path: Path) -> None:
    report = build_report(load_runs(FIXTURES / "good"))

    with pytest.raises(ResultsError, match="cannot write the report into"):
        write_report(tmp_path / "gone", report)


# --- build_report ----------------------------------------------------------------------


def test_report_recovers_the_fixture_amdahl_curve() -> None:
    report = build_report(load_runs(FIXTURES / "good"))

    amdahl = report["amdahl"]
    assert amdahl["metric"] == "fit_s"
    # +2%/-2% pairs scale every worker count alike, which moves T1 a little but not p.
    assert amdahl["parallel_fraction"] == pytest.approx(P_FIT, abs=1e-6)
    assert amdahl["serial_fraction"] == pytest.approx(1 - P_FIT, abs=1e-6)
    assert amdahl["t1"] == pytest.approx(T1_FIT, rel=1e-3)
    assert amdahl["ceiling"] == pytest.approx(1 / (1 - P_FIT), rel=1e-4)
    assert amdahl["ci95"][0] < P_FIT < amdahl["ci95"][1]
    assert amdahl["r2"] > 0.99
    assert amdahl["n_points"] == 8

    total = report["amdahl_total"]
    assert total["metric"] == "total_s"
    assert total["parallel_fraction"] == pytest.approx(P_TOTAL, abs=1e-3)
    assert total["t1"] == pytest.approx(T1_TOTAL, rel=1e-3)


def test_report_points_give_medians_speedups_and_karp_flatt() -> None:
    report = build_report(load_runs(FIXTURES / "good"))

    points = {p["workers"]: p for p in report["points"]}
    assert sorted(points) == [1, 2, 3, 4]
    for w, median in MEDIAN_FIT.items():
        point = points[w]
        assert (point["n_ok"], point["n_failed"]) == (2, 0)
        assert point["median_fit_s"] == pytest.approx(median)
        assert point["median_total_s"] == pytest.approx(median + 20.0)
        assert point["speedup"] == pytest.approx(MEDIAN_FIT[1] / median)
        assert point["efficiency"] == pytest.approx(MEDIAN_FIT[1] / median / w)
    assert points[1]["karp_flatt"] is None
    for w in (2, 3, 4):
        assert points[w]["karp_flatt"] == pytest.approx(1 - P_FIT)


def test_report_flags_worker_counts_beyond_the_host_cpus() -> None:
    report = build_report(load_runs(FIXTURES / "good"))

    assert report["host"]["cpus"] == 2
    assert report["oversubscribed_workers"] == [3, 4]
    assert [p["oversubscribed"] for p in report["points"]] == [False, False, True, True]


def test_report_on_total_time_makes_it_the_primary_fit() -> None:
    report = build_report(load_runs(FIXTURES / "good"), metric="total_s")

    assert report["metric"] == "total_s"
    assert report["amdahl"]["metric"] == "total_s"
    assert report["amdahl"]["parallel_fraction"] == pytest.approx(P_TOTAL, abs=1e-3)
    assert report["points"][1]["speedup"] == pytest.approx(140.0 / 86.0)


def test_failed_runs_are_counted_listed_and_left_out() -> None:
    report = build_report(load_runs(FIXTURES / "failed-run"))

    point = report["points"][1]
    assert point["workers"] == 2
    assert (point["n_ok"], point["n_failed"]) == (1, 1)
    assert point["failed_runs"] == [
        {
            "run_id": "w2-r2",
            "kind": "executor_lost",
            "message": "Lost executor 1 on 172.18.0.4: worker lost",
        }
    ]
    # Only the +2% repeat is left at w = 2.
    assert point["median_fit_s"] == pytest.approx(66.0 * 1.02)
    assert report["runs"] == {"total": 6, "ok": 5, "failed": 1}
    assert report["amdahl"]["n_points"] == 5
    assert "w2-r2" in render_markdown(report)


def test_failed_run_lines_give_the_run_the_kind_and_the_first_line_of_the_message(
    tmp_path: Path,
) -> None:
    sweep = copy_fixture("good", tmp_path)

    def crash(run: dict[str, Any]) -> None:
        fail(run)
        run["error"] = {
            "kind": "oom",
            "message": "\n  java.lang.OutOfMemoryError:   Java heap\n\tat x" + "y" * 300,
        }

    rewrite_runs(sweep, crash, "w3-r2.json")
    rewrite_runs(sweep, fail, "w1-r1.json")

    lines = failed_run_lines(build_report(load_runs(sweep)))

    assert lines == [
        "failed w1-r1: driver_exit: driver exited with code 1",
        "failed w3-r2: oom: java.lang.OutOfMemoryError: Java heap",
    ]
    assert failed_run_lines(build_report(load_runs(FIXTURES / "good"))) == []


@pytest.mark.parametrize("fixture", ["good", "failed-run"])
def test_the_table_reads_whole_at_80_columns(fixture: str) -> None:
    report = build_report(load_runs(FIXTURES / fixture))
    console = Console(width=80, record=True, file=io.StringIO())

    console.print(render_table(report))

    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    words = text.split()
    for header in ("workers", "ok", "failed", "fit_s", "total_s", "speedup", "efficiency"):
        assert header in words
    assert "Karp-Flatt" in words
    assert "yellow: w x cores above the host's 2 CPUs" in text
    assert re.search(r"^ +3 +2 +0 +48\.00 +68\.00 +2\.50 +0\.83 +0\.100 +3 *$", text, re.M)


def test_no_ok_run_at_one_worker_means_no_speedup(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, fail, "w1-*.json")

    report = build_report(load_runs(sweep))

    assert all(p["speedup"] is None and p["karp_flatt"] is None for p in report["points"])
    assert "no T(1)" in report["speedup_note"]
    # The fit needs no T(1): three worker counts are left.
    assert report["amdahl"]["parallel_fraction"] == pytest.approx(P_FIT, abs=1e-6)
    paths = write_report(sweep, report)
    assert "cannot be computed" in paths["markdown"].read_text()


def test_one_worker_count_gives_no_fit_but_a_reason(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    for path in (sweep / "runs").glob("w[234]-*.json"):
        path.unlink()

    report = build_report(load_runs(sweep))

    assert report["amdahl"] is None
    assert "two or more distinct worker counts" in report["amdahl_reason"]
    assert report["amdahl_total"] is None
    paths = write_report(sweep, report)
    assert json.loads(paths["json"].read_text())["amdahl"] is None
    assert "No Amdahl fit on fit_s" in paths["markdown"].read_text()


# --- write_report ----------------------------------------------------------------------


def test_write_report_writes_json_markdown_and_plot(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    paths = write_report(sweep, build_report(load_runs(sweep)))

    assert paths == {
        "json": sweep / "report.json",
        "markdown": sweep / "report.md",
        "plot": sweep / "speedup.png",
    }
    data = json.loads(paths["json"].read_text())
    assert {"amdahl", "amdahl_total", "points", "sweep_id", "oversubscribed_workers"} <= set(data)
    assert {"host", "generated_at"} <= set(data)
    assert {
        "parallel_fraction",
        "serial_fraction",
        "ci95",
        "r2",
        "ceiling",
        "t1",
        "metric",
    } <= set(data["amdahl"])
    assert data["sweep_id"] == "good"
    assert paths["plot"].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    markdown = paths["markdown"].read_text()
    assert "| workers |" in markdown
    assert "p = 0.900, 95% CI [" in markdown
    assert "Ceiling: 10.0x" in markdown
    assert "At 3 and 4 workers the sweep asks for 3 and 4 cores but the host has 2 CPUs" in markdown
    assert "contention for the CPUs, not scaling" in markdown
    # The report is written where the runs are, and nothing else is left behind.
    assert sorted(path.name for path in sweep.iterdir()) == [
        "report.json",
        "report.md",
        "runs",
        "speedup.png",
    ]


def test_unbounded_ceiling_is_null_in_json_and_infinity_in_text(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    # Every time halves with each doubling of workers: no serial part at all.
    rewrite_runs(sweep, lambda run: run["timings"].update(fit_s=120.0 / run["workers"]))

    report = build_report(load_runs(sweep))
    paths = write_report(sweep, report)

    assert json.loads(paths["json"].read_text())["amdahl"]["ceiling"] is None
    assert "Ceiling: ∞" in paths["markdown"].read_text()


# --- contention and where T(w) goes ----------------------------------------------------


def _phase(wall: float, run: float, cpu: float, driver_only: float = 0.0) -> dict[str, Any]:
    return {
        "wall_s": wall,
        "jobs": 1,
        "tasks": 16,
        "executor_run_s": run,
        "executor_cpu_s": cpu,
        "gc_s": 0.0,
        "deserialize_s": 0.0,
        "scheduler_delay_s": 0.1,
        "driver_only_s": driver_only,
    }


def _with_anatomy(run: dict[str, Any], cpu_ratio: float = 0.75) -> None:
    """A fit of 2 s driver-only, 10 s of coordination and the rest executor compute."""
    w, fit = run["workers"], run["timings"]["fit_s"]
    compute = fit - 12.0
    phases = {
        "load": _phase(5.0, 5.0 * w, 4.0 * w),
        "caching": _phase(6.0, 4.0 * w, 3.0 * w, driver_only=1.0),
        "init": _phase(2.0, 1.0 * w, 0.8 * w, driver_only=0.5),
        "iterations": _phase(fit - 10.0, compute * w - 5.0 * w, cpu_ratio * (compute - 5) * w),
        "summary": _phase(2.0, 0.0, 0.0, driver_only=0.5),
    }
    phases["iterations"]["per_iteration_s"] = [1.0]
    phases["iterations"]["median_iteration_s"] = 1.0
    run["anatomy"] = {"phases": phases, "executor_cpu_ratio": cpu_ratio}


def test_a_busy_host_marks_its_point_contended_and_a_second_fit_leaves_it_out() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        other = 1.1 if run["workers"] == 3 else 0.05
        run["host_cpu"] = {"hosts": [], "given_cpus": run["workers"], "other_cpus": other}
    report = build_report(runs)
    assert report["contended_workers"] == [3]
    point = next(p for p in report["points"] if p["workers"] == 3)
    assert point["contended"] and "1.10 CPUs busy" in point["contention"][0]
    assert report["amdahl_uncontended"]["workers"] == [1, 2, 4]
    # The fixtures follow p = 0.9 at every point, so leaving one out changes nothing.
    assert report["amdahl_uncontended"]["parallel_fraction"] == pytest.approx(P_FIT, abs=0.01)
    text = render_markdown(report)
    assert "Contended — Amdahl fit on fit_s" in text
    assert "Contended at 3 worker(s)" in text
    assert "uncontended points only" in text


def test_executors_short_of_cpu_mark_a_point_contended() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        _with_anatomy(run, cpu_ratio=0.5 if run["workers"] >= 2 else 0.76)
    report = build_report(runs)
    assert report["contended_workers"] == [2, 3, 4]
    assert "executors were on CPU 50%" in report["points"][1]["contention"][0]
    assert report["amdahl_uncontended"] is None
    assert "fewer than two worker counts" in report["amdahl_uncontended_reason"]


def test_a_quiet_sweep_says_no_point_is_contended() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        _with_anatomy(run)
        run["host_cpu"] = {"hosts": [], "given_cpus": run["workers"], "other_cpus": 0.04}
    report = build_report(runs)
    assert report["contended_workers"] == []
    assert any(s.startswith("No point is contended") for s in summary_sentences(report))


def test_the_decomposition_names_what_keeps_p_below_one() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        _with_anatomy(run)
    report = build_report(runs)
    rows = {row["workers"]: row for row in report["decomposition"]["rows"]}
    # driver-only is 2 s at every w; compute is the executors' run time over their cores.
    assert rows[1]["driver_only_s"] == pytest.approx(2.0)
    assert rows[4]["driver_only_s"] == pytest.approx(2.0)
    assert rows[4]["executor_compute_s"] < rows[1]["executor_compute_s"] / 3
    sentence = report["decomposition"]["sentence"]
    assert sentence.startswith("Where T(w) goes")
    assert "keeps p below 1" in sentence
    assert report["decomposition"]["serial_part"] in sentence


def test_atomic_write_check_reads_the_whole_file_and_can_refuse_it(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old")
    seen: list[bytes] = []

    def refuse(written: Path) -> None:
        seen.append(written.read_bytes())
        raise ResultsError("not good enough")

    with pytest.raises(ResultsError), atomic_write(path, check=refuse) as handle:
        handle.write(b"new")

    assert seen == [b"new"]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


# --- links to Spark's History Server ---------------------------------------------------


def with_applications(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fixture runs as schema 2 records them: w1 with its event log kept, w2-r1 whose
    driver was killed before the log was finished; the rest as schema 1, without either."""
    by_id = {run["run_id"]: run for run in runs}
    for run_id in ("w1-r1", "w1-r2"):
        app = f"app-20250101000000-000{run_id[-1]}"
        by_id[run_id].update(application_id=app, event_log=f"events/{run_id}_{app}.zstd")
    by_id["w2-r1"].update(application_id="app-20250101000000-0003", event_log=None)
    return runs


def test_report_links_each_run_with_an_application_to_its_page(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    report = build_report(with_applications(load_runs(sweep)))

    markdown = write_report(sweep, report)["markdown"].read_text()

    assert f"`sparksweep history {sweep}` serves this sweep's event logs" in markdown
    page = "http://127.0.0.1:18080/history/app-20250101000000-0001/jobs/"
    assert f"- w1-r1 (ok): [app-20250101000000-0001]({page})" in markdown
    assert "- w1-r2 (ok): [app-20250101000000-0002](http://127.0.0.1:18080/history/" in markdown
    # An application without its event log has no page on the server: named, not linked.
    assert "- w2-r1 (ok): app-20250101000000-0003, no event log kept" in markdown
    assert "w2-r2 (" not in markdown and "w3-r1 (" not in markdown
    assert json.loads((sweep / "report.json").read_text())["applications"][0] == {
        "run_id": "w1-r1",
        "status": "ok",
        "application_id": "app-20250101000000-0001",
        "event_log": "events/w1-r1_app-20250101000000-0001.zstd",
    }


def test_report_without_application_ids_has_no_history_links() -> None:
    markdown = render_markdown(build_report(load_runs(FIXTURES / "good")))

    assert "sparksweep history" not in markdown
    assert "/history/" not in markdown
