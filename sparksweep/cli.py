"""Command line: run a sweep, report on one, serve its event logs, compare sweeps, fetch,
generate and check data."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.table import Table

from sparksweep import __version__, history, settings
from sparksweep.analysis import METRICS, add_model, build_report
from sparksweep.errors import PlanError, RunsFailedError, SparksweepError, SweepInterruptedError
from sparksweep.job.runrecord import MEMORY_SIZE
from sparksweep.plan import ORDERS, parse_workers, read_plan, resolve_plan
from sparksweep.progress import download_progress, print_line, sweep_progress
from sparksweep.render import terminal_table
from sparksweep.report import failed_run_lines, render_table, summary_sentences, write_report
from sparksweep.results import (
    RUNS_DIRNAME,
    load_runs,
    new_sweep_id,
    sweep_folder,
    unwritable_reason,
)

DEFAULT_REPEATS = 1
# Where --until-ci stops adding rounds unless --max-repeats says otherwise.
DEFAULT_MAX_REPEATS = 10
# A replay has no hosts to hold its executors; this only keeps a typo from running for long.
PREDICT_WORKERS_MAX = 4096
# The repository root, where data/ lives: the folder above this package.
REPO_ROOT = Path(__file__).resolve().parent.parent
_SWEEP_ID = re.compile(r"[A-Za-z0-9._-]+")
_MEMORY = re.compile(MEMORY_SIZE)
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ASCII digits only: int() also reads '٣' and '1_0'.
_INTEGER = re.compile(r"-?[0-9]+")


class _Parser(argparse.ArgumentParser):
    """Reports a usage error as one line, the way every other user error is reported."""

    def error(self, message: str) -> NoReturn:
        raise SparksweepError(f"{message} (see '{self.prog} --help')")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `sparksweep` and `python -m sparksweep`; returns the exit code."""
    try:
        args = _parser().parse_args(argv)
        args.handler(args)
    except SparksweepError as exc:
        print(f"sparksweep: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        # A Ctrl-C outside a sweep's playbook (which handles its own): nothing was started
        # that outlives this process.
        print("sparksweep: interrupted", file=sys.stderr)
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sparksweep",
        description="Measure how a Spark K-Means job scales over 1..N worker containers "
        "and fit Amdahl's law to it.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    report = commands.add_parser("report", help="report on the runs of one sweep")
    report.add_argument(
        "results_dir",
        type=Path,
        metavar="RESULTS_DIR",
        help="a sweep folder results/<sweep_id>, or the folder above it",
    )
    report.add_argument(
        "--metric", choices=METRICS, default="fit_s", help="timing to fit (default: fit_s)"
    )
    _predict_to_option(report)
    report.set_defaults(handler=_cmd_report)

    compare = commands.add_parser(
        "compare",
        help="compare sweeps side by side: medians, Amdahl fits and the settings that differ",
    )
    compare.add_argument(
        "sweeps",
        type=Path,
        nargs="+",
        metavar="SWEEP_DIR",
        help="two or more sweep folders results/<sweep_id>; the first is the yardstick (A)",
    )
    compare.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where compare.md and compare.png go (default: the first sweep's parent folder)",
    )
    compare.set_defaults(handler=_cmd_compare)

    max_workers = settings.workers_max()
    default_rows = settings.default_rows()
    run = commands.add_parser(
        "run", help="run a sweep over 1..N workers (or a list of counts), then report on it"
    )
    run.add_argument(
        "--workers",
        type=_workers(max_workers),
        required=True,
        metavar="N|LIST",
        help=f"sweep 1..N workers, or the ascending counts of a list like 1,2,4,8 or 1-4,8; "
        f"the largest at most {max_workers} (sparksweep_workers_max)",
    )
    run.add_argument(
        "--order",
        choices=ORDERS,
        default=ORDERS[0],
        help="interleaved (default): every worker count once, then every count again, once "
        "per repeat; random: each such round shuffled (seeded)",
    )
    run.add_argument(
        "--seed",
        type=_int_between(0),
        default=None,
        metavar="S",
        help="seed of --order random (default: drawn at random, or the resumed sweep's); "
        "kept in the sweep's plan.json",
    )
    run.add_argument(
        "--cores",
        type=_int_between(1),
        default=None,
        metavar="C",
        help=f"cores of each worker and its executor (default: {settings.worker_cores()})",
    )
    run.add_argument(
        "--memory",
        type=_memory,
        default=None,
        metavar="SIZE",
        help=f"memory of each worker and its executor (default: {settings.worker_memory()})",
    )
    run.add_argument(
        "--repeats",
        type=_int_between(1),
        default=DEFAULT_REPEATS,
        metavar="R",
        help=f"runs per worker count (default: {DEFAULT_REPEATS})",
    )
    run.add_argument(
        "--until-ci",
        type=_fraction,
        default=None,
        metavar="H",
        help="after the planned repeats, add whole rounds until the 95%% bootstrap interval "
        "of the fit's p is at most +-H wide (0 < H < 1), or --max-repeats are done",
    )
    run.add_argument(
        "--max-repeats",
        type=_int_between(1),
        default=None,
        metavar="R",
        help="the most repeats --until-ci may reach (default: 10)",
    )
    run.add_argument(
        "--rows",
        type=_int_between(1),
        default=default_rows,
        metavar="M",
        help=f"rows of synthetic data when data/ has no real SUSY file (default: {default_rows})",
    )
    run.add_argument(
        "--sweep-id",
        type=_sweep_id,
        default=None,
        metavar="ID",
        help="name of the sweep and its folder (default: sweep-<UTC time>)",
    )
    run.add_argument(
        "--results-dir",
        type=_results_dir,
        default=None,
        metavar="DIR",
        help="where sweeps are written (default: the runner's results/)",
    )
    run.add_argument(
        "--inventory",
        type=_inventory,
        default=None,
        metavar="FILE",
        help="Ansible inventory of the Docker hosts (default: inventory/localhost.yml); "
        "README, 'Several hosts'",
    )
    run.add_argument(
        "-e",
        "--extra-var",
        dest="extravars",
        type=_extravar,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra variable for the playbooks; repeat for more",
    )
    _predict_to_option(run)
    run.set_defaults(handler=_cmd_run)

    predict = commands.add_parser(
        "predict",
        help="replay a Spark event log, or every run of a sweep, at other worker counts "
        "(a model: README, 'Beyond the measured points')",
    )
    predict.add_argument(
        "path",
        type=_existing_path,
        metavar="PATH",
        help="an event log (a file or a rolled eventlog_v2_ folder) of any Spark 3 or 4 "
        "application, or a sweep folder results/<sweep_id>",
    )
    predict.add_argument(
        "--workers",
        type=_workers(PREDICT_WORKERS_MAX),
        default=None,
        metavar="N|LIST",
        help="executor counts to predict: 1..N, or a list like 1,2,4,8 "
        "(default: 1..the larger of 8 and twice the log's own count)",
    )
    predict.add_argument(
        "--cores",
        type=_int_between(1),
        default=None,
        metavar="C",
        help="cores of each executor (default: the log's own)",
    )
    predict.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="F",
        help="each task's row-proportional part times F (any log)",
    )
    predict.add_argument(
        "--rows",
        type=int,
        default=None,
        metavar="R",
        help="a run of ours with R rows instead of its data set's (its run JSON's)",
    )
    predict.add_argument(
        "--partitions",
        type=int,
        default=None,
        metavar="P",
        help="a run of ours with P partitions: its stages of the run's partition count get P tasks",
    )
    predict.add_argument(
        "--host-cpus",
        type=int,
        default=None,
        metavar="N",
        help="every executor and the driver on one host of N CPUs; tasks slow down where "
        "they want more CPU than it has",
    )
    predict.add_argument(
        "--json", action="store_true", help="print one JSON document instead of tables"
    )
    predict.set_defaults(handler=_cmd_predict)

    history = commands.add_parser(
        "history",
        help="serve one sweep's Spark event logs on Spark's History Server "
        f"({settings.history_url()})",
    )
    history.add_argument(
        "sweep_dir",
        type=Path,
        nargs="?",
        metavar="SWEEP_DIR",
        help="a sweep folder results/<sweep_id>, holding events/",
    )
    history.add_argument(
        "--stop", action="store_true", help="remove the History Server's container"
    )
    history.set_defaults(handler=_cmd_history)

    hold = commands.add_parser(
        "lock",
        help="hold the one-sweep-at-a-time lock while the calling ansible-playbook runs "
        "(playbooks/sweep.yml does this)",
    )
    hold.add_argument("--sweep-id", type=_sweep_id, required=True, metavar="ID")
    hold.set_defaults(handler=_cmd_lock)

    data = commands.add_parser("data", help="generate or check a data set")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    generate = data_commands.add_parser("generate", help="write a synthetic SUSY-like CSV")
    generate.add_argument("--rows", type=_int_between(1), required=True, metavar="N")
    generate.add_argument("--seed", type=_int_between(0), default=0, metavar="S")
    generate.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="default: data/synthetic-<rows>-s<seed>.csv.gz in the repository",
    )
    generate.add_argument(
        "--parquet-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="write Parquet straight into this cache folder (data/parquet for the job) instead "
        "of a CSV; prints the set's folder, named by its fingerprint, as the last line",
    )
    generate.set_defaults(handler=_cmd_data_generate)
    fetch = data_commands.add_parser(
        "fetch",
        help="download the real SUSY set to data/SUSY.csv.gz: its hash checked, every row "
        "validated",
    )
    fetch.add_argument(
        "--url",
        default=None,
        metavar="URL",
        help="download from here instead (needs --sha256): a zip holding the CSV or its "
        ".csv.gz, a .csv.gz, or a CSV (default: the UCI repository's SUSY zip, data set 279)",
    )
    fetch.add_argument(
        "--sha256",
        type=_sha256,
        default=None,
        metavar="HEX",
        help="the download's expected sha256; without it, the default URL's is printed",
    )
    fetch.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="default: data/ in the repository, where the sweep looks for SUSY.csv.gz",
    )
    fetch.add_argument(
        "--force", action="store_true", help="fetch again even when SUSY.csv.gz is there"
    )
    fetch.set_defaults(handler=_cmd_data_fetch)
    check = data_commands.add_parser("check", help="validate a data file and count its rows")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(handler=_cmd_data_check)
    return parser


