"""The numbers of one sweep's report, built from its run JSON files: per worker count the
medians, speedups, contention and where the time went, the Amdahl fits and their verdicts.

build_report returns the document written as report.json; report.py renders it. It reads
only what load_runs returns, so it runs anywhere the JSON files are, with no Docker and no
Spark.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sparksweep import whatif
from sparksweep.errors import EventLogError, FitError, ResultsError
from sparksweep.fit import BOOTSTRAP_SEED, fit_amdahl, fit_usl, karp_flatt
from sparksweep.intervals import median_interval
from sparksweep.job.anatomy import FIT_PHASES
from sparksweep.results import run_order

METRICS = ("fit_s", "total_s")
# 3: contention, the decomposition and "applications" (each run's Spark application).
# 4: "model", the runs' event logs replayed beyond the measured points (whatif.py); "usl"
# and "law"; the headline fit's bootstrap interval; each point's interval for its median.
REPORT_VERSION = 4
# A run is contended when something outside it kept more than this many CPUs busy on its
# hosts on average (hostcpu.py, sampled around the run). Quiet runs on our 2-core machines
# left 0.11-0.13 CPUs to the rest of the host (Ansible, dockerd and the shims waiting on it;
# a quiet 5M-row sweep of w = 1, 2 on 2026-11-27).
OTHER_CPUS_LIMIT = 0.35
# ...or when its executors were on CPU for less than this share of their run time in the
# iterations. A quiet w=1 run on a 2-core machine was at 0.72-0.78; two 1-core executors
# sharing 2 CPUs with the driver and the master fell to 0.58-0.62.
CPU_RATIO_LIMIT = 0.66


def build_report(runs: Sequence[dict[str, Any]], metric: str = "fit_s") -> dict[str, Any]:
    """Per-worker-count timings, speedups and Amdahl fits of one sweep's runs.

    runs are run JSON objects of one sweep, as load_runs returns them. Only runs with
    status "ok" count toward timings; failed runs are counted and listed per worker count.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if not runs:
        raise ResultsError("no runs to report on")

    # Runs of one sweep share a host; should they not, the smallest one is the honest
    # yardstick for oversubscription.
    host = {
        "cpus": min(run["host"]["cpus"] for run in runs),
        "mem_bytes": min(run["host"]["mem_bytes"] for run in runs),
    }
    ok = [run for run in runs if run["status"] == "ok"]
    points = [_point(w, runs, host["cpus"]) for w in sorted({run["workers"] for run in runs})]
    speedup_note = _add_speedups(points, metric)
    amdahl, amdahl_reason = _fit(ok, metric, bootstrap=True)
    usl, usl_reason = _usl(ok, metric)
    for point in points:
        times = [run["timings"][metric] for run in ok if run["workers"] == point["workers"]]
        point["interval"] = median_interval(times).as_dict() if times else None
    amdahl_total, amdahl_total_reason = (
        (amdahl, amdahl_reason) if metric == "total_s" else _fit(ok, "total_s")
    )
    amdahl_iterations, amdahl_iterations_reason = _fit_iterations(ok)
    contended_workers = [p["workers"] for p in points if p["contended"]]
    quiet = [run for run in ok if run["workers"] not in contended_workers]
    if not contended_workers:
        amdahl_quiet, amdahl_quiet_reason = None, "no point is contended"
    elif len({run["workers"] for run in quiet}) < 2:
        amdahl_quiet, amdahl_quiet_reason = (
            None,
            "fewer than two worker counts are left once the contended points are set aside",
        )
    else:
        amdahl_quiet, amdahl_quiet_reason = _fit(quiet, metric)
    return {
        "report_version": REPORT_VERSION,
        "sweep_id": runs[0]["sweep_id"],
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "metric": metric,
        "host": host,
        "runs": {"total": len(runs), "ok": len(ok), "failed": len(runs) - len(ok)},
        "points": points,
        "speedup_note": speedup_note,
        "oversubscribed_workers": [p["workers"] for p in points if p["oversubscribed"]],
        "amdahl": amdahl,
        "amdahl_reason": amdahl_reason,
        "usl": usl,
        "usl_reason": usl_reason,
        # The law the data support: USL only when its coherency term is shown to be real.
        "law": usl["law"] if usl is not None else "amdahl",
        "amdahl_total": amdahl_total,
        "amdahl_total_reason": amdahl_total_reason,
        "amdahl_iterations": amdahl_iterations,
        "amdahl_iterations_reason": amdahl_iterations_reason,
        "contended_workers": contended_workers,
        "amdahl_uncontended": amdahl_quiet,
        "amdahl_uncontended_reason": amdahl_quiet_reason,
        "decomposition": _decomposition(points),
        "applications": _applications(runs),
    }


