"""report.md, speedup.png, the terminal's table and sentences, and the files written, from
build_report's document on the fixture sweeps (tests/sweeps.py)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sparksweep import report as report_module
from sparksweep.analysis import build_report
from sparksweep.errors import ResultsError
from sparksweep.render import SpeedupPlot
from sparksweep.report import (
    failed_run_lines,
    render_markdown,
    render_plot,
    render_table,
    summary_sentences,
    write_report,
)
from sparksweep.results import load_runs
from tests.sweeps import FIXTURES, copy_fixture, fail, rewrite_runs, with_anatomy, with_host_cpu

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


def test_write_report_into_a_missing_folder_is_a_results_error(tmp_path: Path) -> None:
    report = build_report(load_runs(FIXTURES / "good"))

    with pytest.raises(ResultsError, match="cannot write the report into"):
        write_report(tmp_path / "gone", report)


# --- report.md and the summary sentences ---------------------------------------------


def test_the_markdown_table_names_each_failed_run() -> None:
    markdown = render_markdown(build_report(load_runs(FIXTURES / "failed-run")))

    assert "w2-r2" in markdown


def test_without_a_run_at_one_worker_the_markdown_says_why_there_is_no_speedup(
    tmp_path: Path,
) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, fail, "w1-*.json")

    paths = write_report(sweep, build_report(load_runs(sweep)))

    assert "cannot be computed" in paths["markdown"].read_text()


def test_a_missing_fit_is_null_in_json_and_its_reason_in_text(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    for path in (sweep / "runs").glob("w[234]-*.json"):
        path.unlink()

    paths = write_report(sweep, build_report(load_runs(sweep)))

    assert json.loads(paths["json"].read_text())["amdahl"] is None
    assert "No Amdahl fit on fit_s" in paths["markdown"].read_text()


def test_a_contended_point_is_named_and_the_fit_without_it_given() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        with_host_cpu(run, 1.1 if run["workers"] == 3 else 0.05)

    text = render_markdown(build_report(runs))

    assert "Contended — Amdahl fit on fit_s" in text
    assert "Contended at 3 worker(s)" in text
    assert "uncontended points only" in text


def test_a_quiet_sweep_says_no_point_is_contended() -> None:
    runs = load_runs(FIXTURES / "good")
    for run in runs:
        with_anatomy(run)
        with_host_cpu(run, 0.04)
    report = build_report(runs)
    assert report["contended_workers"] == []
    assert any(s.startswith("No point is contended") for s in summary_sentences(report))


def test_a_part_added_to_its_tuple_is_rendered_in_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def section(report: dict[str, Any], sweep_dir: Path) -> list[str]:
        return [f"## Beyond the {len(report['points'])} measured points", ""]

    drawn: list[str] = []

    def layer(plot: SpeedupPlot, report: dict[str, Any]) -> None:
        # Drawn last: every other line is on the axes already.
        drawn.extend(line.get_label() for line in plot.axes.get_lines())

    sections = report_module.MARKDOWN_SECTIONS
    # Before the plot's image and the date, the last two sections.
    monkeypatch.setattr(
        report_module, "MARKDOWN_SECTIONS", (*sections[:-2], section, *sections[-2:])
    )
    monkeypatch.setattr(
        report_module, "SUMMARY", (*report_module.SUMMARY, lambda report: ["One more."])
    )
    monkeypatch.setattr(report_module, "PLOT_LAYERS", (*report_module.PLOT_LAYERS, layer))
    report = build_report(load_runs(FIXTURES / "good"))

    markdown = render_markdown(report)
    render_plot(report)

    assert summary_sentences(report)[-1] == "One more."
    assert "One more.\n\n" in markdown
    assert "|\n\n## Beyond the 4 measured points\n\n![speedup]" in markdown
    assert drawn[0] == "ideal S = w"
    assert "measured fit_s (median over repeats)" in drawn


# --- the terminal ----------------------------------------------------------------------


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
