"""One sweep's report rendered: report.md, speedup.png, the table and sentences printed on a
terminal, and the writing of these files with report.json.

Everything here reads only the document build_report (analysis.py) returns, never the runs,
so a number a reader sees either is in report.json or is worked out from what is.

Each output is built from an ordered tuple of small functions, so that a new part is one
function added to one tuple: MARKDOWN_SECTIONS (report.md), SUMMARY (the sentences, in
report.md and on the terminal) and PLOT_LAYERS (speedup.png).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.table import Table

from sparksweep.analysis import CPU_RATIO_LIMIT, OTHER_CPUS_LIMIT
from sparksweep.errors import ResultsError
from sparksweep.history import application_page
from sparksweep.render import SpeedupPlot, markdown_table, terminal_table
from sparksweep.results import atomic_write, write_json_atomic

# A failed run's line on a terminal; the run JSON keeps the whole message.
_FAILED_MESSAGE_CHARS = 200
_METRIC_WORDS = {
    "fit_s": "the K-Means fit alone",
    "total_s": "the whole job: session start, data load and fit",
}

# A part of report.md: its lines, each part ending in a blank one, or none to leave it out.
# sweep_dir is the folder report.md is written into.
Section = Callable[[dict[str, Any], Path], list[str]]
# Sentences on what the numbers say; none when they have nothing to say about this report.
SummaryPart = Callable[[dict[str, Any]], list[str]]
# What one part of speedup.png draws; each layer is drawn over the ones before it.
PlotLayer = Callable[[SpeedupPlot, dict[str, Any]], None]


def write_report(sweep_dir: Path, report: dict[str, Any]) -> dict[str, Path]:
    """Write report.json, report.md and speedup.png into sweep_dir, each atomically."""
    paths = {
        "json": sweep_dir / "report.json",
        "markdown": sweep_dir / "report.md",
        "plot": sweep_dir / "speedup.png",
    }
    try:
        write_json_atomic(paths["json"], report)
        with atomic_write(paths["markdown"]) as handle:
            handle.write(render_markdown(report, sweep_dir).encode("utf-8"))
        with atomic_write(paths["plot"]) as handle:
            handle.write(render_plot(report))
    except OSError as exc:
        raise ResultsError(
            f"cannot write the report into {sweep_dir}: {exc.strerror or exc}; make the folder "
            "writable, or report on a copy of the sweep in a folder you can write"
        ) from exc
    return paths


def render_markdown(report: dict[str, Any], sweep_dir: Path | None = None) -> str:
    """report.md: MARKDOWN_SECTIONS in their order, for a person to read.

    sweep_dir is the folder the report is written into, named in the command that serves
    the runs' event logs (results/<sweep_id> when not given).
    """
    folder = sweep_dir or Path("results", report["sweep_id"])
    return "\n".join(line for section in MARKDOWN_SECTIONS for line in section(report, folder))


def summary_sentences(report: dict[str, Any]) -> list[str]:
    """What the numbers say, in words: the fits, the ceiling, oversubscription, failures."""
    return [sentence for part in SUMMARY for sentence in part(report)]


def failed_run_lines(report: dict[str, Any]) -> list[str]:
    """One line per failed run: its id, its error kind and the first line of its message."""
    lines = []
    for point in report["points"]:
        for run in point["failed_runs"]:
            first = next((line for line in run["message"].splitlines() if line.strip()), "")
            message = " ".join(first.split())
            if len(message) > _FAILED_MESSAGE_CHARS:
                message = message[: _FAILED_MESSAGE_CHARS - 1] + "…"
            lines.append(f"failed {run['run_id']}: {run['kind']}: {message}")
    return lines


def render_table(report: dict[str, Any]) -> Table:
    """The per-worker table for a terminal of 80 columns; oversubscribed rows in yellow, contended
    magenta.

    Cut headers ("worke…") read worse than narrow ones, so each header word gets a line of
    its own, there are no vertical rules, and the cells hold bare numbers: the failed runs'
    ids and the oversubscription are in the sentences printed below the table.
    """
    headers, rows = _table(report, detailed=False)
    oversubscribed = any(point["oversubscribed"] for point in report["points"])
    table = terminal_table(
        f"sweep {report['sweep_id']}: medians over repeats, speedup of {report['metric']}",
        caption=f"yellow: w x cores above the host's {report['host']['cpus']} CPUs"
        if oversubscribed
        else None,
    )
    for header in headers:
        table.add_column(header.replace(" ", "\n"), justify="right")
    for point, row in zip(report["points"], rows, strict=True):
        style = "yellow" if point["oversubscribed"] else "magenta" if point["contended"] else None
        table.add_row(*row, style=style)
    return table


def render_plot(report: dict[str, Any]) -> bytes:
    """speedup.png: the ideal S = w, then PLOT_LAYERS in their order."""
    plot = SpeedupPlot(max(p["workers"] for p in report["points"]))
    for layer in PLOT_LAYERS:
        layer(plot, report)
    return plot.png(report["metric"], f"K-Means speedup, sweep {report['sweep_id']}")


# --- report.md -------------------------------------------------------------------------


def _heading(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    return [f"# Scaling of sweep `{report['sweep_id']}`", ""]


def _introduction(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    metric = report["metric"]
    host = report["host"]
    return [
        f"Timed metric: `{metric}`, {_METRIC_WORDS[metric]}. Speedup S(w) = T(1) / T(w) "
        f"from the medians over repeats; efficiency S(w) / w; Karp-Flatt e is the serial "
        f"fraction measured at each worker count. Host: {host['cpus']} CPUs, "
        f"{host['mem_bytes'] / 2**30:.1f} GiB. Runs: {report['runs']['ok']} ok, "
        f"{report['runs']['failed']} failed.",
        "",
    ]


def _timings(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    return [*markdown_table(*_table(report)), ""]


def _summary(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    return [line for sentence in summary_sentences(report) for line in (sentence, "")]


def _anatomy(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    known = [p for p in report["points"] if p.get("anatomy")]
    if not known:
        return []
    headers = [
        "workers",
        "load",
        "caching",
        "init",
        "iterations",
        "median iteration",
        "summary",
        "driver-only in fit",
        "scheduler delay in fit",
        "executor CPU / run time",
        "in iterations",
        "other CPUs busy",
        "contended",
    ]
    rows = []
    for p in known:
        a = p["anatomy"]
        phases = a["phases_s"]
        ratio = a["executor_cpu_ratio"]
        rows.append(
            [
                str(p["workers"]),
                *(_number(phases[name], 2) for name in ("load", "caching", "init", "iterations")),
                _number(a["median_iteration_s"], 3),
                _number(phases["summary"], 2),
                _number(a["fit_driver_only_s"], 2),
                _number(a["fit_scheduler_delay_s"], 2),
                "n/a" if ratio is None else f"{ratio:.0%}",
                "n/a" if a["iterations_cpu_ratio"] is None else f"{a['iterations_cpu_ratio']:.0%}",
                _number(p["median_other_cpus"], 2),
                "yes" if p["contended"] else "no",
            ]
        )
    return [
        "Where the time went (medians over repeats, seconds; from Spark's job, stage and "
        "task data of each run):",
        "",
        *markdown_table(headers, rows),
        "",
    ]


def _applications(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    known = [app for app in report.get("applications", []) if app["application_id"]]
    if not known:
        return []
    lines = [
        "Spark's own record of each run (its jobs, stages, tasks and settings) is on Spark's "
        f"History Server while `sparksweep history {sweep_dir}` serves this sweep's event "
        "logs:",
        "",
    ]
    for app in known:
        text = f"- {app['run_id']} ({app['status']}): "
        if app["event_log"]:
            text += f"[{app['application_id']}]({application_page(app['application_id'])})"
        else:
            # Without a finished log (the driver was killed) the server has no page for it.
            text += f"{app['application_id']}, no event log kept"
        lines.append(text)
    return [*lines, ""]


def _plot(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    return ["![speedup](speedup.png)", ""]


def _generated(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    return [f"Generated {report['generated_at']}.", ""]


MARKDOWN_SECTIONS: tuple[Section, ...] = (
    _heading,
    _introduction,
    _timings,
    _summary,
    _anatomy,
    _applications,
    _plot,
    _generated,
)


# --- the summary sentences -------------------------------------------------------------


def _speedup_note(report: dict[str, Any]) -> list[str]:
    return [report["speedup_note"]] if report["speedup_note"] else []


def _headline_fit(report: dict[str, Any]) -> list[str]:
    sentences = _fit_sentences(report["amdahl"], report["amdahl_reason"], report["metric"])
    contended = report.get("contended_workers") or []
    if (
        contended
        and report["amdahl"] is not None
        and set(contended) & set(report["amdahl"]["workers"])
    ):
        sentences[0] = "Contended — " + sentences[0]
    return sentences


def _total_fit(report: dict[str, Any]) -> list[str]:
    # On total_s the headline fit is this one already.
    if report["metric"] == "total_s":
        return []
    return _fit_sentences(report["amdahl_total"], report["amdahl_total_reason"], "total_s")


def _iterations_fit(report: dict[str, Any]) -> list[str]:
    if report.get("amdahl_iterations") is None:
        return []
    return _fit_sentences(report["amdahl_iterations"], None, "the iterations phase")


def _anatomy_sentences(report: dict[str, Any]) -> list[str]:
    rows = [p for p in report["points"] if p.get("anatomy") and p["median_fit_s"]]
    if not rows:
        return []
    sentences = []
    first = rows[0]["anatomy"]["phases_s"]
    outside = sum(first[name] or 0.0 for name in ("caching", "init", "summary"))
    fit = rows[0]["median_fit_s"]
    sentences.append(
        f"At {rows[0]['workers']} worker(s), {outside:.1f} s of the {fit:.1f} s fit "
        f"({outside / fit:.0%}) was outside the iterations: MLlib's caching pass, the "
        "initial centres and the summary."
    )
    ratios = [
        f"{p['anatomy']['executor_cpu_ratio']:.0%} at w={p['workers']}"
        for p in rows
        if p["anatomy"]["executor_cpu_ratio"] is not None
    ]
    if ratios:
        sentences.append(
            "Executors were on CPU for "
            + _join(ratios)
            + " of their run time; a lower share at more workers means they waited (for "
            "the CPU, the driver or I/O), not that they computed."
        )
    return sentences


def _contention_sentences(report: dict[str, Any]) -> list[str]:
    points = report["points"]
    if not any(p.get("median_other_cpus") is not None or p.get("anatomy") for p in points):
        return []
    contended = [p for p in points if p["contended"]]
    if not contended:
        return [
            "No point is contended: at every worker count nothing else kept more than "
            f"{OTHER_CPUS_LIMIT} CPUs busy, and the executors were on CPU for at least "
            f"{CPU_RATIO_LIMIT:.0%} of their run time in the iterations."
        ]
    # One reason per point, the first run's, and how many runs of it were contended.
    reasons = [
        p["contention"][0]
        + (f" (and {len(p['contention']) - 1} more)" if len(p["contention"]) > 1 else "")
        for p in contended
    ]
    sentences = [
        f"Contended at {_join([str(p['workers']) for p in contended])} worker(s): "
        + "; ".join(reasons)
        + ". Those times include waiting for a CPU, so their speedups understate scaling."
    ]
    quiet = report.get("amdahl_uncontended")
    if quiet is not None:
        sentences.extend(
            _fit_sentences(quiet, None, f"{report['metric']}, uncontended points only")[:1]
        )
    else:
        sentences.append(
            f"No fit on the uncontended points alone: {report['amdahl_uncontended_reason']}."
        )
    return sentences


def _decomposition_sentence(report: dict[str, Any]) -> list[str]:
    # analysis.py words this one, and report.json keeps it with the rows it sums up.
    return [report["decomposition"]["sentence"]] if report.get("decomposition") else []


def _oversubscription_sentence(report: dict[str, Any]) -> list[str]:
    oversubscribed = [p for p in report["points"] if p["oversubscribed"]]
    if not oversubscribed:
        return []
    counts = _join([str(p["workers"]) for p in oversubscribed])
    cores = _join([str(p["cores"]) for p in oversubscribed])
    return [
        f"At {counts} workers the sweep asks for {cores} cores but the host has "
        f"{report['host']['cpus']} CPUs: speedups there measure contention for the CPUs, "
        "not scaling, and the Amdahl fit includes those points."
    ]


def _failed_runs_sentence(report: dict[str, Any]) -> list[str]:
    failed = [run["run_id"] for p in report["points"] for run in p["failed_runs"]]
    return [f"Failed runs, left out of the timings: {', '.join(failed)}."] if failed else []


SUMMARY: tuple[SummaryPart, ...] = (
    _speedup_note,
    _headline_fit,
    _total_fit,
    _iterations_fit,
    _anatomy_sentences,
    _contention_sentences,
    _decomposition_sentence,
    _oversubscription_sentence,
    _failed_runs_sentence,
)


# --- speedup.png -----------------------------------------------------------------------


def _timing_fits(plot: SpeedupPlot, report: dict[str, Any]) -> None:
    """An Amdahl curve per fitted timing, and the other timings' measured speedups.

    The headline metric's measured points are _measured_points', with the markers for
    oversubscribed and contended; the other timings are drawn as plain points.
    """
    points = report["points"]
    other_metric = "total_s" if report["metric"] == "fit_s" else "fit_s"
    series = [
        (report["metric"], report["amdahl"], "tab:blue", lambda p: p[f"median_{report['metric']}"]),
        (
            other_metric,
            report.get("amdahl_total") if other_metric == "total_s" else None,
            "tab:green",
            lambda p: p[f"median_{other_metric}"],
        ),
        (
            "iterations",
            report.get("amdahl_iterations"),
            "tab:purple",
            lambda p: (p.get("anatomy") or {}).get("phases_s", {}).get("iterations"),
        ),
    ]
    base = next((p for p in points if p["workers"] == 1), None)
    for index, (name, amdahl, color, time_of) in enumerate(series):
        if amdahl is not None:
            lo, hi = amdahl["ci95"] or (None, None)
            ci = f", 95% CI {lo:.3f}-{hi:.3f}" if lo is not None else ""
            plot.amdahl(
                amdahl["parallel_fraction"],
                color=color,
                linestyle="-" if index == 0 else ":",
                label=f"Amdahl fit on {name}, p = {amdahl['parallel_fraction']:.3f}{ci}",
            )
        if index == 0 or base is None or not time_of(base):
            continue
        shown = [p for p in points if time_of(p)]
        plot.measured(
            [p["workers"] for p in shown],
            [time_of(base) / time_of(p) for p in shown],
            marker="s",
            markersize=5,
            color=color,
            label=f"measured {name}",
            zorder=2,
        )


def _uncontended_fit(plot: SpeedupPlot, report: dict[str, Any]) -> None:
    quiet = report.get("amdahl_uncontended")
    if quiet is not None:
        plot.amdahl(
            quiet["parallel_fraction"],
            color="tab:orange",
            linestyle="--",
            label=f"fit on uncontended points, p = {quiet['parallel_fraction']:.3f}",
        )


def _measured_points(plot: SpeedupPlot, report: dict[str, Any]) -> None:
    measured = [p for p in report["points"] if p["speedup"] is not None]
    for kind, marker, color, label in (
        ("plain", "o", "black", f"measured {report['metric']} (median over repeats)"),
        ("contended", "D", "tab:orange", "contended: the run shared its CPUs"),
        (
            "oversubscribed",
            "X",
            "tab:red",
            f"oversubscribed: w x cores > {report['host']['cpus']} CPUs",
        ),
    ):
        chosen = [p for p in measured if _plot_kind(p) == kind]
        if chosen:
            plot.measured(
                [p["workers"] for p in chosen],
                [p["speedup"] for p in chosen],
                marker=marker,
                markersize=8,
                color=color,
                label=label,
                zorder=3,
            )


def _plot_kind(point: dict[str, Any]) -> str:
    if point["oversubscribed"]:
        return "oversubscribed"
    return "contended" if point.get("contended") else "plain"


def _speedup_note_box(plot: SpeedupPlot, report: dict[str, Any]) -> None:
    if report["speedup_note"]:
        plot.axes.text(
            0.97,
            0.05,
            textwrap.fill(report["speedup_note"], 45),
            transform=plot.axes.transAxes,
            ha="right",
            va="bottom",
            bbox={"facecolor": "white", "edgecolor": "grey"},
        )


PLOT_LAYERS: tuple[PlotLayer, ...] = (
    _timing_fits,
    _uncontended_fit,
    _measured_points,
    _speedup_note_box,
)


# --- helpers ---------------------------------------------------------------------------


def _fit_sentences(amdahl: dict[str, Any] | None, reason: str | None, metric: str) -> list[str]:
    if amdahl is None:
        return [f"No Amdahl fit on {metric}: {reason}."]
    p = amdahl["parallel_fraction"]
    ci = amdahl["ci95"]
    ci_text = (
        f"95% CI [{ci[0]:.3f}, {ci[1]:.3f}]"
        if ci is not None
        else f"no 95% CI ({amdahl['ci95_note']})"
    )
    r2 = "undefined (all times equal)" if amdahl["r2"] is None else f"{amdahl['r2']:.3f}"
    workers = _join([str(w) for w in amdahl["workers"]])
    fit = (
        f"Amdahl fit on {metric} ({amdahl['n_points']} runs at {workers} workers): "
        f"parallel fraction p = {p:.3f}, {ci_text}; "
        f"serial fraction {amdahl['serial_fraction']:.3f}; "
        f"T1 = {amdahl['t1']:.2f} s; R² = {r2}."
    )
    if amdahl["ceiling"] is None:
        ceiling = (
            f"Ceiling: ∞. The fit finds no serial part in {metric}, so Amdahl's law sets no "
            "limit on its speedup."
        )
    else:
        ceiling = (
            f"Ceiling: {amdahl['ceiling']:.1f}x. However many workers are added, "
            f"{metric} gets at most {amdahl['ceiling']:.1f} times faster than on one worker "
            "(1 / (1 - p))."
        )
    return [fit, ceiling]


def _table(report: dict[str, Any], detailed: bool = True) -> tuple[list[str], list[list[str]]]:
    headers = [
        "workers",
        "ok",
        "failed",
        "fit_s (s)",
        "total_s (s)",
        "speedup",
        "efficiency",
        "Karp-Flatt e",
        "cores",
    ]
    rows = []
    for p in report["points"]:
        failed = str(p["n_failed"])
        if detailed and p["failed_runs"]:
            failed += " (" + ", ".join(run["run_id"] for run in p["failed_runs"]) + ")"
        rows.append(
            [
                str(p["workers"]),
                str(p["n_ok"]),
                failed,
                _number(p["median_fit_s"], 2),
                _number(p["median_total_s"], 2),
                _number(p["speedup"], 2),
                _number(p["efficiency"], 2),
                _number(p["karp_flatt"], 3),
                f"{p['cores']} > {report['host']['cpus']} CPUs"
                if detailed and p["oversubscribed"]
                else str(p["cores"]),
            ]
        )
    return headers, rows


def _number(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