def _cmd_report(args: argparse.Namespace) -> None:
    _report(
        args.results_dir,
        args.metric,
        rerun="run the sweep again with its settings and --sweep-id to rerun them",
        predict_to=args.predict_to,
    )


def _cmd_compare(args: argparse.Namespace) -> None:
    compare = importlib.import_module("sparksweep.compare")
    comparison = compare.build_comparison(args.sweeps)
    # Beside the sweeps (results/ as a rule), not wherever the command happens to run.
    out = args.out or args.sweeps[0].resolve().parent
    paths = compare.write_comparison(out, comparison)
    console = Console()
    for table in compare.render_tables(comparison):
        console.print(table)
    for line in [*compare.fit_notes(comparison), *(f"wrote {path}" for path in paths.values())]:
        console.print(line, highlight=False, soft_wrap=True, markup=False)


def _cmd_run(args: argparse.Namespace) -> None:
    if args.max_repeats is not None and args.until_ci is None:
        raise SparksweepError("--max-repeats bounds --until-ci; give --until-ci H too")
    max_repeats = args.max_repeats or max(DEFAULT_MAX_REPEATS, args.repeats)
    if max_repeats < args.repeats:
        raise SparksweepError(
            f"--max-repeats {max_repeats} is below --repeats {args.repeats}; raise it, or "
            "ask for fewer repeats"
        )
    extravars = dict(args.extravars)
    if args.cores is not None:
        extravars["sparksweep_worker_cores"] = args.cores
    if args.memory is not None:
        extravars["sparksweep_worker_memory"] = args.memory
    sweep_id = args.sweep_id or new_sweep_id()
    repeats = args.repeats
    recorded = read_plan((args.results_dir or REPO_ROOT / "results").resolve() / sweep_id)
    if args.until_ci is not None and recorded is not None:
        # Rounds that --until-ci added before are part of the sweep: resume from them.
        repeats = min(max(repeats, recorded.repeats), max_repeats)
    while True:
        sweep_dir, resume = _sweep(args, sweep_id, repeats, extravars)
        if args.until_ci is None:
            break
        sharp = until_ci_status(
            build_report(load_runs(sweep_dir)), args.until_ci, repeats, max_repeats
        )
        print_line(sharp["line"])
        if sharp["reached"] or repeats >= max_repeats:
            break
        repeats += 1
    _report(
        sweep_dir,
        "fit_s",
        rerun=f"to rerun them: {resume}",
        predict_to=args.predict_to,
        until_ci=None if args.until_ci is None else sharp,
    )


