"""build_report's numbers and verdicts on the fixture sweeps (tests/sweeps.py): medians,
speedups, the Amdahl fits, contention and where T(w) goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparksweep.analysis import build_report
from sparksweep.results import load_runs
from tests.sweeps import (
    FIXTURES,
    MEDIAN_FIT,
    P_FIT,
    P_TOTAL,
    T1_FIT,
    T1_TOTAL,
    copy_fixture,
    fail,
    rewrite_runs,
    with_anatomy,
    with_host_cpu,
)


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


def test_no_ok_run_at_one_worker_means_no_speedup(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, fail, "w1-*.json")

    report = build_report(load_runs(sweep))

    assert all(p["speedup"] is None and p["karp_flatt"] is None for p in report["points"])
    assert "no T(1)" in report["speedup_note"]
    # The fit needs no T(1): three worker counts are left.
    assert report["amdahl"]["parallel_fraction"] == pytest.approx(P_FIT, abs=1e-6)


def test_one_worker_count_gives_no_fit_but_a_reason(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    for path in (sweep / "runs").glob("w[234]-*.json"):
        path.unlink()

    report = build_report(load_runs(sweep))

    assert report["amdahl"] is None
    assert "two or more distinct worker counts" in report["amdahl_reason"]
    assert report["amdahl_total"] is None


# --- contention and where T(w) goes ----------------------------------------------------


def test_a_busy_host_marks_its_point_contended_and_a_second_fit_leaves_it_out() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        with_host_cpu(run, 1.1 if run["workers"] == 3 else 0.05)
    report = build_report(runs)
    assert report["contended_workers"] == [3]
    point = next(p for p in report["points"] if p["workers"] == 3)
    assert point["contended"] and "1.10 CPUs busy" in point["contention"][0]
    assert report["amdahl_uncontended"]["workers"] == [1, 2, 4]
    # The fixtures follow p = 0.9 at every point, so leaving one out changes nothing.
    assert report["amdahl_uncontended"]["parallel_fraction"] == pytest.approx(P_FIT, abs=0.01)


def test_executors_short_of_cpu_mark_a_point_contended() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        with_anatomy(run, cpu_ratio=0.5 if run["workers"] >= 2 else 0.76)
    report = build_report(runs)
    assert report["contended_workers"] == [2, 3, 4]
    assert "executors were on CPU 50%" in report["points"][1]["contention"][0]
    assert report["amdahl_uncontended"] is None
    assert "fewer than two worker counts" in report["amdahl_uncontended_reason"]


def test_the_decomposition_names_what_keeps_p_below_one() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        with_anatomy(run)
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
