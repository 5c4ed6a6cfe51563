"""Fetch the real SUSY set: download it, check its sha256, unpack it to data/SUSY.csv.gz and
validate it, so that data/ holds either the whole checked file or nothing new.

The standard library's urllib does the download; the caller shows its progress through a
callback.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sparksweep import __version__
from sparksweep.data.checker import validate_csv
from sparksweep.errors import DataError
from sparksweep.results import atomic_write

# The UCI Machine Learning Repository's download of data set 279, SUSY: a zip that holds
# SUSY.csv.gz (https://archive.ics.uci.edu/dataset/279/susy).
SUSY_URL = "https://archive.ics.uci.edu/static/public/279/susy.zip"
# The name roles/spark_job/tasks/data.yml looks for in data/.
SUSY_NAME = "SUSY.csv.gz"
_CHUNK = 1024 * 1024
# The whole set is about 2.4 GB of CSV; level 1 compresses it several times faster than the
# default 6, for a slightly larger file, when a download comes as plain CSV.
_GZIP_LEVEL = 1

# Bytes received so far, and the size the server announced (None when it did not).
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class Fetched:
    path: Path
    sha256: str
    bytes: int
    rows: int


def fetch(
    url: str,
    data_dir: Path,
    sha256: str | None = None,
    progress: Progress | None = None,
    note: Callable[[str], None] | None = None,
    timeout: float = 60.0,
) -> Fetched:
    """Download url, check it against sha256 (when given), unpack a zip or gzip of a SUSY
    CSV to data_dir/SUSY.csv.gz and validate it; return what was written.

    The download goes to a temporary file in data_dir and the unpacked file replaces
    SUSY.csv.gz by a rename at the very end, so a wrong hash, a cut-off download, an HTTP
    error or a file that is not SUSY raises DataError and leaves nothing in data_dir.
    note, when given, hears what happens between the download and the end.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / SUSY_NAME
    fd, name = tempfile.mkstemp(dir=data_dir, prefix=f".{SUSY_NAME}.", suffix=".download")
    download = Path(name)
    rows = 0

    def validate(unpacked: Path) -> None:
        nonlocal rows
        try:
            rows = validate_csv(unpacked)
        except DataError as exc:
            detail = str(exc).replace(f"{unpacked}: ", "")
            raise DataError(f"{url} does not hold a SUSY CSV: {detail}; nothing written") from exc

    try:
        with open(fd, "wb") as sink:
            digest, size = _download(url, sink, progress, timeout)
        if sha256 is not None and digest != sha256.lower():
            raise DataError(
                f"{url}: sha256 {digest} is not the expected {sha256.lower()}; "
                "nothing written (a changed or corrupted file: check the URL and the hash)"
            )
        if note:
            note(f"sha256 {digest}: {'as expected' if sha256 else 'not checked, no hash given'}")
            note(f"unpacking to {target} and validating every row")
        with atomic_write(target, check=validate) as handle:
            _unpack(url, download, handle)
    finally:
        download.unlink(missing_ok=True)
    return Fetched(path=target, sha256=digest, bytes=size, rows=rows)


def _download(
    url: str, sink: BinaryIO, progress: Progress | None, timeout: float
) -> tuple[str, int]:
    """Copy url's body into sink; return its sha256 and its size."""
    request = urllib.request.Request(url, headers={"User-Agent": f"sparksweep/{__version__}"})
    digest = hashlib.sha256()
    received = 0
    total: int | None = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
            if progress:
                progress(0, total)
            while chunk := response.read(_CHUNK):
                sink.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress:
                    progress(received, total)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}; nothing written") from exc
    except urllib.error.URLError as exc:
        raise DataError(f"{url}: cannot download: {exc.reason}; nothing written") from exc
    except http.client.IncompleteRead as exc:
        raise DataError(
            f"{url}: the download was cut off after {received + len(exc.partial)} bytes; "
            "nothing written, try again"
        ) from exc
    except (http.client.HTTPException, OSError) as exc:
        raise DataError(
            f"{url}: the download failed after {received} bytes: {exc}; nothing written"
        ) from exc
    # http.client ends a body that the server cut short as if it were complete.
    if total is not None and received != total:
        raise DataError(
            f"{url}: the download was cut off after {received} of {total} bytes; "
            "nothing written, try again"
        )
    return digest.hexdigest(), received


def _unpack(url: str, download: Path, sink: BinaryIO) -> None:
    """Write download into sink as a gzipped CSV: a zip's one CSV member (gzipped or not),
    a gzip file as it is, anything else as a plain CSV to compress."""
    with download.open("rb") as probe:
        magic = probe.read(4)
    if magic == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(download) as archive:
                member = _csv_member(url, archive)
                with archive.open(member) as source:
                    _copy_gzipped(source, sink, member.endswith(".gz"))
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            raise DataError(f"{url}: a broken zip archive: {exc}; nothing written") from exc
    else:
        with download.open("rb") as source:
            _copy_gzipped(source, sink, magic[:2] == b"\x1f\x8b")


def _csv_member(url: str, archive: zipfile.ZipFile) -> str:
    names = [info.filename for info in archive.infolist() if not info.is_dir()]
    for suffix in (".csv.gz", ".csv"):
        found = [name for name in names if name.lower().endswith(suffix)]
        if len(found) == 1:
            return found[0]
    listed = ", ".join(names) or "nothing"
    raise DataError(
        f"{url}: the zip should hold one SUSY .csv.gz or .csv file, it holds {listed}; "
        "nothing written"
    )


def _copy_gzipped(source: BinaryIO, sink: BinaryIO, gzipped: bool) -> None:
    if gzipped:
        shutil.copyfileobj(source, sink, _CHUNK)
        return
    # mtime=0: the same CSV gives the same bytes, so its fingerprint (and its Parquet) stays.
    with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=_GZIP_LEVEL, mtime=0) as packed:
        shutil.copyfileobj(source, packed, _CHUNK)
