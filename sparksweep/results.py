"""Run JSON files on disk: find them, check them against the schema, write files atomically."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

from sparksweep.errors import ResultsError
from sparksweep.job.runrecord import RUN_FILE, config_diff, config_hash

RUNS_DIRNAME = "runs"
# The schema of each version the report reads; runrecord.py writes the newest.
_SCHEMAS = {1: "schemas/run.schema.v1.json", 2: "schemas/run.schema.json"}
# Schema messages can quote a whole object; one line on a terminal is the goal.
_MAX_MESSAGE = 240
# A JSON string (so that what is inside one is skipped) or a number or constant token.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN|-?[0-9][0-9.eE+-]*')


def new_sweep_id() -> str:
    """sweep-<UTC time>, the same form the playbook gives a sweep run without an id."""
    return datetime.now(UTC).strftime("sweep-%Y%m%dT%H%M%SZ")


def load_runs(results_dir: Path) -> list[dict[str, Any]]:
    """Every run JSON in the `runs/` folders beneath results_dir, each checked against the schema.

    results_dir is one sweep's folder (`results/<sweep_id>`, holding `runs/`) or a folder
    above it. All runs must belong to one sweep, and each run id may appear only once,
    so that no repeat is counted twice in the medians. Each file's name must be its run
    id, each run id must name its worker count, and every run must have been measured
    with the same config, or the speedups would compare different experiments.
    """
    files = _run_files(results_dir)
    runs = [_load_run(path) for path in files]
    for path, run in zip(files, runs, strict=True):
        _check_names(path, run)

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
    _check_one_config(files, runs)
    return runs


def run_order(run: dict[str, Any]) -> tuple[int, int]:
    """Sort key of a run: its worker count, then its repeat (load_runs checked the run id)."""
    return run["workers"], int(run["run_id"].rpartition("-r")[2])


def run_config(run: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A run's config and its hash; version 1 records carry no config, so it is rebuilt
    from the fields they have."""
    if run["schema_version"] >= 2:
        return run["config_hash"], run["config"]
    dataset = run["dataset"]
    config = {
        "dataset": {k: dataset[k] for k in ("fingerprint", "source", "format")},
        "params": run["params"],
        "cores_per_worker": run["cores_per_worker"],
        "executor_memory": run["executor_memory"],
        "partitions": run["partitions"],
    }
    return config_hash(config), config


def _check_names(path: Path, run: dict[str, Any]) -> None:
    match = RUN_FILE.fullmatch(path.name)
    if match is None or path.stem != run["run_id"]:
        raise ResultsError(
            f"{path}: the file name does not match its run_id {run['run_id']}; a run's file "
            f"is runs/{run['run_id']}.json"
        )
    if int(match.group(1)) != run["workers"]:
        raise ResultsError(
            f"{path}: run_id {run['run_id']} names {match.group(1)} workers but the run "
            f"had {run['workers']}; the file does not belong under this name"
        )


def _check_one_config(files: list[Path], runs: list[dict[str, Any]]) -> None:
    first_path, (first_hash, first_config) = files[0], run_config(runs[0])
    for path, run in zip(files[1:], runs[1:], strict=True):
        digest, config = run_config(run)
        if digest != first_hash:
            fields = ", ".join(config_diff(first_config, config)) or "config"
            raise ResultsError(
                f"{path.parent} mixes runs measured with different settings: "
                f"{first_path.name} and {path.name} differ in {fields}; "
                "keep one sweep's runs per folder"
            )


def sweep_folder(results_dir: Path) -> Path:
    """The folder that holds the `runs/` folder beneath results_dir: where a report belongs.

    Falls back to results_dir itself when the run files sit in more than one `runs/` folder.
    """
    parents = {path.parent.parent for path in _run_files(results_dir)}
    return parents.pop() if len(parents) == 1 else results_dir


def unwritable_reason(folder: Path) -> str | None:
    """Why files cannot be written into folder (created with its parents if need be), or None.

    Asked before anything is created, so that a refusal leaves nothing behind: the nearest
    folder that exists must be a folder and writable.
    """
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK):
        return f"{existing} is not writable"
    return None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write data as indented JSON so that readers see the old file or the new one, never half.

    NaN and infinities are refused: they are not JSON and other tools reject them.
    """
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    with atomic_write(path) as handle:
        handle.write(text.encode("utf-8"))


@contextlib.contextmanager
def atomic_write(path: Path, check: Callable[[Path], None] | None = None) -> Iterator[BinaryIO]:
    """A binary file that replaces path only once the block ends without an exception.

    It is a temporary file in the same folder (a rename across file systems is not
    atomic), fsynced, then renamed over path. check, when given, reads the complete
    temporary file before the rename; an exception from it leaves path as it was.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(tmp)
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
    # Only the job writes a run's record, so the fix for a bad one is to measure the run
    # again: resuming the sweep redoes every run without an ok record.
    redo = f"delete the file and resume the sweep to run {path.stem} again"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read: {exc}") from exc
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NotANumber as exc:
        raise ResultsError(f"{path}: {_where(text, exc.token)}{exc}; {redo}") from exc
    except ValueError as exc:
        raise ResultsError(f"{path}: not valid JSON: {exc}; {redo}") from exc
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in _SCHEMAS:
        known = ", ".join(str(v) for v in _SCHEMAS)
        raise ResultsError(f"{path}: schema_version {version!r} is not one of {known}; {redo}")
    error = best_match(_validator(version).iter_errors(data))
    if error is not None:
        message = " ".join(error.message.split())
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 1] + "…"
        raise ResultsError(
            f"{path}: does not match the run schema at {error.json_path}: {message}; {redo}"
        )
    return data


class _NotANumber(ValueError):
    """A number token Python's json reads but no run can hold."""

    def __init__(self, token: str, problem: str) -> None:
        super().__init__(f"{token} {problem}")
        self.token = token


def _finite_float(text: str) -> float:
    # 1e400 reads as infinity, which no JSON tool can write back and no timing can be.
    number = float(text)
    if not math.isfinite(number):
        raise _NotANumber(text, "is beyond a double's range")
    return number


def _reject_constant(name: str) -> float:
    # Python's json reads NaN and Infinity, which are not JSON and would pass "minimum: 0".
    # Jobs before the cost check wrote a bare NaN for a cost they could not compute.
    raise _NotANumber(name, "is not a JSON number")


def _where(text: str, token: str) -> str:
    """Where json refused token, as 'line N: "key": ' (or 'line N: ' in an array).

    json's hooks are not told where a token is; json parses in document order, so the
    refused one is the first such token outside a string.
    """
    key, key_end = None, 0
    for match in _JSON_TOKEN.finditer(text):
        if match.group().startswith('"'):
            key, key_end = match.group(), match.end()
        elif match.group() == token:
            line = text.count("\n", 0, match.start()) + 1
            named = key is not None and text[key_end : match.start()].strip() == ":"
            return f"line {line}: {key}: " if named else f"line {line}: "
    return ""


@functools.cache
def _validator(version: int) -> Draft202012Validator:
    text = resources.files("sparksweep").joinpath(_SCHEMAS[version]).read_text("utf-8")
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
