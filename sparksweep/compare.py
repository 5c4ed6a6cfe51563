"""Sweeps side by side: their per-worker medians, Amdahl's p with its 95% interval for each
timing the report fits, and the settings that differ; compare.md and compare.png.

Each sweep is read and fitted exactly as `sparksweep report` reads and fits it (load_runs,
build_report), so the two commands cannot disagree about a sweep.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table

from sparksweep.analysis import build_report
from sparksweep.errors import ResultsError, SparksweepError
from sparksweep.render import SpeedupPlot, markdown_table, terminal_table
from sparksweep.results import atomic_write, load_runs, run_config

# The timings the report fits, with the key of each fit in a report.
FITS = {"fit_s": "amdahl", "total_s": "amdahl_total", "iterations_s": "amdahl_iterations"}
MEDIANS = ("fit_s", "total_s")
# One letter per sweep names its columns, so that long sweep ids do not widen the tables.
LETTERS = string.ascii_uppercase
_NUMBER = re.compile(r"n/a$|[0-9]")


def build_comparison(folders: Sequence[Path]) -> dict[str, Any]:
    """Each sweep's report and config, and the settings in which the sweeps differ.

    folders are sweep folders (results/<sweep_id>). Each sweep gets a letter, A for the
    first, which the tables use as column headers; ratios are to sweep A.
    """
    if not 2 <= len(folders) <= len(LETTERS):
        raise SparksweepError(
            f"compare takes from 2 to {len(LETTERS)} sweep folders, got {len(folders)}"
        )
    sweeps = []
    for letter, folder in zip(LETTERS, folders, strict=False):
        runs = load_runs(folder)
        sweeps.append(
            {
                "letter": letter,
                "folder": str(folder),
                "sweep_id": runs[0]["sweep_id"],
                "report": build_report(runs, metric="fit_s"),
                "config": run_config(runs[0])[1],
            }
        )
    ids = [sweep["sweep_id"] for sweep in sweeps]
    twice = next((sweep_id for sweep_id in ids if ids.count(sweep_id) > 1), None)
    if twice is not None:
        where = " and ".join(s["folder"] for s in sweeps if s["sweep_id"] == twice)
        raise ResultsError(f"sweep {twice} is given twice ({where}); compare different sweeps")
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sweeps": sweeps,
        "workers": sorted({p["workers"] for s in sweeps for p in s["report"]["points"]}),
        "settings": differing_settings([sweep["config"] for sweep in sweeps]),
    }


def differing_settings(configs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The config fields whose values are not the same in every config, with each value.

    A field is named by its path of keys; Spark settings keep their dots
    (`conf.spark.executor.cores`). A field missing from a config has the value None.
    """
    found: list[dict[str, Any]] = []

    def walk(values: list[Any], path: list[str]) -> None:
        if all(isinstance(value, dict) for value in values):
            for key in sorted({key for value in values for key in value}):
                walk([value.get(key) for value in values], [*path, key])
        elif any(value != values[0] for value in values[1:]):
            found.append({"field": ".".join(path), "values": values})

    walk(list(configs), [])
    return found


def write_comparison(out_dir: Path, comparison: dict[str, Any]) -> dict[str, Path]:
    """Write compare.md and compare.png into out_dir, each atomically."""
    paths = {"markdown": out_dir / "compare.md", "plot": out_dir / "compare.png"}
    try:
        with atomic_write(paths["markdown"]) as handle:
            handle.write(render_markdown(comparison).encode("utf-8"))
        with atomic_write(paths["plot"]) as handle:
            handle.write(render_plot(comparison))
    except OSError as exc:
        raise ResultsError(f"cannot write the comparison into {out_dir}: {exc}") from exc
    return paths


def render_tables(comparison: dict[str, Any]) -> list[Table]:
    """The comparison for a terminal: the sweeps, the medians, the fits, the settings."""
    tables = []
    for title, (headers, rows) in _tables(comparison):
        table = terminal_table(title)
        for header, right in zip(headers, _numeric_columns(rows, len(headers)), strict=True):
            table.add_column(header, justify="right" if right else "left", overflow="fold")
        for row in rows:
            table.add_row(*row)
        tables.append(table)
    return tables


def render_markdown(comparison: dict[str, Any]) -> str:
    """compare.md: the same tables as the terminal, the reasons for missing fits, the plot."""
    lines = [
        "# Sweeps compared",
        "",
        "Medians over repeats, in seconds, with the speedup T(1) / T(w) in brackets; "
        "`B / A` is sweep B's median divided by sweep A's. p is Amdahl's parallel fraction "
        "with its 95% confidence interval, fitted to every ok run as `sparksweep report` "
        "fits it.",
        "",
    ]
    for title, (headers, rows) in _tables(comparison):
        lines += [
            f"## {title}",
            "",
            *markdown_table(headers, rows, _numeric_columns(rows, len(headers))),
            "",
        ]
    lines += [*(f"- {note}" for note in fit_notes(comparison)), ""]
    lines += [
        "![speedup of fit_s](compare.png)",
        "",
        f"Generated {comparison['generated_at']}.",
        "",
    ]
    return "\n".join(lines)


def render_plot(comparison: dict[str, Any]) -> bytes:
    """compare.png: each sweep's measured speedups of fit_s and its Amdahl curve, and the
    ideal S = w, on one plot."""
    plot = SpeedupPlot(max(comparison["workers"]))
    for i, sweep in enumerate(comparison["sweeps"]):
        color = f"C{i % 10}"
        report = sweep["report"]
        measured = [p for p in report["points"] if p["speedup"] is not None]
        name = f"{sweep['letter']} {sweep['sweep_id']}"
        if measured:
            plot.measured(
                [p["workers"] for p in measured],
                [p["speedup"] for p in measured],
                marker="o",
                markersize=7,
                color=color,
                label=f"{name}, measured",
                zorder=3,
            )
        amdahl = report["amdahl"]
        if amdahl is not None:
            plot.amdahl(
                amdahl["parallel_fraction"],
                color=color,
                label=f"{name}, Amdahl p = {amdahl['parallel_fraction']:.3f}",
            )
    return plot.png("fit_s", "K-Means speedup, sweeps compared")


