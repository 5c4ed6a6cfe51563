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
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from sparksweep.analysis import CPU_RATIO_LIMIT, OTHER_CPUS_LIMIT
from sparksweep.errors import ResultsError
from sparksweep.fit import usl_speedup
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
    # The model's curve reaches past the measured points; the fits are drawn as far.
    model = report.get("model")
    predicted = model["predictions"][-1]["workers"] if model else 1
    plot = SpeedupPlot(max(predicted, *(p["workers"] for p in report["points"])))
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


def _intervals(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    points = [p for p in report["points"] if p.get("interval")]
    if not points:
        return []
    rows = []
    for point in points:
        interval = point["interval"]
        if interval["low"] is not None:
            span = f"{interval['low']:.2f}-{interval['high']:.2f}"
            coverage = f"{interval['coverage']:.1%}"
        else:
            span = "n/a"
            coverage = f"range covers {interval['widest_coverage']:.1%}"
        rows.append(
            [str(point["workers"]), str(interval["n"]), f"{interval['median']:.2f}", span, coverage]
        )
    return [
        f"Each worker count's median {report['metric']} with a distribution-free 95% interval "
        "(order statistics; none below six runs, and what the runs' range covers instead):",
        "",
        *markdown_table(["w", "runs", "median", "95% interval", "coverage"], rows),
        "",
    ]


def _model(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    model = report.get("model")
    if model is None:
        return []
    predictions = []
    for row in model["predictions"]:
        low, high = row["fit_s_range"]
        upper = min(row["critical_path_speedup"], row["perfect_parallel_speedup"])
        predictions.append(
            [
                f"{row['workers']}{'*' if row['beyond_host_cpus'] else ''}",
                f"{row['fit_s']:.1f}",
                f"{low:.1f}-{high:.1f}",
                f"{row['speedup']:.2f}",
                f"{upper:.2f}",
                f"{row['pessimistic_fit_s']:.1f}",
                _number(row["measured_median_fit_s"], 1),
            ]
        )
    checks = [
        [
            check["run_id"],
            str(check["workers"]),
            f"{check['measured']['fit_s']:.2f}",
            f"{check['predicted']['fit_s']:.2f}",
            *(_percent(check["error"][key]) for key in ("fit_s", "iterations_s", "app_s")),
        ]
        for check in model["self_check"]
    ]
    lines = [
        "## Beyond the measured points (a model)",
        "",
        f"Each row replays the recorded tasks of {_join(model['base_runs'])} on w executors "
        f"of {model['cores']} core(s) each (README, 'Beyond the measured points'); the median "
        "over those runs. Range: where the cached partitions land (balanced, or as the "
        "replay's own placement). Upper bound: the speedup no schedule beats (the critical "
        "path, or perfect parallelism). Slow tasks: tasks as slow as at the slowest measured "
        f"point at or below w (up to {model['costs']['pessimistic_task_factor']:.2f} times "
        "as long). Rows marked * ask for more cores than the host has: a model only.",
        "",
        *markdown_table(
            _PREDICTION_HEADERS,
            predictions,
        ),
        "",
        "Self-check, each run replayed at its own count:",
        "",
        *markdown_table(
            ["run", "w", "fit_s measured", "replayed", "error", "iterations error", "app error"],
            checks,
            [False, *[True] * 6],
        ),
    ]
    if model["cross_check"]:
        crosses = []
        for row in model["cross_check"]:
            host = row.get("host_predicted_fit_s")
            crosses.append(
                [
                    row["from"],
                    row["to"] + (" (contended)" if row["contended"] else ""),
                    f"{row['predicted_fit_s']:.1f}",
                    f"{row['measured_fit_s']:.1f}",
                    _percent(row["error"]),
                    row["missed"] or "",
                    f"{host:.1f} ({row['host_cpus']} CPUs)" if host is not None else "",
                    _percent(row.get("host_error")),
                ]
            )
        lines += [
            "",
            "Cross-check, each measured run predicted from an uncontended run at another "
            "count (contended targets marked: the model is expected to be optimistic there):",
            "",
            *markdown_table(
                _CROSS_CHECK_HEADERS,
                crosses,
                [False, False, True, True, True, False, True, True],
            ),
            "",
            "On its host's CPUs: the same replay with every executor and the driver on one "
            "host of the target run's CPUs, each stage's CPU time stretched where its tasks "
            "and the driver want more (README, 'Beyond the measured points').",
        ]
    choice = model.get("partition_choice")
    if choice:
        counts = list(choice[0]["fit_s"])
        lines += [
            "",
            "Partitions (a model): the replayed fit_s with the partition stages' tasks "
            "re-cut into P (row part split, fixed part kept), and the fastest P:",
            "",
            *markdown_table(
                ["w", "fastest P", *(f"P={p}" for p in counts)],
                [
                    [str(row["workers"]), str(row["fastest"])]
                    + [f"{row['fit_s'][p]:.1f}" for p in counts]
                    for row in choice
                ],
            ),
        ]
    costs = model["costs"]
    grown = ", ".join(
        f"w={w}: fetch wait {c['fetch_wait_ms']:.0f} ms, {c['remote_blocks']:.1f} remote blocks "
        f"({c['remote_bytes'] / 1e3:.0f} kB), launch {c['launch_ms']:.0f} ms"
        for w, c in costs["measured"].items()
    )
    slower = ", ".join(
        f"w={w}: run time x{c['run_time']:.2f}, CPU time x{c['cpu_time']:.2f}"
        for w, c in costs["inflation"].items()
    )
    lines += [
        "",
        f"Measured per task, medians: {grown or 'nothing'}. Per-executor cost added: "
        f"{costs['fetch_wait_per_executor_s'] * 1e3:.1f} ms of fetch wait per wave of each "
        f"shuffle-reading stage per executor beyond the log's own. Tasks against the "
        f"smallest w: {slower or 'one worker count only'}.",
        "",
    ]
    return lines


_PREDICTION_HEADERS = (
    "w",
    "fit_s (model)",
    "range",
    "speedup",
    "upper bound",
    "slow tasks: fit_s",
    "measured median",
)
_CROSS_CHECK_HEADERS = (
    "from",
    "to",
    "predicted fit_s",
    "measured",
    "error",
    "missed most",
    "on its host's CPUs",
    "error",
)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def _plot(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    return ["![speedup](speedup.png)", ""]


def _generated(report: dict[str, Any], sweep_dir: Path) -> list[str]:
    return [f"Generated {report['generated_at']}.", ""]


MARKDOWN_SECTIONS: tuple[Section, ...] = (
    _heading,
    _introduction,
    _timings,
    _summary,
    _intervals,
    _anatomy,
    _applications,
    _model,
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


def _uncertainty_sentences(report: dict[str, Any]) -> list[str]:
    """The headline fit's bootstrap interval, USL beside Amdahl, and which law to trust."""
    sentences = []
    amdahl = report.get("amdahl")
    if amdahl and amdahl.get("ci95_bootstrap"):
        low, high = amdahl["ci95_bootstrap"]
        sentences.append(
            f"Bootstrap over the runs ({amdahl['bootstrap_resamples']} resamples, seed "
            f"{amdahl['bootstrap_seed']}): p between {low:.3f} and {high:.3f} (95%)."
        )
    elif amdahl and amdahl.get("ci95_bootstrap_note"):
        sentences.append(f"No bootstrap interval for p: {amdahl['ci95_bootstrap_note']}.")
    sharp = report.get("until_ci")
    if sharp is not None:
        verdict = "reached" if sharp["reached"] else "NOT reached"
        sentences.append(
            f"--until-ci {sharp['target']:g}: {verdict} after {sharp['repeats']} repeat(s) "
            f"(at most {sharp['max_repeats']}); {sharp['line'].split(': ', 1)[1]}."
        )
    usl = report.get("usl")
    if usl is None:
        if report.get("usl_reason"):
            sentences.append(f"No Universal Scalability Law fit: {report['usl_reason']}.")
        return sentences
    peak = (
        f"peak at N* = {usl['n_star']:.1f} workers, speedup {usl['peak_speedup']:.2f}"
        if usl["n_star"] is not None
        else "no peak (beta = 0: the speedup only rises)"
    )
    intervals = ""
    if usl["alpha_ci95"] and usl["beta_ci95"]:
        intervals = (
            f" (95% {usl['alpha_ci95'][0]:.3g}-{usl['alpha_ci95'][1]:.3g} and "
            f"{usl['beta_ci95'][0]:.3g}-{usl['beta_ci95'][1]:.3g})"
        )
    sentences.append(
        f"Universal Scalability Law on every run: contention alpha = {usl['alpha']:.3g}, "
        f"coherency beta = {usl['beta']:.3g}{intervals}; {peak}. The data support "
        f"{'USL' if report['law'] == 'usl' else 'Amdahl'}: {usl['law_reason']}."
    )
    return sentences


def _model_sentences(report: dict[str, Any]) -> list[str]:
    """The model's answer in words: the largest predicted count, its range, what caps it."""
    model = report.get("model")
    if model is None:
        reason = report.get("model_reason")
        return [f"No model beyond the measured points: {reason}."] if reason else []
    rows = model["predictions"]
    target = rows[-1]
    measured = [row["workers"] for row in rows if row["measured"]]
    cap = model["partition_cap"][str(target["workers"])]
    since = min(int(w) for w, value in model["partition_cap"].items() if value == cap)
    upper = min(target["critical_path_speedup"], target["perfect_parallel_speedup"])
    base = f"w={model['base_workers']}" + (" (contended)" if model["base_contended"] else "")
    sentences = [
        f"Model (a replay of the {base} runs' recorded tasks, each executor with cores of its "
        f"own): at {target['workers']} workers the fit would take about "
        f"{target['fit_s']:.1f} s (S = {target['speedup']:.2f}, between "
        f"{target['pessimistic_speedup']:.2f} with tasks as slow as the slowest measured point "
        f"made them, and {upper:.2f}, which no schedule beats), if tasks run as fast as at "
        f"{base}; measured up to w={max(measured, default=0)}; the {model['partitions']} "
        f"partitions cap the iterations' speedup at {cap:.3g} from w = {since}."
    ]
    worst = model["self_check_max_error"]
    if worst is not None:
        verdict = "within" if worst <= model["self_check_limit"] else "NOT within"
        sentences.append(
            f"Self-check: each run replayed at its own count is {verdict} "
            f"{model['self_check_limit']:.0%} of its fit_s (worst {worst:.1%})."
        )
    if not model["cross_check"]:
        sentences.append(
            "No cross-check: it needs an uncontended worker count to predict the others from."
        )
    misses = [row for row in model["cross_check"] if row["missed"]]
    if model["cross_check"]:
        largest = max(model["cross_check"], key=lambda row: abs(row["error"] or 0))
        text = (
            f"Cross-check: predicted from another worker count's runs, the model missed by "
            f"{largest['error']:+.0%} at worst ({largest['from']} to {largest['to']})"
        )
        if misses:
            parts = Counter(row["missed"] for row in misses).most_common()
            text += (
                f"; {len(misses)} of {len(model['cross_check'])} predictions missed by more "
                f"than {model['cross_check_margin']:.0%}, in "
                + _join([f"{part} ({count})" for part, count in parts])
            )
        sentences.append(text + ".")
        hosted = [row for row in model["cross_check"] if row.get("host_error") is not None]
        if hosted:
            worst_host = max(hosted, key=lambda row: abs(row["host_error"]))
            sentences.append(
                f"On hosts of the measured runs' CPUs it missed by {worst_host['host_error']:+.0%}"
                f" at worst ({worst_host['from']} to {worst_host['to']}, "
                f"{worst_host['host_cpus']} CPUs)."
            )
    return sentences


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
    _uncertainty_sentences,
    _model_sentences,
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


def _usl_fit(plot: SpeedupPlot, report: dict[str, Any]) -> None:
    usl = report.get("usl")
    if usl is None:
        return
    w = np.linspace(1, plot.max_w, 200)
    plot.axes.plot(
        w,
        usl_speedup(w, usl["alpha"], usl["beta"]),
        color="tab:brown",
        linestyle="-.",
        label=f"USL fit, alpha = {usl['alpha']:.3g}, beta = {usl['beta']:.3g}",
    )


def _model_curve(plot: SpeedupPlot, report: dict[str, Any]) -> None:
    """The replay's curve, its band up to what no schedule beats, and the slow-task curve."""
    model = report.get("model")
    if model is None:
        return
    rows = model["predictions"]
    xs = [row["workers"] for row in rows]
    plot.axes.fill_between(
        xs,
        [row["speedup"] for row in rows],
        [min(row["critical_path_speedup"], row["perfect_parallel_speedup"]) for row in rows],
        color="tab:cyan",
        alpha=0.15,
        label="model: up to what no schedule beats",
    )
    plot.axes.plot(
        xs,
        [row["speedup"] for row in rows],
        color="tab:cyan",
        marker=".",
        label=f"model: replay of the w={model['base_workers']} runs' tasks",
    )
    plot.axes.plot(
        xs,
        [row["pessimistic_speedup"] for row in rows],
        color="tab:cyan",
        linestyle=":",
        label="model: tasks as slow as at the slowest point",
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
    _usl_fit,
    _uncontended_fit,
    _model_curve,
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
