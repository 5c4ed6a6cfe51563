"""Bad input to the command line, one case per row of the README's "Bad input" table.

Each case runs `python -m sparksweep` as a user would and checks what the table promises:
one line on stderr naming what is wrong and how to fix it, a non-zero exit, no traceback,
and nothing created, changed or deleted in data/, results/ or the folder of the input.
The preflight's cases (ansible-playbook) are in tests/integration/test_cluster_inputs.py.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sparksweep import data
from sparksweep.data import checker
from sparksweep.errors import DataError
from sparksweep.lock import LOCK_ENV
from sparksweep.plan import WORKERS_FORM
from tests.filesystem import a_file, snapshot, unwritable_folder

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "results"
GOOD = (
    "1.0,0.97,0.65,1.12,1.77,-0.33,-1.15,0.46,0.79,0.55,-0.02,0.88,1.02,0.68,0.0,0.81,0.89,"
    "0.27,0.01"
)
# A gzip of this many rows is a few MiB: several of the checker's compressed pieces.
GZIP_ROWS = 20_000


def lines_file(name: str, lines: list[str]) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_text("".join(line + "\n" for line in lines))
        return path

    return make


def whole_lines_before(raw: bytes) -> int:
    """Lines a gzip's bytes hold whole, by zlib alone: the reference for "after line N"."""
    return zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(raw).count(b"\n")


def generated_gzip(tmp: Path, rows: int = GZIP_ROWS) -> bytes:
    return data.generate(tmp / "whole.csv.gz", rows, seed=3).read_bytes()


