"""A streaming validator of SUSY CSV files (plain or gzip): the row count, or the first bad
line named."""

import gzip
import io
import math
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from sparksweep.data.columns import SUSY_COLUMNS
from sparksweep.errors import DataError

_READ_BYTES = 8 * 1024 * 1024
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_BYTES = b"0123456789+-.eE"


def validate_csv(path: Path) -> int:
    """Return the number of rows of a SUSY CSV (plain or gzip), or raise DataError.

    The error names the file, the first bad line (1-based) and what is wrong with it.
    """
    if not path.is_file():
        raise DataError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    rows = 0
    try:
        with _open_binary(path) as stream:
            for first_line, lines in _line_blocks(stream):
                rows += _check_lines(path, first_line, lines)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read after line {rows}: {exc}") from exc
    if rows == 0:
        raise DataError(f"{path}: no rows (expected {len(SUSY_COLUMNS)} comma-separated numbers)")
    return rows


def _open_binary(path: Path) -> BinaryIO:
    """Open a file for reading, decompressing gzip by its magic bytes, not its name."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return path.open("rb")


def _line_blocks(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Yield (number of the first line, whole lines) in blocks of about _READ_BYTES."""
    line = 1
    carry = b""
    while data := stream.read(_READ_BYTES):
        data = carry + data
        end = data.rfind(b"\n") + 1
        carry = data[end:]
        if end:
            yield line, data[:end]
            line += data.count(b"\n", 0, end)
    if carry:
        yield line, carry + b"\n"


def _check_lines(path: Path, first_line: int, lines: bytes) -> int:
    """Return how many rows the block holds; raise DataError at its first bad line."""
    expected = lines.count(b"\n")
    # Fast path: a block of plain decimal numbers that numpy parses into a well-formed table.
    # Any doubt (blank lines skipped by numpy, other characters, a parse error) falls to the
    # line-by-line check, which alone decides what is wrong.
    if not lines.translate(None, _NUMBER_BYTES + b",\r\n"):
        try:
            table = np.loadtxt(
                io.StringIO(lines.decode("ascii")),
                delimiter=",",
                comments=None,
                ndmin=2,
            )
        except ValueError:
            table = None
        if (
            table is not None
            and table.shape == (expected, len(SUSY_COLUMNS))
            and np.isin(table[:, 0], (0.0, 1.0)).all()
            and np.isfinite(table).all()
        ):
            return expected
    for offset, line in enumerate(lines.split(b"\n")[:expected]):
        problem = _line_problem(line.rstrip(b"\r"))
        if problem:
            raise DataError(f"{path}: line {first_line + offset}: {problem}")
    return expected


def _line_problem(line: bytes) -> str | None:
    """Say what is wrong with one line, or None when it is a valid SUSY row."""
    if not line:
        return f"empty line (expected {len(SUSY_COLUMNS)} comma-separated numbers)"
    cells = line.split(b",")
    if len(cells) != len(SUSY_COLUMNS):
        return f"expected {len(SUSY_COLUMNS)} comma-separated columns, found {len(cells)}"
    for column, cell in enumerate(cells, start=1):
        if not _NUMBER.fullmatch(cell):
            shown = cell[:40].decode("ascii", errors="replace")
            hint = " (SUSY files have no header row)" if cell.isalpha() else ""
            return f"column {column} ({SUSY_COLUMNS[column - 1]}) is {shown!r}, not a number{hint}"
    if float(cells[0]) not in (0.0, 1.0):
        return f"label is {cells[0].decode('ascii')!r}, expected 0 or 1"
    for column, cell in enumerate(cells, start=1):
        if not math.isfinite(float(cell)):
            shown = cell[:40].decode("ascii")
            return (
                f"column {column} ({SUSY_COLUMNS[column - 1]}) is {shown!r}, too large for a double"
            )
    return None
