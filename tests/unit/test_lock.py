"""One sweep at a time: the lock refuses a second sweep at once and names the first."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from sparksweep import lock
from sparksweep.errors import SweepBusyError


def test_a_second_sweep_is_refused_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "sweep.lock"
    with lock.held("first", path):
        started = time.monotonic()
        with pytest.raises(SweepBusyError) as caught:
            lock.acquire("second", path)
        assert time.monotonic() - started < 1
    message = str(caught.value)
    assert "sweep first is running" in message
    assert f"flock {path} true" in message
    # Released with its holder: the next sweep gets it.
    with lock.held("third", path):
        pass


def test_the_lock_ends_with_a_holder_that_dies(tmp_path: Path) -> None:
    path = tmp_path / "sweep.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from sparksweep import lock; "
            f"lock.acquire('killed', Path({str(path)!r})); print('held', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(SweepBusyError, match="sweep killed is running"):
            lock.acquire("second", path)
    finally:
        holder.kill()
        holder.wait()
    with lock.held("after", path):
        pass


def test_lock_outside_ansible_playbook_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SweepBusyError, match="for an ansible-playbook run only"):
        lock.hold_while_playbook_runs("s1", tmp_path / "sweep.lock")