def _usl(ok: Sequence[dict[str, Any]], metric: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        fit = fit_usl([run["workers"] for run in ok], [run["timings"][metric] for run in ok])
    except FitError as exc:
        return None, str(exc)
    return {"metric": metric, **fit.as_dict()}, None


def add_model(
    report: dict[str, Any],
    runs: Sequence[dict[str, Any]],
    sweep_dir: Path,
    predict_to: int | None = None,
) -> None:
    """Add "model": the runs' event logs replayed at 1..predict_to workers (whatif.py).

    predict_to: the larger of 8 and twice the largest measured count when not given. A
    sweep whose event logs cannot be read still gets its report, with "model_reason".
    """
    measured = [point["workers"] for point in report["points"]]
    predict_to = predict_to or whatif.default_predict_to(measured)
    model, reason = None, None
    try:
        model = whatif.sweep_model(
            whatif.sweep_sources(sweep_dir, runs), report["contended_workers"], predict_to
        )
    except EventLogError as exc:
        reason = f"an event log cannot be read: {exc}"
    if model is None and reason is None:
        reason = "no ok run kept its event log"
    if model is not None:
        medians = {p["workers"]: p.get("median_fit_s") for p in report["points"]}
        for row in model["predictions"]:
            # The replay gives each executor cores of its own; the host may not have them.
            row["beyond_host_cpus"] = row["workers"] * model["cores"] > report["host"]["cpus"]
            row["measured_median_fit_s"] = medians.get(row["workers"])
    report["model"] = model
    report["model_reason"] = reason


def _point(w: int, runs: Sequence[dict[str, Any]], host_cpus: int) -> dict[str, Any]:
    at_w = [run for run in runs if run["workers"] == w]
    ok = [run for run in at_w if run["status"] == "ok"]
    cores = w * max(run["cores_per_worker"] for run in at_w)
    return {
        "workers": w,
        "n_ok": len(ok),
        "n_failed": len(at_w) - len(ok),
        "failed_runs": [
            {"run_id": run["run_id"], **run["error"]} for run in at_w if run["status"] != "ok"
        ],
        **{f"median_{metric}": _median(ok, metric) for metric in METRICS},
        "cores": cores,
        "oversubscribed": cores > host_cpus,
        "anatomy": _anatomy([run.get("anatomy") for run in ok]),
        **_contention(ok),
    }


def _run_contention(run: dict[str, Any]) -> list[str]:
    """Why a run shared its CPUs with more than itself, in words; empty when it did not."""
    reasons = []
    host_cpu = run.get("host_cpu")
    if host_cpu is not None and host_cpu["other_cpus"] > OTHER_CPUS_LIMIT:
        reasons.append(
            f"{run['run_id']}: something besides the run kept {host_cpu['other_cpus']:.2f} "
            "CPUs busy on its hosts"
        )
    phase = (run.get("anatomy") or {}).get("phases", {}).get("iterations")
    if phase and phase["executor_run_s"] > 0:
        ratio = phase["executor_cpu_s"] / phase["executor_run_s"]
        if ratio < CPU_RATIO_LIMIT:
            reasons.append(
                f"{run['run_id']}: executors were on CPU {ratio:.0%} of their run time in the "
                f"iterations (under {CPU_RATIO_LIMIT:.0%})"
            )
    return reasons


def _contention(ok: Sequence[dict[str, Any]]) -> dict[str, Any]:
    reasons = [reason for run in ok for reason in _run_contention(run)]
    others = [run["host_cpu"]["other_cpus"] for run in ok if run.get("host_cpu")]
    return {
        "contended": bool(reasons),
        "contention": reasons,
        "median_other_cpus": statistics.median(others) if others else None,
    }


def _anatomy(anatomies: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Medians over the repeats of one worker count of where the time went."""
    known = [a for a in anatomies if a is not None]
    if not known:
        return None

    def median_of(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    return {
        "runs": len(known),
        "phases_s": {
            name: median_of([a["phases"].get(name, {}).get("wall_s") for a in known])
            for name in ("load", *FIT_PHASES)
        },
        "median_iteration_s": median_of(
            [a["phases"]["iterations"]["median_iteration_s"] for a in known]
        ),
        "fit_driver_only_s": median_of(
            [sum(a["phases"][name]["driver_only_s"] for name in FIT_PHASES) for a in known]
        ),
        "fit_scheduler_delay_s": median_of(
            [sum(a["phases"][name]["scheduler_delay_s"] for name in FIT_PHASES) for a in known]
        ),
        "fit_executor_run_s": median_of(
            [sum(a["phases"][name]["executor_run_s"] for name in FIT_PHASES) for a in known]
        ),
        "iterations_cpu_ratio": median_of(
            [
                a["phases"]["iterations"]["executor_cpu_s"]
                / a["phases"]["iterations"]["executor_run_s"]
                if a["phases"]["iterations"]["executor_run_s"] > 0
                else None
                for a in known
            ]
        ),
        "executor_cpu_ratio": median_of([a["executor_cpu_ratio"] for a in known]),
    }


def _fit_iterations(ok: Sequence[dict[str, Any]]) -> tuple[dict[str, Any] | None, str | None]:
    """Amdahl on the iterations phase alone, the part of the fit that should scale."""
    if not ok or any(run.get("anatomy") is None for run in ok):
        return None, "not every ok run has its anatomy"
    walls = [run["anatomy"]["phases"]["iterations"]["wall_s"] for run in ok]
    try:
        fit = fit_amdahl([run["workers"] for run in ok], walls)
    except FitError as exc:
        return None, str(exc)
    return {"metric": "iterations_s", **fit.as_dict()}, None


def _applications(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run's Spark application and event log, in run order (schema 1 runs have none)."""
    ordered = sorted(runs, key=run_order)
    return [
        {
            "run_id": run["run_id"],
            "status": run["status"],
            "application_id": run.get("application_id"),
            "event_log": run.get("event_log"),
        }
        for run in ordered
    ]


def _decomposition(points: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """T(w) of the fit split into driver-only time, coordination and executor compute.

    Executor compute is the executors' summed run time spread over the cores they had, the
    time the fit would take if they were never idle; driver-only is when no task ran; the
    rest (coordination) is scheduling, task launch, result round trips and waiting.
    """
    rows = []
    for p in points:
        a = p.get("anatomy")
        if not a or not p["median_fit_s"] or a.get("fit_executor_run_s") is None:
            continue
        compute = a["fit_executor_run_s"] / p["cores"]
        driver = a["fit_driver_only_s"] or 0.0
        rows.append(
            {
                "workers": p["workers"],
                "fit_s": p["median_fit_s"],
                "driver_only_s": driver,
                "executor_compute_s": compute,
                "coordination_s": max(p["median_fit_s"] - driver - compute, 0.0),
            }
        )
    if len(rows) < 2 or rows[0]["workers"] != 1:
        return None
    first, last = rows[0], rows[-1]
    serial = {
        "driver-only time": last["driver_only_s"],
        "coordination (scheduling, task launch, waiting)": last["coordination_s"],
    }
    biggest = max(serial, key=serial.__getitem__)
    fixed = sum(serial.values())
    others_first = first["driver_only_s"] + first["coordination_s"]
    shrank = (
        "shrank in proportion"
        if fixed <= others_first * first["workers"] / last["workers"] * 1.25
        else "did not shrink in proportion"
    )
    sentence = (
        f"Where T(w) goes: at 1 worker the fit's {first['fit_s']:.1f} s were "
        f"{first['executor_compute_s']:.1f} s of executor compute, "
        f"{first['coordination_s']:.1f} s of coordination and {first['driver_only_s']:.1f} s "
        f"driver-only; at {last['workers']} workers, {last['executor_compute_s']:.1f}, "
        f"{last['coordination_s']:.1f} and {last['driver_only_s']:.1f} s. Driver-only time "
        f"and coordination together went from {others_first:.1f} to {fixed:.1f} s and "
        f"{shrank}; they are {fixed / last['fit_s']:.0%} of T({last['workers']}), and "
        f"{biggest} is the larger part of what keeps p below 1."
    )
    return {"rows": rows, "serial_part": biggest, "sentence": sentence}


def _median(runs: Sequence[dict[str, Any]], metric: str) -> float | None:
    return statistics.median(run["timings"][metric] for run in runs) if runs else None


def _add_speedups(points: list[dict[str, Any]], metric: str) -> str | None:
    """Fill speedup, efficiency and Karp-Flatt into points; return why not, when they cannot be."""
    key = f"median_{metric}"
    base = next((p for p in points if p["workers"] == 1), None)
    if base is None:
        note = "The sweep has no run at 1 worker, so speedup T(1)/T(w) cannot be computed."
    elif base[key] is None:
        note = (
            f"All {base['n_failed']} runs at 1 worker failed, so there is no T(1) and "
            "speedup T(1)/T(w) cannot be computed."
        )
    elif base[key] <= 0:
        note = f"The median {metric} at 1 worker is 0 s, so speedup T(1)/T(w) is undefined."
    else:
        note = None
    for point in points:
        t = point[key]
        usable = note is None and t is not None and t > 0
        speedup = base[key] / t if usable else None
        point["speedup"] = speedup
        point["efficiency"] = speedup / point["workers"] if speedup is not None else None
        point["karp_flatt"] = (
            karp_flatt(speedup, point["workers"])
            if speedup is not None and point["workers"] > 1
            else None
        )
    return note


def _fit(
    ok: Sequence[dict[str, Any]], metric: str, bootstrap: bool = False
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        fit = fit_amdahl(
            [run["workers"] for run in ok],
            [run["timings"][metric] for run in ok],
            bootstrap_seed=BOOTSTRAP_SEED if bootstrap else None,
        )
    except FitError as exc:
        return None, str(exc)
    return {"metric": metric, **fit.as_dict()}, None
