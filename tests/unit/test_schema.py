"""The run JSON schema: itself valid, and strict where the report relies on it."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

SCHEMA = json.loads(resources.files("sparksweep").joinpath("schemas/run.schema.json").read_text())
SCHEMA_V1 = json.loads(
    resources.files("sparksweep").joinpath("schemas/run.schema.v1.json").read_text()
)

OK_RUN_V1: dict[str, Any] = {
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
CONFIG: dict[str, Any] = {
    "dataset": {
        "fingerprint": "sha256:ab",
        "rows": 100000,
        "source": "synthetic",
        "format": "parquet",
    },
    "params": OK_RUN_V1["params"],
    "cores_per_worker": 1,
    "executor_memory": "2g",
    "driver_memory": "1g",
    "partitions": 16,
    "spark_version": "4.0.1",
    "image": "sparksweep/spark:4.0.1-0123456789ab",
    "conf": {"spark.locality.wait": "0s"},
}
OK_RUN: dict[str, Any] = {
    **OK_RUN_V1,
    "schema_version": 2,
    "config": CONFIG,
    "config_hash": "sha256:" + "0" * 64,
    "application_id": "app-20261127113000-0001",
    "executors": [
        {"id": "0", "host": "172.18.0.3:40001", "cores": 1, "tasks": 48, "removed": None},
        {"id": "1", "host": "172.18.0.4:40001", "cores": 1, "tasks": 47, "removed": None},
    ],
    "timings": {**OK_RUN_V1["timings"], "executors_s": 0.5},
    "anatomy": None,
    "event_log": "events/w2-r1_app-20261127113000-0001.zstd",
}


def validate(doc: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(SCHEMA_V1)


def test_version_1_records_still_match_their_schema() -> None:
    jsonschema.Draft202012Validator(SCHEMA_V1).validate(OK_RUN_V1)
    with pytest.raises(jsonschema.ValidationError):
        validate(OK_RUN_V1)


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
        ({"workers": 100000}, "workers"),
        ({"executors": []}, "executors"),
        ({"application_id": None}, "application_id"),
        ({"config_hash": "abc"}, "config_hash"),
        ({"surprise": 1}, ""),
    ],
)
def test_inconsistent_runs_are_refused(change: dict[str, Any], path: str) -> None:
    doc = copy.deepcopy(OK_RUN)
    doc.update(change)
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)
