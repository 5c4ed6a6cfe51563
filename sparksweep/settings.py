"""The project's shared settings, read from their one home: inventory/group_vars/all.yml.

The CLI's defaults and bounds (worker maximum, row count, cores and memory per worker) are
the playbooks' own, so a change there is a change here.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
GROUP_VARS = REPO_ROOT / "inventory" / "group_vars" / "all.yml"


@functools.cache
def shared() -> dict[str, Any]:
    """The sparksweep_* variables; templated values come back as their template text."""
    with GROUP_VARS.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def workers_max() -> int:
    return int(shared()["sparksweep_workers_max"])


def default_rows() -> int:
    return int(shared()["sparksweep_rows"])


def worker_cores() -> int:
    return int(shared()["sparksweep_worker_cores"])


def worker_memory() -> str:
    return str(shared()["sparksweep_worker_memory"])


def history_url() -> str:
    """Where Spark's History Server answers: always loopback, it has no authentication."""
    return f"http://127.0.0.1:{int(shared()['sparksweep_history_port'])}"