def _tables(comparison: dict[str, Any]) -> list[tuple[str, tuple[list[str], list[list[str]]]]]:
    sweeps = comparison["sweeps"]
    letters = [sweep["letter"] for sweep in sweeps]
    tables = [
        (
            "sweeps",
            (
                ["sweep", "id", "runs ok", "failed", "folder"],
                [
                    [
                        s["letter"],
                        s["sweep_id"],
                        str(s["report"]["runs"]["ok"]),
                        str(s["report"]["runs"]["failed"]),
                        s["folder"],
                    ]
                    for s in sweeps
                ],
            ),
        )
    ]
    for metric in MEDIANS:
        headers = ["workers", letters[0]]
        for letter in letters[1:]:
            headers += [letter, f"{letter} / {letters[0]}"]
        rows = []
        for w in comparison["workers"]:
            points = [_point(sweep, w) for sweep in sweeps]
            medians = [p[f"median_{metric}"] if p else None for p in points]
            speedups = [p["speedup"] if p and metric == "fit_s" else None for p in points]
            cells = [_median_cell(medians[0], speedups[0])]
            for median, speedup in zip(medians[1:], speedups[1:], strict=True):
                cells += [_median_cell(median, speedup), _ratio(median, medians[0])]
            rows.append([str(w), *cells])
        title = (
            f"{metric}: median (s) and speedup" if metric == "fit_s" else f"{metric}: median (s)"
        )
        tables.append((title, (headers, rows)))
    tables.append(
        (
            "Amdahl's p [95% CI]",
            (
                ["timing", *letters],
                [
                    [timing, *(_fit_cell(s["report"][key]) for s in sweeps)]
                    for timing, key in FITS.items()
                ],
            ),
        )
    )
    tables.append(
        (
            "uncertainty and the law each sweep supports (fit_s)",
            (
                ["", *letters],
                [
                    ["p, bootstrap 95%", *(_bootstrap_cell(s["report"]["amdahl"]) for s in sweeps)],
                    ["USL alpha [95%]", *(_usl_cell(s["report"], "alpha") for s in sweeps)],
                    ["USL beta [95%]", *(_usl_cell(s["report"], "beta") for s in sweeps)],
                    ["USL peak N*", *(_peak_cell(s["report"]) for s in sweeps)],
                    ["law", *(s["report"]["law"] for s in sweeps)],
                ],
            ),
        )
    )
    settings = comparison["settings"]
    tables.append(
        (
            "settings that differ" if settings else "settings: the same in every sweep",
            (
                ["setting", *letters],
                [[row["field"], *(_setting(value) for value in row["values"])] for row in settings],
            ),
        )
    )
    return tables


def _numeric_columns(rows: list[list[str]], width: int) -> list[bool]:
    """Which columns hold numbers (right-aligned) rather than text (left-aligned)."""
    return [bool(rows) and all(_NUMBER.match(row[i]) for row in rows) for i in range(width)]


def _point(sweep: dict[str, Any], w: int) -> dict[str, Any] | None:
    return next((p for p in sweep["report"]["points"] if p["workers"] == w), None)


def _median_cell(median: float | None, speedup: float | None) -> str:
    if median is None:
        return "n/a"
    return f"{median:.2f}" + (f" ({speedup:.2f}x)" if speedup is not None else "")


def _ratio(value: float | None, base: float | None) -> str:
    return "n/a" if value is None or not base else f"{value / base:.2f}"


def _fit_cell(amdahl: dict[str, Any] | None) -> str:
    if amdahl is None:
        return "n/a"
    ci = amdahl["ci95"]
    interval = f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci is not None else "(no CI)"
    return f"{amdahl['parallel_fraction']:.3f} {interval}"


def _bootstrap_cell(amdahl: dict[str, Any] | None) -> str:
    interval = (amdahl or {}).get("ci95_bootstrap")
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "n/a"


def _usl_cell(report: dict[str, Any], name: str) -> str:
    usl = report.get("usl")
    if usl is None:
        return "n/a"
    interval = usl[f"{name}_ci95"]
    bounds = f" [{interval[0]:.3g}, {interval[1]:.3g}]" if interval else ""
    return f"{usl[name]:.3g}{bounds}"


def _peak_cell(report: dict[str, Any]) -> str:
    usl = report.get("usl")
    if usl is None:
        return "n/a"
    if usl["n_star"] is None:
        return "none"
    return f"{usl['n_star']:.1f} (S {usl['peak_speedup']:.2f})"


def fit_notes(comparison: dict[str, Any]) -> list[str]:
    """Why a fit is missing or has no interval, one line each."""
    notes = []
    for sweep in comparison["sweeps"]:
        report = sweep["report"]
        for timing, key in FITS.items():
            amdahl = report[key]
            if amdahl is None:
                notes.append(f"{sweep['letter']}, {timing}: no fit: {report[f'{key}_reason']}.")
            elif amdahl["ci95"] is None:
                notes.append(f"{sweep['letter']}, {timing}: no interval: {amdahl['ci95_note']}.")
        if report.get("usl") is None and report.get("usl_reason"):
            notes.append(f"{sweep['letter']}: no USL fit: {report['usl_reason']}.")
    return notes


def _setting(value: Any) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value)
