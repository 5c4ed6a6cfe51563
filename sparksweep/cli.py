"""Command line: run a sweep, report on one, generate and check data."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from sparksweep import settings
from sparksweep.errors import SparksweepError
from sparksweep.job.runrecord import MEMORY_SIZE
from sparksweep.report import METRICS, build_report, render_table, summary_sentences, write_report
from sparksweep.results import load_runs, new_sweep_id, sweep_folder, unwritable_reason

DEFAULT_REPEATS = 1
# The repository root, where data/ lives: the folder above this package.
REPO_ROOT = Path(__file__).resolve().parent.parent
_SWEEP_ID = re.compile(r"[A-Za-z0-9._-]+")
_MEMORY = re.compile(MEMORY_SIZE)
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sparksweep",
        description="Measure how a Spark K-Means job scales over 1..N worker containers "
        "and fit Amdahl's law to it.",
    )
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
    report.set_defaults(handler=_cmd_report)

    max_workers = settings.workers_max()
    default_rows = settings.default_rows()
    run = commands.add_parser("run", help="run a sweep over 1..N workers, then report on it")
    run.add_argument(
        "--workers",
        type=_int_between(1, max_workers),
        required=True,
        metavar="N",
        help=f"sweep 1..N workers (N from 1 to {max_workers})",
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
        "-e",
        "--extra-var",
        dest="extravars",
        type=_extravar,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra variable for the playbooks; repeat for more",
    )
    run.set_defaults(handler=_cmd_run)

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
    generate.set_defaults(handler=_cmd_data_generate)
    check = data_commands.add_parser("check", help="validate a data file and count its rows")
    check.add_argument("file", type=Path, metavar="FILE")
    check.set_defaults(handler=_cmd_data_check)
    return parser


def _cmd_report(args: argparse.Namespace) -> None:
    _report(args.results_dir, args.metric)


def _cmd_run(args: argparse.Namespace) -> None:
    # Imported here: the runner drives ansible-runner and Docker, which `report` and `data`
    # must not need.
    runner = importlib.import_module("sparksweep.runner")
    extravars = dict(args.extravars)
    if args.cores is not None:
        extravars["sparksweep_worker_cores"] = args.cores
    if args.memory is not None:
        extravars["sparksweep_worker_memory"] = args.memory
    sweep_dir = runner.run_sweep(
        workers=args.workers,
        repeats=args.repeats,
        rows=args.rows,
        sweep_id=args.sweep_id or new_sweep_id(),
        extravars=extravars,
        results_dir=args.results_dir,
    )
    _report(sweep_dir, "fit_s")


def _cmd_lock(args: argparse.Namespace) -> None:
    lock = importlib.import_module("sparksweep.lock")
    watched = lock.hold_while_playbook_runs(args.sweep_id)
    print(f"sweep {args.sweep_id} holds {lock.lock_path()} while ansible-playbook {watched} runs")


def _cmd_data_generate(args: argparse.Namespace) -> None:
    data = importlib.import_module("sparksweep.data")
    out = args.out or REPO_ROOT / "data" / data.synthetic_name(args.rows, args.seed)
    written = data.generate(out, rows=args.rows, seed=args.seed)
    print(f"wrote {args.rows} rows to {written}")


def _cmd_data_check(args: argparse.Namespace) -> None:
    data = importlib.import_module("sparksweep.data")
    rows = data.validate_csv(args.file)
    print(f"{args.file}: {rows} rows, valid")


def _report(results_dir: Path, metric: str) -> None:
    report = build_report(load_runs(results_dir), metric=metric)
    paths = write_report(sweep_folder(results_dir), report)
    console = Console()
    console.print(render_table(report))
    # Soft wrap leaves long lines to the terminal, so a printed path stays one piece to copy.
    for line in [*summary_sentences(report), *(f"wrote {path}" for path in paths.values())]:
        console.print(line, highlight=False, soft_wrap=True)


def _int_between(low: int, high: int | None = None) -> Callable[[str], int]:
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer {bounds}, got {text!r}"
            ) from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {value}")
        return value

    return parse


def _sweep_id(text: str) -> str:
    # "." and ".." match the pattern but as a folder name would write outside results/.
    if not _SWEEP_ID.fullmatch(text) or set(text) == {"."}:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a sweep id: use letters, digits, '.', '_' and '-', and not only dots"
        )
    return text


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
