"""`sparksweep compare` on the fixture sweeps: good (solver auto, p = 0.9, T1 = 120 s) and
block-solver (solver block, p = 0.8, T1 = 100 s, w = 1..3); see tests/fixtures/results."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from sparksweep.cli import main
from sparksweep.compare import (
    build_comparison,
    differing_settings,
    render_markdown,
    render_tables,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "results"
GOOD, BLOCK = FIXTURES / "good", FIXTURES / "block-solver"


def test_each_sweep_is_fitted_as_its_report_and_the_differing_setting_is_named() -> None:
    comparison = build_comparison([GOOD, BLOCK])

    a, b = comparison["sweeps"]
    assert (a["letter"], a["sweep_id"], b["letter"], b["sweep_id"]) == (
        "A",
        "good",
        "B",
        "block-solver",
    )
    assert a["report"]["amdahl"]["parallel_fraction"] == pytest.approx(0.9, abs=1e-6)
    assert b["report"]["amdahl"]["parallel_fraction"] == pytest.approx(0.8, abs=1e-6)
    assert b["report"]["amdahl_total"]["parallel_fraction"] == pytest.approx(80 / 120, abs=1e-3)
    assert comparison["workers"] == [1, 2, 3, 4]
    assert comparison["settings"] == [{"field": "params.solver", "values": ["auto", "block"]}]


def test_differing_settings_walk_nested_fields_and_keep_spark_keys_whole() -> None:
    configs = [
        {"params": {"k": 10, "seed": 1}, "conf": {"spark.a.b": "1"}, "image": "x"},
        {"params": {"k": 12, "seed": 1}, "conf": {"spark.a.b": "2", "spark.c": "3"}, "image": "x"},
        {"params": {"k": 10, "seed": 1}, "conf": {"spark.a.b": "1"}, "image": "x"},
    ]

    assert differing_settings(configs) == [
        {"field": "conf.spark.a.b", "values": ["1", "2", "1"]},
        {"field": "conf.spark.c", "values": [None, "3", None]},
        {"field": "params.k", "values": [10, 12, 10]},
    ]
    assert differing_settings(configs[::2]) == []


def test_the_tables_read_whole_at_80_columns() -> None:
    console = Console(width=80, record=True, file=io.StringIO())
    for table in render_tables(build_comparison([GOOD, BLOCK, FIXTURES / "failed-run"])):
        console.print(table)

    text = console.export_text()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "fit_s: median (s) and speedup" in text
    assert " 1  120.00 (1.00x)  100.00 (1.00x)   0.83  120.00 (1.00x)   1.00" in text
    assert "fit_s         0.900 [0.877, 0.923]  0.800 [0.753, 0.847]" in text
    assert "params.solver  auto  block  auto" in text


def test_compare_writes_markdown_and_plot_and_prints_the_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(GOOD), str(BLOCK), "--out", str(tmp_path)]) == 0

    out = capsys.readouterr().out
    assert "settings that differ" in out
    assert f"wrote {tmp_path / 'compare.md'}" in out
    assert (tmp_path / "compare.png").read_bytes().startswith(b"\x89PNG")
    markdown = (tmp_path / "compare.md").read_text()
    assert "| workers | A | B | B / A |" in markdown
    assert "| 2 | 66.00 (1.82x) | 60.00 (1.67x) | 0.91 |" in markdown
    assert "| 4 | 39.00 (3.08x) | n/a | n/a |" in markdown
    assert "| fit_s | 0.900 [0.877, 0.923] | 0.800 [0.753, 0.847] |" in markdown
    assert "| params.solver | auto | block |" in markdown
    assert "- B, iterations_s: no fit: not every ok run has its anatomy." in markdown
    assert "![speedup of fit_s](compare.png)" in markdown


def test_compare_writes_beside_the_sweeps_by_default(tmp_path: Path) -> None:
    results = tmp_path / "results"
    a = shutil.copytree(GOOD, results / "good")
    b = shutil.copytree(BLOCK, results / "block-solver")

    assert main(["compare", str(a), str(b)]) == 0

    assert (results / "compare.md").is_file()
    assert (results / "compare.png").is_file()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([GOOD], "compare takes from 2 to 26 sweep folders, got 1"),
        ([GOOD, GOOD], "sweep good is given twice"),
        ([GOOD, FIXTURES / "malformed"], "malformed/runs/w1-r2.json: not valid JSON"),
        ([GOOD, FIXTURES / "nowhere"], "nowhere does not exist"),
        ([], "the following arguments are required: SWEEP_DIR"),
    ],
)
def test_compare_refuses_with_one_line_and_writes_nothing(
    args: list[Path], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", *map(str, args), "--out", str(tmp_path)]) == 2

    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert expected in err[0]
    assert list(tmp_path.iterdir()) == []


def test_compare_shows_the_bootstrap_intervals_and_usl_side_by_side() -> None:
    comparison = build_comparison(
        [Path("tests/fixtures/results/good"), Path("tests/fixtures/results/block-solver")]
    )

    markdown = render_markdown(comparison)

    assert "uncertainty and the law each sweep supports" in markdown
    for sweep in comparison["sweeps"]:
        report = sweep["report"]
        low, high = report["amdahl"]["ci95_bootstrap"]
        assert f"[{low:.3f}, {high:.3f}]" in markdown
        assert f"{report['usl']['alpha']:.3g} [" in markdown
    assert markdown.count("| law |") == 1
