"""The run JSON schema: itself valid, and strict where the report relies on it."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

SCHEMA = json.loads(resources.files("sparksweep").joinpath("schemas/run.schema.json").read_text())

OK_RUN: dict[str, Any] = {
    "schema_version": 1,
    "sweep_id": "s1",
    "run_id": "w2-r1",
    "workers": 2,
    "cores_per_worker": 1,
    "executor_memory": "2g",
    "partitions": 16,
    "dataset": {
        "path": "/workspace/data/parquet/ab",
        "format": "parquet",
        "rows": 100000,
        "fingerprint": "sha256:ab",
        "source": "synthetic",
    },
    "params": {
        "k": 10,
        "max_iter": 20,
        "tol": 1e-4,
        "seed": 1,
        "init_mode": "random",
        "solver": "block",
    },
    "iterations": 7,
    "cost": 12.5,
    "timings": {"session_s": 3.0, "load_s": 4.0, "fit_s": 5.0, "iteration_s": 0.7, "total_s": 12.0},
    "spark_version": "4.0.1",
    "started_at": "2026-11-25T17:00:00Z",
    "host": {"cpus": 2, "mem_bytes": 25000000000},
    "status": "ok",
    "error": None,
}


def validate(doc: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_ok_and_failed_runs_validate() -> None:
    validate(OK_RUN)
    failed = copy.deepcopy(OK_RUN)
    failed.update(
        status="failed", iterations=None, cost=None, error={"kind": "oom", "message": "x"}
    )
    failed["timings"]["fit_s"] = None
    validate(failed)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"status": "failed"}, "error"),
        ({"error": {"kind": "oom", "message": "x"}}, "error"),
        ({"cost": None}, "cost"),
        ({"run_id": "2-1"}, "run_id"),
        ({"workers": 0}, "workers"),
        ({"surprise": 1}, ""),
    ],
)
def test_inconsistent_runs_are_refused(change: dict[str, Any], path: str) -> None:
    doc = copy.deepcopy(OK_RUN)
    doc.update(change)
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)
