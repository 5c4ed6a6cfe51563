"""Run JSON files on disk: find them, check them against the schema, write files atomically."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from sparksweep.errors import ResultsError

RUNS_DIRNAME = "runs"
# Schema messages can quote a whole object; one line on a terminal is the goal.
_MAX_MESSAGE = 240


def load_runs(results_dir: Path) -> list[dict[str, Any]]:
    """Every run JSON in the `runs/` folders beneath results_dir, each checked against the schema.

    results_dir is one sweep's folder (`results/<sweep_id>`, holding `runs/`) or a folder
    above it. All runs must belong to one sweep, and each run id may appear only once,
    so that no repeat is counted twice in the medians.
    """
    files = _run_files(results_dir)
    runs = [_load_run(path) for path in files]

    folders: dict[str, Path] = {}
    for path, run in zip(files, runs, strict=True):
        folders.setdefault(run["sweep_id"], path.parent.parent)
    if len(folders) > 1:
        listed = ", ".join(f"{sweep_id} (in {folders[sweep_id]})" for sweep_id in sorted(folders))
        raise ResultsError(
            f"{results_dir} holds runs from {len(folders)} sweeps: {listed}; "
            "point at one sweep's folder"
        )
    seen: dict[str, Path] = {}
    for path, run in zip(files, runs, strict=True):
        first = seen.setdefault(run["run_id"], path)
        if first != path:
            raise ResultsError(
                f"run {run['run_id']} of sweep {run['sweep_id']} appears twice, in {first} and "
                f"{path}; remove the copy that should not count"
            )
    return runs


def sweep_folder(results_dir: Path) -> Path:
    """The folder that holds the `runs/` folder beneath results_dir: where a report belongs.

    Falls back to results_dir itself when the run files sit in more than one `runs/` folder.
    """
    parents = {path.parent.parent for path in _run_files(results_dir)}
    return parents.pop() if len(parents) == 1 else results_dir


def write_json_atomic(path: Path, data: Any) -> None:
    """Write data as indented JSON so that readers see the old file or the new one, never half.

    NaN and infinities are refused: they are not JSON and other tools reject them.
    """
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    with atomic_write(path) as handle:
        handle.write(text.encode("utf-8"))


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces path only once the block ends without an exception.

    It is a temporary file in the same folder (a rename across file systems is not
    atomic), fsynced, then renamed over path.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file 0600; results are meant to be read by others.
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # The rename is only durable once the folder's entry is on disk too.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _run_files(results_dir: Path) -> list[Path]:
    if not results_dir.exists():
        raise ResultsError(f"results folder {results_dir} does not exist")
    if not results_dir.is_dir():
        raise ResultsError(f"{results_dir} is not a folder; point at a sweep folder results/<id>")
    files = sorted(results_dir.glob(f"**/{RUNS_DIRNAME}/*.json"))
    if not files:
        raise ResultsError(
            f"no run files in {results_dir}: expected {RUNS_DIRNAME}/*.json beneath it, "
            "as a sweep writes them to results/<sweep_id>/runs/"
        )
    return files


def _load_run(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ResultsError(f"{path}: not valid JSON: {exc}") from exc
    error = best_match(_validator().iter_errors(data))
    if error is not None:
        message = " ".join(error.message.split())
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 1] + "…"
        raise ResultsError(f"{path}: does not match the run schema at {error.json_path}: {message}")
    return data


def _reject_constant(name: str) -> float:
    # Python's json reads NaN and Infinity, which are not JSON and would pass "minimum: 0".
    raise ValueError(f"{name} is not a JSON number")


@functools.cache
def _validator() -> Draft202012Validator:
    text = resources.files("sparksweep").joinpath("schemas/run.schema.json").read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_format_checker())


def _format_checker() -> FormatChecker:
    # jsonschema checks "date-time" only when the optional rfc3339-validator is installed;
    # the standard library covers what the job writes (ISO 8601 with an offset).
    checker = FormatChecker(Draft202012Validator.FORMAT_CHECKER.checkers)

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        # Formats apply to strings only; the schema's "type" judges the rest.
        if not isinstance(value, str):
            return True
        return datetime.fromisoformat(value).tzinfo is not None

    return checker