def truncated_gzip(tmp: Path) -> Path:
    raw = generated_gzip(tmp)
    path = tmp / "cut.csv.gz"
    path.write_bytes(raw[: len(raw) * 2 // 3])
    return path


def corrupt_gzip(tmp: Path) -> Path:
    raw = bytearray(generated_gzip(tmp))
    middle = len(raw) // 2
    raw[middle : middle + 4096] = bytes(range(256)) * 16
    path = tmp / "corrupt.csv.gz"
    path.write_bytes(bytes(raw))
    return path


def sweep_copy(tmp: Path, old: str = "", new: str = "") -> Path:
    sweep = Path(shutil.copytree(FIXTURES / "good", tmp / "sweep"))
    run = sweep / "runs" / "w1-r1.json"
    text = run.read_text()
    assert old in text
    run.write_text(text.replace(old, new))
    return sweep


def read_only_sweep(tmp: Path) -> Path:
    sweep = sweep_copy(tmp)
    sweep.chmod(0o555)
    if os.access(sweep, os.W_OK):
        pytest.skip("root writes into a folder without write permission anyway")
    return sweep


@dataclass(frozen=True)
class Case:
    id: str
    # Builds the input in a fresh folder and returns the command's arguments.
    args: Callable[[Path], list[str]]
    # What the one line says, given the input's folder.
    says: Callable[[Path], str]
    # A second part of it, where the text between the two varies.
    also: str = ""


def data_check(make: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    return lambda tmp: ["data", "check", str(make(tmp))]


def generate_to(out: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    return lambda tmp: ["data", "generate", "--rows", "10", "--out", str(out(tmp))]


CASES = [
    Case(
        "data-check-missing-file",
        data_check(lambda tmp: tmp / "SUSY.csv.gz"),
        lambda tmp: f"{tmp}/SUSY.csv.gz: no such file; check the path, or write one with "
        "'sparksweep data generate --rows N --out FILE'",
    ),
    Case(
        "data-check-empty-file",
        data_check(lines_file("empty.csv", [])),
        lambda tmp: f"{tmp}/empty.csv: no rows (expected lines of 19 comma-separated numbers); "
        "name a data file that holds some",
    ),
    Case(
        "data-check-18-columns",
        data_check(lines_file("short.csv", [GOOD, GOOD.rsplit(",", 1)[0]])),
        lambda tmp: f"{tmp}/short.csv: line 2: expected 19 comma-separated columns (the 0/1 "
        "label and 18 features), found 18; correct or remove that line",
    ),
    Case(
        "data-check-20-columns",
        data_check(lines_file("long.csv", [GOOD, GOOD, GOOD + ",0.5"])),
        lambda tmp: f"{tmp}/long.csv: line 3: expected 19 comma-separated columns (the 0/1 "
        "label and 18 features), found 20; correct or remove that line",
    ),
    Case(
        "data-check-non-numeric-cell",
        data_check(lines_file("cell.csv", [GOOD, GOOD.replace("0.46", "n/a")])),
        lambda tmp: f"{tmp}/cell.csv: line 2: column 8 (missing_energy_magnitude) is 'n/a', "
        "not a number; correct or remove that line",
    ),
    Case(
        "data-check-header-row",
        data_check(lines_file("header.csv", [",".join(data.SUSY_COLUMNS), GOOD])),
        lambda tmp: f"{tmp}/header.csv: line 1: column 1 (label) is 'label', not a number "
        "(SUSY files have no header row); correct or remove that line",
    ),
    Case(
        "data-check-gzip-truncated",
        data_check(truncated_gzip),
        lambda tmp: f"{tmp}/cut.csv.gz: cannot be read after line "
        f"{whole_lines_before((tmp / 'cut.csv.gz').read_bytes())}: the gzip data ends early "
        "(the file is cut short); copy or generate the file again",
    ),
    Case(
        "data-check-gzip-corrupt-mid-stream",
        data_check(corrupt_gzip),
        lambda tmp: f"{tmp}/corrupt.csv.gz: cannot be read after line ",
        also="the gzip data is corrupt (zlib: ",
    ),
    Case(
        "data-generate-out-a-folder",
        generate_to(lambda tmp: tmp),
        lambda tmp: f"{tmp} is a folder: name the file to write, like {tmp}/synthetic.csv.gz",
    ),
    Case(
        "data-generate-out-unwritable",
        generate_to(lambda tmp: unwritable_folder(tmp) / "synthetic.csv.gz"),
        lambda tmp: f"cannot write {unwritable_folder(tmp)}/synthetic.csv.gz: "
        f"{unwritable_folder(tmp)} is not writable; choose another path",
    ),
    Case(
        "data-generate-out-under-a-file",
        generate_to(lambda tmp: a_file(tmp) / "synthetic.csv.gz"),
        lambda tmp: f"cannot write {tmp}/a-file/synthetic.csv.gz: {tmp}/a-file is a file, "
        "not a folder; choose another path",
    ),
    Case(
        "report-run-json-1e400",
        lambda tmp: ["report", str(sweep_copy(tmp, '"fit_s": 122.4', '"fit_s": 1e400'))],
        lambda tmp: f'{tmp}/sweep/runs/w1-r1.json: line 29: "fit_s": 1e400 is beyond a '
        "double's range; delete the file and resume the sweep to run w1-r1 again",
    ),
    Case(
        "report-run-json-workers-100000",
        lambda tmp: ["report", str(sweep_copy(tmp, '"workers": 1,', '"workers": 100000,'))],
        lambda tmp: f"{tmp}/sweep/runs/w1-r1.json: does not match the run schema at "
        "$.workers: 100000 is greater than the maximum of 1024; delete the file and resume "
        "the sweep to run w1-r1 again",
    ),
    Case(
        "report-run-json-nan-cost",
        lambda tmp: ["report", str(sweep_copy(tmp, '"cost": 1834520.25', '"cost": NaN'))],
        lambda tmp: f'{tmp}/sweep/runs/w1-r1.json: line 25: "cost": NaN is not a JSON '
        "number; delete the file and resume the sweep to run w1-r1 again",
    ),
    Case(
        "report-folder-not-writable",
        lambda tmp: ["report", str(read_only_sweep(tmp))],
        lambda tmp: f"cannot write the report into {tmp}/sweep: Permission denied; make the "
        "folder writable, or report on a copy of the sweep in a folder you can write",
    ),
    Case(
        "run-workers-0",
        lambda tmp: ["run", "--workers", "0"],
        lambda tmp: "argument --workers: worker counts start at 1, got 0 "
        "(see 'sparksweep run --help')",
    ),
    Case(
        "run-workers-minus-1",
        lambda tmp: ["run", "--workers", "-1"],
        lambda tmp: f"argument --workers: expected {WORKERS_FORM}, got '-1' "
        "(see 'sparksweep run --help')",
    ),
    Case(
        "run-workers-abc",
        lambda tmp: ["run", "--workers", "abc"],
        lambda tmp: f"argument --workers: expected {WORKERS_FORM}, got 'abc' "
        "(see 'sparksweep run --help')",
    ),
    Case(
        "run-workers-1000000",
        lambda tmp: ["run", "--workers", "1000000"],
        lambda tmp: "argument --workers: a worker count goes up to 16 "
        "(sparksweep_workers_max), got 1000000 (see 'sparksweep run --help')",
    ),
    Case(
        "run-workers-listed-twice",
        lambda tmp: ["run", "--workers", "1,2,2"],
        lambda tmp: "argument --workers: worker count 2 is listed twice in '1,2,2'; list it "
        "once (see 'sparksweep run --help')",
    ),
    Case(
        "run-workers-descending",
        lambda tmp: ["run", "--workers", "4,2,1"],
        lambda tmp: "argument --workers: worker counts must be ascending: 2 comes after 4 in "
        "'4,2,1' (see 'sparksweep run --help')",
    ),
    Case(
        "run-workers-range-descending",
        lambda tmp: ["run", "--workers", "8-1"],
        lambda tmp: "argument --workers: worker counts must be ascending: the range 8-1 in "
        "'8-1' goes down (write 1-8) (see 'sparksweep run --help')",
    ),
    Case(
        "run-workers-arabic-indic-digit",
        lambda tmp: ["run", "--workers", "\u0663"],
        lambda tmp: f"argument --workers: expected {WORKERS_FORM}, got '\u0663' "
        "(see 'sparksweep run --help')",
    ),
    Case(
        "run-workers-underscore",
        lambda tmp: ["run", "--workers", "1_0"],
        lambda tmp: f"argument --workers: expected {WORKERS_FORM}, got '1_0' "
        "(see 'sparksweep run --help')",
    ),
    Case(
        "run-repeats-underscore",
        lambda tmp: ["run", "--workers", "2", "--repeats", "1_0"],
        lambda tmp: "argument --repeats: expected an integer of at least 1, got '1_0' "
        "(see 'sparksweep run --help')",
    ),
    Case(
        "run-seed-without-random-order",
        lambda tmp: ["run", "--workers", "2", "--seed", "3"],
        lambda tmp: "--seed shuffles the runs of --order random only; drop it, or add "
        "--order random",
    ),
    Case(
        "run-results-dir-not-writable",
        lambda tmp: ["run", "--workers", "1", "--results-dir", str(unwritable_folder(tmp))],
        lambda tmp: f"argument --results-dir: cannot write the results into "
        f"{unwritable_folder(tmp)}: {unwritable_folder(tmp)} is not writable; choose another "
        "folder (see 'sparksweep run --help')",
    ),
    Case(
        "run-inventory-missing",
        lambda tmp: ["run", "--workers", "1", "--inventory", f"{tmp}/nowhere.yml"],
        lambda tmp: f"argument --inventory: no inventory file at {tmp}/nowhere.yml "
        "(see 'sparksweep run --help')",
    ),
    Case(
        "run-inventory-without-group-vars",
        lambda tmp: ["run", "--workers", "1", "--inventory", str(a_file(tmp))],
        lambda tmp: f"argument --inventory: {tmp}/a-file has no group_vars/all.yml beside it, "
        "where Ansible reads the project's settings: put the file in "
        f"{REPO_ROOT / 'inventory'}, or link that folder's group_vars/ beside it "
        "(see 'sparksweep run --help')",
    ),
    Case(
        "run-results-dir-under-a-file",
        lambda tmp: ["run", "--workers", "1", "--results-dir", str(a_file(tmp) / "results")],
        lambda tmp: f"argument --results-dir: cannot write the results into "
        f"{tmp}/a-file/results: {tmp}/a-file is a file, not a folder; choose another folder "
        "(see 'sparksweep run --help')",
    ),
]


@pytest.fixture
def lock_held_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """An environment whose sweep lock this test holds.

    Should a `run` case ever pass validation, its runner is refused at once instead of
    starting a sweep on the machine's Docker Engine.
    """
    path = tmp_path_factory.mktemp("lock") / "sparksweep.lock"
    with path.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield {**os.environ, LOCK_ENV: str(path)}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused(
    case: Case, tmp_path: Path, lock_held_elsewhere: dict[str, str]
) -> None:
    tmp = tmp_path / "input"
    tmp.mkdir()
    args = case.args(tmp)
    watched = (REPO_ROOT / "data", REPO_ROOT / "results", tmp)
    before = snapshot(*watched)

    done = subprocess.run(
        [sys.executable, "-m", "sparksweep", *args],
        cwd=REPO_ROOT,
        env=lock_held_elsewhere,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("sparksweep: error: ")
    assert case.says(tmp) in line
    assert case.also in line
    assert snapshot(*watched) == before, "a refused command changed files"


def test_truncated_gzip_names_the_last_whole_line_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The N of "after line N" is the number of whole lines decoded before the cut.

    It used to fall short by whatever the gzip module had decoded in its last read (72,662
    reported when 90,003 lines could be read). Small blocks and pieces put many of their
    edges among the cuts.
    """
    monkeypatch.setattr(checker, "_READ_BYTES", 64 * 1024)
    monkeypatch.setattr(checker, "_GZIP_PIECE_BYTES", 16 * 1024)
    raw = generated_gzip(tmp_path, rows=5_000)
    cut = tmp_path / "cut.csv.gz"
    for length in (11, 20, 1_000, 16 * 1024, 16 * 1024 + 1, len(raw) // 3, len(raw) - 8):
        cut.write_bytes(raw[:length])
        readable = whole_lines_before(raw[:length])

        with pytest.raises(DataError) as refused:
            data.validate_csv(cut)

        assert f"cannot be read after line {readable}: the gzip data ends early" in str(
            refused.value
        ), length
    assert whole_lines_before(raw) == 5_000


def test_a_gzip_of_two_members_with_padding_is_read_whole(tmp_path: Path) -> None:
    # gzip -c a b > ab.gz and tape padding are both valid gzip; the reader must not call
    # them broken.
    member = gzip.compress(f"{GOOD}\n".encode() * 3)
    path = tmp_path / "two.csv.gz"
    path.write_bytes(member + b"\0" * 10 + member)

    assert data.validate_csv(path) == 6
