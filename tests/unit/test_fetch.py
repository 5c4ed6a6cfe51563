"""`sparksweep data fetch` against a local HTTP server on 127.0.0.1 serving small SUSY-shaped
files: success from a zip, a gzip and a plain CSV, and each refusal (wrong hash, cut-off
download, HTTP 404, not SUSY) with one line, a non-zero exit and nothing left in data/."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sparksweep.cli import main
from sparksweep.data import fetch, generate

REAL_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "SUSY-sample-10k.csv"
ROWS = 300


@pytest.fixture(scope="module")
def susy_gz(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("susy") / "susy.csv.gz"
    generate(path, rows=ROWS, seed=5)
    return path.read_bytes()


def zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


class Server:
    """Serves path -> (body, announced length) on 127.0.0.1; any other path is a 404."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, int]] = {}
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path not in files:
                    self.send_error(404, "Not Found")
                    return
                body, length = files[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                # HTTP/1.0: the connection closes after the body, however short it is.
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}{path}"

    def serve(self, path: str, body: bytes, length: int | None = None) -> str:
        self.files[path] = (body, len(body) if length is None else length)
        return self.url(path)

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as running:
        yield running


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    # Something that was there before, which a failed fetch must leave as the only file.
    (folder / "README.md").write_text("data\n")
    return folder


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def fetch_cli(url: str, data_dir: Path, *more: str) -> int:
    return main(["data", "fetch", "--url", url, "--data-dir", str(data_dir), *more])


@pytest.mark.parametrize("shape", ["zip of csv.gz", "csv.gz", "zip of csv", "csv"])
def test_fetch_unpacks_checks_and_validates_into_susy_csv_gz(
    shape: str,
    susy_gz: bytes,
    server: Server,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv = gzip.decompress(susy_gz)
    body = {
        "zip of csv.gz": zipped("SUSY.csv.gz", susy_gz),
        "csv.gz": susy_gz,
        "zip of csv": zipped("SUSY.csv", csv),
        "csv": csv,
    }[shape]
    url = server.serve("/susy", body)

    assert fetch_cli(url, data_dir, "--sha256", sha(body).upper()) == 0

    target = data_dir / "SUSY.csv.gz"
    assert gzip.decompress(target.read_bytes()) == csv
    assert sorted(p.name for p in data_dir.iterdir()) == ["README.md", "SUSY.csv.gz"]
    out = capsys.readouterr().out
    assert f"sha256 {sha(body)}: as expected" in out
    assert f"wrote {target}: {ROWS} rows, valid" in out
    # Not a terminal: the download's progress is plain lines.
    assert f"download: {len(body) / 1e6:.1f} of {len(body) / 1e6:.1f} MB" in out


def test_fetch_of_the_real_sample(
    server: Server, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not REAL_SAMPLE.is_file():
        pytest.skip(f"{REAL_SAMPLE} is not here (it lives in the workplace's shared/ only)")
    body = zipped("SUSY.csv.gz", gzip.compress(REAL_SAMPLE.read_bytes()))
    url = server.serve("/susy.zip", body)

    assert fetch_cli(url, data_dir, "--sha256", sha(body)) == 0

    assert "10000 rows, valid" in capsys.readouterr().out


def test_the_default_url_prints_the_hash_it_could_not_check(
    susy_gz: bytes,
    server: Server,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = zipped("SUSY.csv.gz", susy_gz)
    monkeypatch.setattr(fetch, "SUSY_URL", server.serve("/static/public/279/susy.zip", body))

    assert main(["data", "fetch", "--data-dir", str(data_dir)]) == 0

    out = capsys.readouterr().out
    assert f"sha256 {sha(body)}: not checked, no hash given" in out
    assert f"sparksweep data fetch --sha256 {sha(body)}" in out
    assert (data_dir / "SUSY.csv.gz").is_file()

    # A second fetch finds the file and downloads nothing.
    server.files.clear()
    assert main(["data", "fetch", "--data-dir", str(data_dir)]) == 0
    assert "is already there; --force fetches it again" in capsys.readouterr().out


def refused(code: int, capsys: pytest.CaptureFixture[str], data_dir: Path) -> str:
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("sparksweep: error: ")
    assert [p.name for p in data_dir.iterdir()] == ["README.md"]
    return err[0]


def test_a_wrong_hash_is_refused(
    susy_gz: bytes, server: Server, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.serve("/susy.zip", zipped("SUSY.csv.gz", susy_gz))

    line = refused(fetch_cli(url, data_dir, "--sha256", "0" * 64), capsys, data_dir)

    assert f"is not the expected {'0' * 64}; nothing written" in line


def test_a_cut_off_download_is_refused(
    susy_gz: bytes, server: Server, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = zipped("SUSY.csv.gz", susy_gz)
    url = server.serve("/susy.zip", body[:1000], length=len(body))

    line = refused(fetch_cli(url, data_dir, "--sha256", sha(body)), capsys, data_dir)

    assert f"cut off after 1000 of {len(body)} bytes; nothing written, try again" in line


def test_an_http_error_is_refused(
    server: Server, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url("/missing.zip")

    line = refused(fetch_cli(url, data_dir, "--sha256", "a" * 64), capsys, data_dir)

    assert f"{url}: HTTP 404 Not Found; nothing written" in line


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (zipped("SUSY.csv.gz", b"\x1f\x8b broken"), "does not hold a SUSY CSV"),
        (gzip.compress(b"label,pt\n1,2\n"), "does not hold a SUSY CSV: line 1: expected 19"),
        (zipped("notes.txt", b"hello"), "the zip should hold one SUSY .csv.gz or .csv file"),
    ],
)
def test_a_download_that_is_not_susy_is_refused(
    body: bytes,
    expected: str,
    server: Server,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = server.serve("/other", body)

    assert expected in refused(fetch_cli(url, data_dir, "--sha256", sha(body)), capsys, data_dir)


def test_another_url_needs_a_hash(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(fetch_cli("http://127.0.0.1:9/x.zip", data_dir), capsys, data_dir)

    assert "--url needs --sha256 HEX" in line


def test_a_malformed_hash_is_a_usage_error(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refused(fetch_cli("http://127.0.0.1:9/x", data_dir, "--sha256", "abc"), capsys, data_dir)

    assert "'abc' is not a sha256: 64 hexadecimal digits" in line