def _sweep(
    args: argparse.Namespace, sweep_id: str, repeats: int, extravars: dict[str, object]
) -> tuple[Path, str]:
    """One pass of the sweep at `repeats` repeats; its folder and its resume command."""
    # The plan is fixed here, before anything starts: a resume takes the recorded one (and
    # its seed), extended by more repeats, or is refused when it asks for another; the
    # resume command spells it out.
    plan = resolve_plan(
        (args.results_dir or REPO_ROOT / "results").resolve() / sweep_id,
        args.workers,
        repeats,
        args.order,
        args.seed,
    )
    resume = _resume_command(args, sweep_id, plan.options())
    # Imported here: the runner drives ansible-runner and Docker, which `report` and `data`
    # must not need.
    runner = importlib.import_module("sparksweep.runner")
    try:
        sweep_dir = runner.run_sweep(
            workers=plan.workers,
            repeats=plan.repeats,
            order=plan.order,
            seed=plan.seed,
            rows=args.rows,
            sweep_id=sweep_id,
            extravars=extravars,
            results_dir=args.results_dir,
            inventory=args.inventory,
            progress=sweep_progress(plan.workers, plan.repeats, resume),
        )
    except SweepInterruptedError as exc:
        raise SweepInterruptedError(exc.sweep_id, f"{exc}; resume it with: {resume}") from None
    return sweep_dir, resume


