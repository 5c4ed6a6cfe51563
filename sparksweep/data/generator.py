"""The synthetic SUSY generator: per-class quantile functions and a Gaussian copula.

Its model is data, in susy_model.json beside this file, with a note on how it was fitted.
"""

import functools
import gzip
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from sparksweep.data.columns import FEATURE_COLUMNS, SUSY_COLUMNS
from sparksweep.errors import DataError
from sparksweep.results import atomic_write, unwritable_reason


class _Model:
    """susy_model.json, ready to draw from."""

    def __init__(self, model: dict[str, Any]) -> None:
        if list(model["quantiles"]) != FEATURE_COLUMNS:
            raise ValueError("susy_model.json's quantiles do not follow SUSY's feature columns")
        self.signal_share: float = model["signal_share"]
        self.inverse_cdf = self._inverse_cdfs(model)
        self.cholesky = tuple(np.linalg.cholesky(np.array(m)) for m in model["correlation"])

    @staticmethod
    def _inverse_cdfs(model: dict[str, Any]) -> dict[tuple[str, int], tuple[np.ndarray, ...]]:
        """Knots (normal score, value) per (feature, class) for numpy.interp.

        Below an atom at zero only the atom's own knot is kept: numpy.interp holds the first
        value to the left of the first knot, so every score under the atom maps to exactly 0.0.
        """
        knots_z = np.array(model["knots_z"])
        knots: dict[tuple[str, int], tuple[np.ndarray, ...]] = {}
        for name, per_class in model["quantiles"].items():
            for cls, quantiles in enumerate(per_class):
                values = np.array(quantiles)
                if name in model["zero_atom_z"]:
                    atom = model["zero_atom_z"][name][cls]
                    above = atom < knots_z
                    knots[name, cls] = (
                        np.concatenate(([atom], knots_z[above])),
                        np.concatenate(([0.0], values[above])),
                    )
                else:
                    knots[name, cls] = (knots_z, values)
        return knots


@functools.cache
def _model() -> _Model:
    text = resources.files("sparksweep.data").joinpath("susy_model.json").read_text("utf-8")
    return _Model(json.loads(text))


# Rows are drawn in fixed blocks, each from its own stream seeded by (seed, block number), so
# a file does not depend on chunk_rows and a shorter file is a prefix of a longer one.
_BLOCK_ROWS = 10_000
# Level 1 compresses 3x faster than the default 6 for a 7% larger file; generation is
# CPU-bound and runs once per data set.
_GZIP_LEVEL = 1


def generate(out: Path, rows: int, seed: int = 0, chunk_rows: int = 100_000) -> Path:
    """Write `rows` synthetic SUSY rows to `out` (gzip when it ends in .gz) and return it.

    The file has SUSY's own format: no header, 19 comma-separated numbers per line, the 0/1
    label first. The same seed gives a byte-identical file whatever chunk_rows is; memory
    grows with chunk_rows, not with rows.
    """
    if rows < 1:
        raise DataError(f"cannot generate {rows} rows: ask for at least 1")
    if seed < 0:
        raise DataError(f"seed {seed} is negative: use a seed >= 0")
    if chunk_rows < 1:
        raise DataError(f"chunk_rows {chunk_rows} must be at least 1")
    if out.is_dir():
        raise DataError(
            f"{out} is a folder: name the file to write, like {out / 'synthetic.csv.gz'}"
        )
    reason = unwritable_reason(out.parent)
    if reason is not None:
        raise DataError(f"cannot write {out}: {reason}; choose another path")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(out) as raw:
            if out.name.endswith(".gz"):
                # No file name and mtime 0 in the gzip header keep the bytes reproducible.
                with gzip.GzipFile(
                    filename="", mode="wb", compresslevel=_GZIP_LEVEL, fileobj=raw, mtime=0
                ) as zipped:
                    _write_rows(zipped, rows, seed, chunk_rows)
            else:
                _write_rows(raw, rows, seed, chunk_rows)
    except OSError as exc:
        # The file name in exc is often the temporary file beside out, which the user never
        # named; the folder is what to change.
        raise DataError(
            f"cannot write {out}: {exc.strerror or exc} in {out.parent}; choose another path"
        ) from exc
    return out


def _write_rows(sink: BinaryIO, rows: int, seed: int, chunk_rows: int) -> None:
    for chunk in _chunks(rows, seed, chunk_rows):
        # repr is the shortest text that reads back as the same double, as in the real file.
        text = "".join([",".join(map(repr, row)) + "\n" for row in chunk.tolist()])
        sink.write(text.encode("ascii"))


