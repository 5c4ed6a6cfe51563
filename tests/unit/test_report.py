"""Loading run JSON folders and building reports from them, on the fixture folders.

The fixtures (tests/fixtures/results/README.md) time the fit as 120 s * (0.1 + 0.9 / w),
with repeat 1 at +2% and repeat 2 at -2%, and add a constant 20 s of session start and data
load to get total_s. So fit_s follows p = 0.9, T1 = 120 s and total_s follows
p = 108 / 140, T1 = 140 s; the host has 2 CPUs and each worker 1 core.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sparksweep.errors import ResultsError
from sparksweep.job import runrecord
from sparksweep.report import build_report, render_markdown, write_report
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