def until_ci_status(
    report: dict[str, Any], target: float, repeats: int, max_repeats: int
) -> dict[str, Any]:
    """Whether the fit's p is known to +-target, and a line that says so with the rounds left.

    The interval is the bootstrap one over the runs; a sweep with a single run at some worker
    count has none (unknown, never reached). Rounds left assume the half width shrinks as
    1 / sqrt(repeats).
    """
    amdahl = report.get("amdahl") or {}
    interval = amdahl.get("ci95_bootstrap")
    status: dict[str, Any] = {
        "target": target,
        "repeats": repeats,
        "max_repeats": max_repeats,
        "ci95": interval,
        "half_width": None,
        "reached": False,
    }
    if interval is None:
        why = amdahl.get("ci95_bootstrap_note") or report.get("amdahl_reason") or "no fit"
        status["line"] = f"after {repeats} repeat(s): p's 95% interval is unknown ({why}); " + (
            "one more round" if repeats < max_repeats else f"--max-repeats {max_repeats} done"
        )
        return status
    half = (interval[1] - interval[0]) / 2
    status["half_width"] = half
    status["reached"] = half <= target
    if status["reached"]:
        left = "reached"
    elif repeats >= max_repeats:
        left = f"not reached, --max-repeats {max_repeats} done"
    else:
        needed = math.ceil(repeats * (half / target) ** 2)
        left = f"about {min(needed, max_repeats) - repeats} more round(s)"
    status["line"] = (
        f"after {repeats} repeat(s): p's 95% interval [{interval[0]:.3f}, {interval[1]:.3f}], "
        f"+-{half:.3f} against +-{target:g}: {left}"
    )
    return status