def _chunks(rows: int, seed: int, chunk_rows: int) -> Iterator[np.ndarray]:
    """Yield the file's rows in arrays of at most chunk_rows rows."""
    pending: list[np.ndarray] = []
    pending_rows = 0
    for block_number, start in enumerate(range(0, rows, _BLOCK_ROWS)):
        block = _draw_block(seed, block_number)[: rows - start]
        while len(block):
            take = min(chunk_rows - pending_rows, len(block))
            pending.append(block[:take])
            pending_rows += take
            block = block[take:]
            if pending_rows == chunk_rows:
                yield np.concatenate(pending)
                pending, pending_rows = [], 0
    if pending:
        yield np.concatenate(pending)


def _draw_block(seed: int, block_number: int) -> np.ndarray:
    model = _model()
    rng = np.random.default_rng([seed, block_number])
    signal = rng.random(_BLOCK_ROWS) < model.signal_share
    scores = rng.standard_normal((_BLOCK_ROWS, len(FEATURE_COLUMNS)))
    block = np.empty((_BLOCK_ROWS, len(SUSY_COLUMNS)))
    block[:, 0] = signal
    for cls, members in enumerate((~signal, signal)):
        correlated = scores[members] @ model.cholesky[cls].T
        for j, name in enumerate(FEATURE_COLUMNS):
            knots, values = model.inverse_cdf[name, cls]
            block[members, j + 1] = np.interp(correlated[:, j], knots, values)
    # The real features passed through single precision: round the same way.
    block[:, 1:] = block[:, 1:].astype(np.float32)
    return block


# Bumped whenever the drawing code changes what a (rows, seed) pair yields.
_GENERATOR_VERSION = 1
# Rows per Parquet file: a few files let Spark read them in parallel; each is one chunk.
_PARQUET_FILE_ROWS = 1_000_000


def synthetic_fingerprint(rows: int, seed: int) -> str:
    """sha256:<hex> of what the synthetic set is made from: model, generator, rows and seed.

    The generator is deterministic, so this names its content as a file's hash would, without
    writing the file first.
    """
    model = resources.files("sparksweep.data").joinpath("susy_model.json").read_bytes()
    recipe = json.dumps(
        {
            "generator": _GENERATOR_VERSION,
            "model_sha256": hashlib.sha256(model).hexdigest(),
            "rows": rows,
            "seed": seed,
        },
        sort_keys=True,
    )
    return "sha256:" + hashlib.sha256(recipe.encode()).hexdigest()


def generate_parquet(parquet_dir: Path, rows: int, seed: int = 0) -> tuple[Path, bool]:
    """Write the synthetic set straight into the Parquet cache; return (folder, written).

    The folder is parquet_dir/<fingerprint hex>, the layout prepare.py gives a converted CSV,
    so the job reads either the same way. The rows are the ones generate() writes as CSV. They
    are valid by construction, so no check pass is needed. A folder that exists already holds
    the same content and is reused; a new one appears only once complete.
    """
    if rows < 1:
        raise DataError(f"cannot generate {rows} rows: ask for at least 1")
    if seed < 0:
        raise DataError(f"seed {seed} is negative: use a seed >= 0")
    reason = unwritable_reason(parquet_dir)
    if reason is not None:
        raise DataError(f"cannot write under {parquet_dir}: {reason}; choose another folder")
    target = parquet_dir / synthetic_fingerprint(rows, seed).removeprefix("sha256:")
    if target.is_dir():
        return target, False
    # Imported here: only this writer needs pyarrow, and it is slow to import.
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(name, pa.float64(), nullable=False) for name in SUSY_COLUMNS])
    partial = parquet_dir / f".{target.name}.{os.getpid()}.partial"
    try:
        partial.mkdir(parents=True, exist_ok=False)
        for number, chunk in enumerate(_chunks(rows, seed, _PARQUET_FILE_ROWS)):
            columns = [pa.array(chunk[:, j]) for j in range(chunk.shape[1])]
            table = pa.Table.from_arrays(columns, schema=schema)
            # Readable by the containers' non-root user whatever the caller's umask.
            part = partial / f"part-{number:05d}.parquet"
            pq.write_table(table, part, compression="snappy")
            part.chmod(0o644)
        partial.chmod(0o755)
        partial.rename(target)
    except OSError as exc:
        if target.is_dir():
            # Another writer of the same content finished first; its folder is as good.
            return target, False
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        raise DataError(
            f"cannot write under {parquet_dir}: {reason}{where}; choose a writable folder"
        ) from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target, True


def synthetic_name(rows: int, seed: int) -> str:
    """File name of the generated data set for (rows, seed)."""
    return f"synthetic-{rows}-s{seed}.csv.gz"
