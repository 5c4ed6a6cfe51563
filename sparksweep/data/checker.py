"""A streaming validator of SUSY CSV files (plain or gzip): the row count, or the first bad
line named."""

import io
import math
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from sparksweep.data.columns import SUSY_COLUMNS
from sparksweep.errors import DataError

# Decoded bytes checked per block, and compressed bytes fed to zlib per call.
_READ_BYTES = 8 * 1024 * 1024
_GZIP_PIECE_BYTES = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# zlib's window bits for a gzip header and trailer (16 + the largest window, 15).
_GZIP_WBITS = 31
_FIX = "copy or generate the file again"
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMBER_BYTES = b"0123456789+-.eE"


class _Broken(Exception):
    """The file's bytes break off; everything before the break has been yielded."""


def validate_csv(path: Path) -> int:
    """Return the number of rows of a SUSY CSV (plain or gzip), or raise DataError.

    The error names the file, the first bad line (1-based) and what is wrong with it; for a
    file that breaks off (a gzip cut short or corrupt), the last whole line that could be read.
    """
    if not path.is_file():
        if path.exists():
            raise DataError(f"{path}: not a file; name a CSV file (plain or gzip)")
        raise DataError(
            f"{path}: no such file; check the path, or write one with "
            "'sparksweep data generate --rows N --out FILE'"
        )
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot be opened: {exc.strerror or exc}") from exc
    rows = 0
    with raw:
        gzipped = raw.read(len(_GZIP_MAGIC)) == _GZIP_MAGIC
        raw.seek(0)
        blocks = _line_blocks(_gunzip(raw) if gzipped else _read(raw, _READ_BYTES))
        for first_line, lines, broken in blocks:
            good, problem = _check_lines(lines)
            rows += good
            if problem is not None and gzipped and broken is None:
                # Damaged compressed data can decode into lines that read wrong long before
                # zlib notices; only the rest of the stream, to its checksum, tells that from
                # a bad line in a sound file.
                broken = next((later for _, _, later in blocks if later is not None), None)
            if broken is not None:
                raise DataError(f"{path}: cannot be read after line {rows}: {broken}; {_FIX}")
            if problem is not None:
                raise DataError(
                    f"{path}: line {first_line + good}: {problem}; correct or remove that line"
                )
    if rows == 0:
        raise DataError(
            f"{path}: no rows (expected lines of {len(SUSY_COLUMNS)} comma-separated numbers); "
            "name a data file that holds some"
        )
    return rows


def _read(raw: BinaryIO, size: int) -> Iterator[bytes]:
    try:
        while data := raw.read(size):
            yield data
    except OSError as exc:
        raise _Broken(exc.strerror or str(exc)) from exc


def _gunzip(raw: BinaryIO) -> Iterator[bytes]:
    """Decompress gzip members one after another, as gzip does, yielding what each decodes.

    zlib itself, not the gzip module: gzip.read() drops everything it decoded in a call that
    meets the end of a file cut short, which made "after line N" fall short by up to a block.
    """
    member = zlib.decompressobj(_GZIP_WBITS)
    for piece in _read(raw, _GZIP_PIECE_BYTES):
        while piece:
            if member.eof:
                # gzip accepts zero bytes of padding after a member, and another member.
                piece = piece.lstrip(b"\0")
                if not piece:
                    break
                member = zlib.decompressobj(_GZIP_WBITS)
            before = member.copy()
            try:
                # At most one block at a time, so a small file of zeros cannot fill the memory.
                decoded = member.decompress(piece, _READ_BYTES)
            except zlib.error as exc:
                yield _decoded_before_the_break(before, piece)
                # zlib says "Error -3 while decompressing data: <reason>"; the reason is the news.
                reason = str(exc).rpartition(": ")[2]
                raise _Broken(f"the gzip data is corrupt (zlib: {reason})") from exc
            yield decoded
            piece = member.unused_data if member.eof else member.unconsumed_tail
    yield member.flush()
    if not member.eof:
        raise _Broken("the gzip data ends early (the file is cut short)")


def _decoded_before_the_break(member: Any, data: bytes) -> bytes:
    """What member decodes from data before zlib finds it corrupt.

    zlib keeps nothing of a call that fails, so this finds the longest prefix of data it
    accepts (a prefix fails exactly when it reaches the bad bits) and decodes that.
    """
    good, bad = 0, len(data)
    while bad - good > 1:
        middle = (good + bad) // 2
        try:
            member.copy().decompress(data[:middle])
        except zlib.error:
            bad = middle
        else:
            good = middle
    return member.decompress(data[:good])


def _line_blocks(chunks: Iterator[bytes]) -> Iterator[tuple[int, bytes, _Broken | None]]:
    """Yield (number of the first line, whole lines, None) in blocks of about _READ_BYTES.

    When the chunks break off, the last block holds the whole lines before the break and,
    instead of None, the break.
    """
    line = 1
    parts: list[bytes] = []
    size = 0
    broken = None
    try:
        for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size >= _READ_BYTES:
                data = b"".join(parts)
                end = data.rfind(b"\n") + 1
                parts, size = [data[end:]], len(data) - end
                if end:
                    yield line, data[:end], None
                    line += data.count(b"\n", 0, end)
    except _Broken as exc:
        broken = exc
    data = b"".join(parts)
    end = data.rfind(b"\n") + 1
    if end or broken is not None:
        yield line, data[:end], broken
    # A last line without its newline is whole when the file ends cleanly.
    if broken is None and data[end:]:
        yield line + data.count(b"\n", 0, end), data[end:] + b"\n", None


def _check_lines(lines: bytes) -> tuple[int, str | None]:
    """How many lines of the block are good rows before the first bad one, and what is wrong
    with that one (None when all are good)."""
    expected = lines.count(b"\n")
    if not expected:
        return 0, None
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
            return expected, None
    for offset, line in enumerate(lines.split(b"\n")[:expected]):
        problem = _line_problem(line.rstrip(b"\r"))
        if problem:
            return offset, problem
    return expected, None


def _line_problem(line: bytes) -> str | None:
    """Say what is wrong with one line, or None when it is a valid SUSY row."""
    if not line:
        return f"empty line (expected {len(SUSY_COLUMNS)} comma-separated numbers)"
    cells = line.split(b",")
    if len(cells) != len(SUSY_COLUMNS):
        return (
            f"expected {len(SUSY_COLUMNS)} comma-separated columns (the 0/1 label and "
            f"{len(SUSY_COLUMNS) - 1} features), found {len(cells)}"
        )
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