def _resume_command(args: argparse.Namespace, sweep_id: str, plan: list[str]) -> str:
    """The `sparksweep run` that resumes this sweep: its options, spelled out, and its id.

    Every option is explicit (plan: the workers, repeats, order and seed), so that a changed
    default cannot make the resume a different experiment, and the results folder is
    absolute, so that it works from any folder.
    """
    argv = ["sparksweep", "run", *plan, "--rows", str(args.rows)]
    if args.cores is not None:
        argv += ["--cores", str(args.cores)]
    if args.memory is not None:
        argv += ["--memory", args.memory]
    if args.results_dir is not None:
        argv += ["--results-dir", str(args.results_dir.resolve())]
    if args.inventory is not None:
        argv += ["--inventory", str(args.inventory.resolve())]
    if args.until_ci is not None:
        argv += ["--until-ci", str(args.until_ci)]
        if args.max_repeats is not None:
            argv += ["--max-repeats", str(args.max_repeats)]
    for key, value in args.extravars:
        argv += ["-e", f"{key}={value}"]
    return shlex.join([*argv, "--sweep-id", sweep_id])


def _cmd_predict(args: argparse.Namespace) -> None:
    whatif = importlib.import_module("sparksweep.whatif")
    path: Path = args.path
    if (path / RUNS_DIRNAME).is_dir():
        runs = load_runs(path)
        sources = whatif.sweep_sources(sweep_folder(path), runs)
        if not sources:
            raise SparksweepError(
                f"{path}: no ok run of this sweep kept its event log (events/); nothing to replay"
            )
        costs = whatif.measure_costs(sources)
    else:
        sources = [whatif.load(path)]
        costs = whatif.NO_COSTS
    own = max(source.app.executor_count for source in sources)
    workers = args.workers or tuple(range(1, whatif.default_predict_to([own]) + 1))
    shape = whatif.Shape(
        scale=args.scale, rows=args.rows, partitions=args.partitions, host_cpus=args.host_cpus
    )
    documents = [
        {
            "run_id": source.run["run_id"] if source.run else None,
            "application_id": source.app.id,
            "event_log": str(source.app.path),
            "predictions": whatif.predict(source, workers, args.cores, costs, shape),
        }
        for source in sources
    ]
    if args.json:
        document: dict[str, object] = {"predict_version": whatif.PREDICT_VERSION}
        if len(documents) == 1 and not (path / RUNS_DIRNAME).is_dir():
            document.update(documents[0])
        else:
            document["sweep"] = str(path)
            document["runs"] = documents
        print(json.dumps(document, indent=2))
        return
    console = Console()
    for entry in documents:
        console.print(_prediction_table(entry))
    console.print(
        "A model: each run's recorded tasks re-scheduled on the executors asked for, as fast "
        "as they ran (README, 'Beyond the measured points').",
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


def _cmd_history(args: argparse.Namespace) -> None:
    # Imported here, as for `run`: only these two commands need ansible-runner.
    runner = importlib.import_module("sparksweep.runner")
    if args.stop:
        runner.stop_history()
        print("History Server stopped")
        return
    if args.sweep_dir is None:
        raise SparksweepError(
            "name the sweep folder to serve, as in 'sparksweep history results/<sweep_id>', "
            "or stop the server with 'sparksweep history --stop'"
        )
    events = history.events_folder(args.sweep_dir)
    expected = history.expected_applications(args.sweep_dir)
    print(f"starting Spark's History Server over {events.resolve()}")
    runner.serve_history(events)
    listed = history.wait_for_applications(app.application_id for app in expected)
    print(f"History Server: {history.base_url()} ({len(listed)} applications)")
    for line in history.served_lines(expected, listed):
        print(line)
    print("stop it with: sparksweep history --stop")


def _cmd_lock(args: argparse.Namespace) -> None:
    lock = importlib.import_module("sparksweep.lock")
    watched = lock.hold_while_playbook_runs(args.sweep_id)
    print(f"sweep {args.sweep_id} holds {lock.lock_path()} while ansible-playbook {watched} runs")


def _cmd_data_generate(args: argparse.Namespace) -> None:
    data = importlib.import_module("sparksweep.data")
    if args.parquet_dir is not None:
        if args.out is not None:
            raise SparksweepError("give --out (a CSV file) or --parquet-dir (Parquet), not both")
        folder, written = data.generate_parquet(args.parquet_dir, rows=args.rows, seed=args.seed)
        verb = "wrote" if written else "reusing"
        print(f"{verb} {args.rows} rows (seed {args.seed}) as Parquet in", flush=True)
        print(folder)
        return
    out = args.out or REPO_ROOT / "data" / data.synthetic_name(args.rows, args.seed)
    written = data.generate(out, rows=args.rows, seed=args.seed)
    print(f"wrote {args.rows} rows to {written}")


def _cmd_data_fetch(args: argparse.Namespace) -> None:
    fetch = importlib.import_module("sparksweep.data.fetch")
    if args.url is not None and args.sha256 is None:
        raise SparksweepError(
            "--url needs --sha256 HEX: a download from elsewhere is trusted only with its "
            "hash (see 'sparksweep data fetch --help')"
        )
    url = args.url or fetch.SUSY_URL
    data_dir = args.data_dir or REPO_ROOT / "data"
    target = data_dir / fetch.SUSY_NAME
    if target.exists() and not args.force:
        print_line(f"{target} is already there; --force fetches it again")
        return
    print_line(f"fetching {url}")
    with download_progress("download") as progress:
        fetched = fetch.fetch(url, data_dir, args.sha256, progress=progress, note=print_line)
    if args.sha256 is None:
        print_line(
            f"no hash was given to check the download against; to check a later fetch of the "
            f"same file: sparksweep data fetch --sha256 {fetched.sha256}"
        )
    print_line(f"wrote {fetched.path}: {fetched.rows} rows, valid")


def _cmd_data_check(args: argparse.Namespace) -> None:
    data = importlib.import_module("sparksweep.data")
    rows = data.validate_csv(args.file)
    print(f"{args.file}: {rows} rows, valid")


def _report(
    results_dir: Path,
    metric: str,
    rerun: str,
    predict_to: int | None,
    until_ci: dict[str, Any] | None = None,
) -> None:
    """Write and print the report; RunsFailedError after it when any run failed.

    rerun says how to rerun the failed runs, for the error line.
    """
    runs = load_runs(results_dir)
    report = build_report(runs, metric=metric)
    add_model(report, runs, sweep_folder(results_dir), predict_to)
    if until_ci is not None:
        report["until_ci"] = until_ci
    paths = write_report(sweep_folder(results_dir), report)
    console = Console()
    console.print(render_table(report))
    failed = failed_run_lines(report)
    # Soft wrap leaves long lines to the terminal, so a printed path stays one piece to copy.
    for line in [
        *summary_sentences(report),
        *(f"wrote {path}" for path in paths.values()),
        *failed,
    ]:
        console.print(line, highlight=False, soft_wrap=True, markup=False)
    if failed:
        runs = report["runs"]
        raise RunsFailedError(
            f"{runs['failed']} of {runs['total']} runs of sweep {report['sweep_id']} failed "
            f"(listed above); {rerun}"
        )


def _prediction_table(entry: dict[str, Any]) -> Table:
    """One log's predictions in 80 columns: the fit for a run of ours, else the application."""
    ours = entry["predictions"][0]["fit_s"] is not None
    what, bound = ("fit", "fit_") if ours else ("app", "")
    first = entry["predictions"][0]
    # What was asked beyond worker counts, so a table is not mistaken for the log's own.
    asked = [f"{first['partitions']} partitions"]
    if first["scale"] != 1.0:
        asked.append(f"{first['rows']:,} rows" if first["rows"] else f"rows x{first['scale']:g}")
    if first["host_cpus"]:
        asked.append(f"one host of {first['host_cpus']} CPUs")
    table = terminal_table(
        f"{entry['run_id'] or entry['application_id']}: {what} seconds, replayed "
        f"(a model): {', '.join(asked)}"
    )
    headers = ["w", "cores", what, "placement range", "critical path", "perfect parallel"]
    headers += ["slow tasks", "measured"]
    for header in headers:
        table.add_column(header.replace(" ", "\n"), justify="right")
    for row in entry["predictions"]:
        spread = row["fit_s_range"]
        table.add_row(
            str(row["workers"]),
            str(row["cores"]),
            _seconds(row[f"{what}_s"]),
            f"{spread[0]:.1f}-{spread[1]:.1f}" if spread else "",
            _seconds(row[f"{bound}critical_path_s"]),
            _seconds(row[f"{bound}perfect_parallel_s"]),
            _seconds(row["pessimistic"][f"{what}_s"]),
            _seconds(row[f"measured_{what}_s"]),
        )
    return table


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _existing_path(text: str) -> Path:
    if not text:
        raise argparse.ArgumentTypeError("an empty path names nothing; give a file or folder")
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text}: no such file or folder")
    return path


