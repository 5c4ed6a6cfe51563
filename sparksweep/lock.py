"""One sweep at a time: an exclusive lock on the controller for the sweep's whole length.

Container, network and volume names are the cluster's, not the sweep's, so a second sweep
would tear down the first one's workers in the middle of a job. `sparksweep run` holds the
lock itself; `ansible-playbook playbooks/sweep.yml` takes it through `sparksweep lock`,
which leaves a small process holding it until that ansible-playbook ends. The lock is an
flock(2) on a file, so the kernel drops it when its holder dies, however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sparksweep.errors import SweepBusyError

LOCK_ENV = "SPARKSWEEP_LOCK"
_POLL_S = 1.0


def lock_path() -> Path:
    """The machine's lock file: $SPARKSWEEP_LOCK, else sparksweep.lock in the temp folder."""
    return Path(os.environ.get(LOCK_ENV) or Path(tempfile.gettempdir()) / "sparksweep.lock")


def _holder_text(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return (
            f"sweep {holder['sweep_id']} is running (pid {holder['pid']}, "
            f"since {holder['started_at']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another sweep is running"


def _holder_alive(path: Path) -> bool:
    """Whether the process the lock file names still runs (True when it cannot tell)."""
    try:
        pid = int(json.loads(path.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return Path(f"/proc/{pid}").exists()


def _busy(path: Path) -> SweepBusyError:
    return SweepBusyError(
        f"{_holder_text(path)}; one sweep at a time shares this machine's cluster. "
        f"Wait for it with `flock {path} true`, then run again"
    )


def acquire(sweep_id: str, path: Path | None = None) -> int:
    """The locked file's descriptor; SweepBusyError at once when another sweep holds it."""
    path = path or lock_path()
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    # A holder whose process has ended lets go within its poll; a playbook run right after
    # another (Molecule's converge, then idempotence) waits for that, and no longer.
    deadline = time.monotonic() + _POLL_S * 3
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if _holder_alive(path) or time.monotonic() >= deadline:
                os.close(fd)
                raise _busy(path) from None
            time.sleep(_POLL_S / 10)
    _write_holder(fd, sweep_id, os.getpid())
    return fd


def _write_holder(fd: int, sweep_id: str, pid: int) -> None:
    """Name the holder in the lock file, for the message a refused sweep prints."""
    holder = {
        "sweep_id": sweep_id,
        "pid": pid,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)


@contextlib.contextmanager
def held(sweep_id: str, path: Path | None = None) -> Iterator[None]:
    fd = acquire(sweep_id, path)
    try:
        yield
    finally:
        # Closing the descriptor releases the lock; the file stays for the next sweep.
        os.close(fd)


def _ancestors() -> Iterator[int]:
    pid = os.getppid()
    while pid > 1:
        yield pid
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        # The command name in parentheses may hold spaces; the parent pid follows it.
        pid = int(stat.rsplit(")", 1)[1].split()[1])


def _is_ansible_playbook(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(os.path.basename(arg) == b"ansible-playbook" for arg in argv[:2])


def playbook_pid() -> int | None:
    """The ansible-playbook that runs this command: the outermost of its processes, as its
    forks for each task carry the same command line."""
    found = None
    for pid in _ancestors():
        if _is_ansible_playbook(pid):
            found = pid
    return found


def hold_while_playbook_runs(sweep_id: str, path: Path | None = None) -> int:
    """Take the lock, then leave a child holding it until the calling ansible-playbook ends.

    Returns the pid that is watched. The child inherits the locked descriptor, so the lock
    outlives this process and ends with the child.
    """
    watched = playbook_pid()
    if watched is None:
        raise SweepBusyError("`sparksweep lock` holds the lock for an ansible-playbook run only")
    fd = acquire(sweep_id, path)
    child = os.fork()
    if child:
        os.close(fd)
        return watched
    # The child: detached from the task's session so Ansible does not wait for it.
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):
        os.dup2(devnull, stream)
    _write_holder(fd, sweep_id, watched)
    while Path(f"/proc/{watched}").exists():
        time.sleep(_POLL_S)
    os.close(fd)
    os._exit(0)
