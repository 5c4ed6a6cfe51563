"""Integration tests drive the real Docker Engine, Ansible and Spark: no mocks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session", autouse=True)
def docker_engine() -> None:
    """Fail, rather than skip, when the engine is missing: these tests are the product."""
    if shutil.which("docker") is None:
        pytest.fail("the docker client is not installed; integration tests need a Docker Engine")
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.fail(f"the Docker Engine does not answer: {probe.stderr.strip()[:300]}")