def _predict_to_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--predict-to",
        type=_int_between(1, PREDICT_WORKERS_MAX),
        default=None,
        metavar="W",
        help="the report's model predicts 1..W workers (default: the larger of 8 and twice "
        "the largest measured count)",
    )


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be above 0 and below 1, got {text}")
    return value


def _int_between(low: int, high: int | None = None) -> Callable[[str], int]:
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(text: str) -> int:
        try:
            if not _INTEGER.fullmatch(text):
                raise ValueError(text)
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {bounds}, got {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {value}")
        return value

    return parse


def _workers(maximum: int) -> Callable[[str], tuple[int, ...]]:
    def parse(text: str) -> tuple[int, ...]:
        try:
            return parse_workers(text, maximum)
        except PlanError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _sweep_id(text: str) -> str:
    # "." and ".." match the pattern but as a folder name would write outside results/.
    if not _SWEEP_ID.fullmatch(text) or set(text) == {"."}:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a sweep id: use letters, digits, '.', '_' and '-', and not only dots"
        )
    return text


def _sha256(text: str) -> str:
    if not _SHA256.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a sha256: 64 hexadecimal digits")
    return text.lower()


def _results_dir(text: str) -> Path:
    # Checked here, not when the first run's JSON is written after the image, the master and
    # the data are ready.
    path = Path(text)
    reason = unwritable_reason(path)
    if reason is not None:
        raise argparse.ArgumentTypeError(
            f"cannot write the results into {path}: {reason}; choose another folder"
        )
    return path


def _inventory(text: str) -> Path:
    # Ansible reads the project's shared settings from group_vars/ beside the inventory: an
    # inventory elsewhere would leave every sparksweep_* setting undefined, and the sweep
    # would fail deep in a role instead of here.
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no inventory file at {path}")
    if not (path.resolve().parent / "group_vars" / "all.yml").is_file():
        raise argparse.ArgumentTypeError(
            f"{path} has no group_vars/all.yml beside it, where Ansible reads the project's "
            f"settings: put the file in {REPO_ROOT / 'inventory'}, or link that folder's "
            "group_vars/ beside it"
        )
    return path


def _memory(text: str) -> str:
    if not _MEMORY.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a memory size with a unit Spark reads, like 2g or 2048m"
        )
    return text


def _extravar(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not _VAR_NAME.fullmatch(key):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not KEY=VALUE with KEY a variable name (letters, digits, '_')"
        )
    return key, value
