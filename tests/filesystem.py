"""Files and folders for the bad-input tests, unit and integration alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def snapshot(*roots: Path) -> dict[str, tuple[int, int, int]]:
    """Every entry beneath roots with its mode, size and modification time."""
    state: dict[str, tuple[int, int, int]] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in [root, *root.rglob("*")]:
            info = path.lstat()
            state[str(path)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return state


def unwritable_folder(tmp: Path) -> Path:
    """A folder that exists and that this user cannot write into.

    A folder without write permission, unless the tests run as root, who writes there
    anyway: then /proc/sys, which the kernel keeps closed to new files even for root.
    """
    closed = tmp / "read-only"
    closed.mkdir(exist_ok=True)
    closed.chmod(0o555)
    for folder in (closed, Path("/proc/sys")):
        if folder.is_dir() and not os.access(folder, os.W_OK):
            return folder
    pytest.skip("this user can write into every folder at hand (root without /proc/sys)")


def a_file(tmp: Path) -> Path:
    """An empty file, where a folder is expected."""
    path = tmp / "a-file"
    path.write_text("")
    return path
