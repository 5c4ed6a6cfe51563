"""The synthetic SUSY generator, its model file and the CSV validator."""

import gzip
import json
import math
import tracemalloc
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sparksweep import data
from sparksweep.data import SUSY_COLUMNS, checker
from sparksweep.errors import DataError

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "SUSY-sample-10k.csv"
ROWS = 20_000
MT2 = SUSY_COLUMNS.index("mt2")


@pytest.fixture(scope="module")
def generated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return data.generate(tmp_path_factory.mktemp("gen") / "synthetic.csv", ROWS, seed=7)


@pytest.fixture(scope="module")
def generated(generated_file: Path) -> np.ndarray:
    return np.loadtxt(generated_file, delimiter=",")


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    if not SAMPLE.is_file():
        pytest.skip(f"real SUSY sample not found at {SAMPLE}")
    return np.loadtxt(SAMPLE, delimiter=",")


def column(table: np.ndarray, name: str) -> np.ndarray:
    return table[:, SUSY_COLUMNS.index(name)]


def test_susy_columns_are_label_then_18_features() -> None:
    assert len(SUSY_COLUMNS) == 19
    assert SUSY_COLUMNS[0] == "label"
    assert SUSY_COLUMNS[MT2] == "mt2"
    assert SUSY_COLUMNS[-1] == "cos_theta_r1"


def test_generated_file_has_susy_format(generated_file: Path) -> None:
    lines = generated_file.read_text().splitlines()

    assert len(lines) == ROWS
    assert {len(line.split(",")) for line in lines} == {19}
    # Labels are written as the real file writes them; a header would fail float().
    assert {line.split(",", 1)[0] for line in lines} == {"0.0", "1.0"}
    assert data.validate_csv(generated_file) == ROWS


def test_signal_share_is_about_46_percent(generated: np.ndarray) -> None:
    assert column(generated, "label").mean() == pytest.approx(0.4553, abs=0.015)


def test_mt2_is_exactly_zero_in_about_a_fifth_of_rows(generated: np.ndarray) -> None:
    mt2 = column(generated, "mt2")
    signal = column(generated, "label") == 1

    assert np.mean(mt2 == 0) == pytest.approx(0.217, abs=0.015)
    # The real sample: 17.6% of background and 26.6% of signal rows.
    assert np.mean(mt2[~signal] == 0) == pytest.approx(0.176, abs=0.02)
    assert np.mean(mt2[signal] == 0) == pytest.approx(0.266, abs=0.02)
    assert mt2.min() == 0.0


def test_features_stay_in_the_real_ranges(generated: np.ndarray) -> None:
    for name in ("lepton_1_pt", "lepton_2_pt", "missing_energy_magnitude", "m_r", "s_r", "r"):
        assert column(generated, name).min() > 0, name
    for name in ("lepton_1_phi", "lepton_2_phi", "missing_energy_phi"):
        # Standardised angles: uniform phi with unit variance spans +-sqrt(3).
        assert np.abs(column(generated, name)).max() <= math.sqrt(3) + 0.01, name
    for name in ("lepton_1_eta", "lepton_2_eta"):
        assert np.abs(column(generated, name)).max() <= 2.11, name
    cos_theta = column(generated, "cos_theta_r1")
    assert cos_theta.min() >= 0
    assert cos_theta.max() <= 1


def test_momenta_are_right_skewed(generated: np.ndarray) -> None:
    for name in ("lepton_1_pt", "lepton_2_pt", "missing_energy_magnitude", "met_rel"):
        assert stats.skew(column(generated, name)) > 1, name


def test_signal_and_background_differ(generated: np.ndarray) -> None:
    signal = column(generated, "label") == 1
    for name in ("lepton_1_pt", "missing_energy_magnitude", "m_tr_2"):
        values = column(generated, name)
        # The real means differ by 0.5 to 0.75 (background about 0.7, signal about 1.3).
        assert values[signal].mean() - values[~signal].mean() > 0.4, name


def test_same_seed_gives_the_same_bytes_whatever_the_chunk_size(tmp_path: Path) -> None:
    big_chunks = data.generate(tmp_path / "a.csv.gz", 25_000, seed=3)
    small_chunks = data.generate(tmp_path / "b.csv.gz", 25_000, seed=3, chunk_rows=7_000)
    other_seed = data.generate(tmp_path / "c.csv.gz", 25_000, seed=4)
    plain = data.generate(tmp_path / "d.csv", 25_000, seed=3, chunk_rows=12_345)

    assert big_chunks.read_bytes() == small_chunks.read_bytes()
    assert big_chunks.read_bytes() != other_seed.read_bytes()
    assert gzip.decompress(big_chunks.read_bytes()) == plain.read_bytes()


def test_a_shorter_file_is_a_prefix_of_a_longer_one(tmp_path: Path) -> None:
    short = data.generate(tmp_path / "short.csv", 12_000, seed=5).read_bytes()
    long = data.generate(tmp_path / "long.csv", 25_000, seed=5).read_bytes()

    assert long.startswith(short)


def test_gzip_name_gives_a_gzip_file(tmp_path: Path) -> None:
    out = data.generate(tmp_path / "nested" / "s.csv.gz", 100, seed=1)

    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert len(gzip.decompress(out.read_bytes()).splitlines()) == 100
    assert data.validate_csv(out) == 100


def test_generate_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    out.write_text("stale\n")

    data.generate(out, 50, seed=1)

    assert [p.name for p in tmp_path.iterdir()] == ["s.csv"]
    assert data.validate_csv(out) == 50


@pytest.mark.parametrize("rows", [0, -3])
def test_generate_refuses_fewer_than_one_row(tmp_path: Path, rows: int) -> None:
    with pytest.raises(DataError, match="at least 1"):
        data.generate(tmp_path / "s.csv", rows)
    assert list(tmp_path.iterdir()) == []


def test_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    def peak(rows: int) -> int:
        tracemalloc.start()
        try:
            data.generate(tmp_path / f"{rows}.csv", rows, seed=1, chunk_rows=5_000)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(10_000), peak(100_000)

    # Ten times the rows; memory that grew with them would be about ten times larger.
    assert large < 1.5 * small, (small, large)


GOOD = (
    "1.0,0.97,0.65,1.12,1.77,-0.33,-1.15,0.46,0.79,0.55,-0.02,0.88,1.02,0.68,0.0,0.81,0.89,"
    "0.27,0.01"
)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize(
    ("lines", "line_number", "problem"),
    [
        ([GOOD, GOOD, GOOD.rsplit(",", 1)[0]], 3, "(the 0/1 label and 18 features), found 18"),
        ([GOOD, GOOD + ",1.0"], 2, "found 20"),
        ([GOOD, GOOD.replace("0.46", "abc")], 2, "column 8 (missing_energy_magnitude) is 'abc'"),
        ([GOOD, GOOD.replace("0.46", "")], 2, "column 8 (missing_energy_magnitude) is ''"),
        ([GOOD, GOOD.replace("0.46", "nan")], 2, "is 'nan', not a number"),
        ([GOOD, GOOD, GOOD.replace("0.46", "1e999")], 3, "is '1e999', too large for a double"),
        ([GOOD, GOOD, GOOD, "2.0" + GOOD[3:]], 4, "label is '2.0', expected 0 or 1"),
        ([",".join(SUSY_COLUMNS), GOOD], 1, "no header row"),
        ([GOOD, "", GOOD], 2, "empty line"),
    ],
)
def test_validate_names_the_file_and_the_first_bad_line(
    tmp_path: Path, lines: list[str], line_number: int, problem: str
) -> None:
    path = write_lines(tmp_path / "bad.csv", lines)

    with pytest.raises(DataError) as raised:
        data.validate_csv(path)

    assert str(raised.value).startswith(f"{path}: line {line_number}: ")
    assert problem in str(raised.value)


def test_validate_refuses_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(DataError, match=r"empty\.csv: no rows"):
        data.validate_csv(path)


def test_validate_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"absent\.csv: no such file"):
        data.validate_csv(tmp_path / "absent.csv")


def test_validate_counts_lines_across_read_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Blocks of 1,000 bytes split lines between reads, as 8 MiB blocks do on real files.
    monkeypatch.setattr(checker, "_READ_BYTES", 1_000)
    lines = [GOOD] * 300
    good = write_lines(tmp_path / "good.csv", lines)
    no_final_newline = tmp_path / "tail.csv"
    no_final_newline.write_text("\n".join(lines))
    lines[250] = GOOD.replace("0.79", "0.7.9")
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))

    assert data.validate_csv(good) == 300
    assert data.validate_csv(no_final_newline) == 300
    with pytest.raises(
        DataError, match=r"bad\.csv\.gz: line 251: column 9 \(missing_energy_phi\) is '0\.7\.9'"
    ):
        data.validate_csv(bad)


def test_validate_refuses_a_truncated_gzip(tmp_path: Path) -> None:
    whole = data.generate(tmp_path / "whole.csv.gz", 2_000, seed=1).read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(DataError, match=r"cut\.csv\.gz: cannot be read after line"):
        data.validate_csv(cut)


def test_validate_accepts_the_real_sample() -> None:
    if not SAMPLE.is_file():
        pytest.skip(f"real SUSY sample not found at {SAMPLE}")
    assert data.validate_csv(SAMPLE) == 10_000


def test_the_model_file_is_a_valid_model() -> None:
    model = json.loads(resources.files("sparksweep.data").joinpath("susy_model.json").read_text())
    assert list(model["quantiles"]) == data.FEATURE_COLUMNS
    knots = len(model["knots_z"])
    for per_class in model["quantiles"].values():
        assert [len(q) for q in per_class] == [knots, knots]
        assert all(np.all(np.diff(q) >= 0) for q in per_class), "quantiles must not decrease"
    for matrix in map(np.array, model["correlation"]):
        assert matrix.shape == (len(data.FEATURE_COLUMNS),) * 2
        np.testing.assert_allclose(matrix, matrix.T)
        np.testing.assert_allclose(np.diag(matrix), 1.0)
        assert np.linalg.eigvalsh(matrix).min() > 0
    assert 0 < model["signal_share"] < 1


def test_each_column_matches_the_real_sample(generated: np.ndarray, sample: np.ndarray) -> None:
    """Two-sample Kolmogorov-Smirnov distance of every column, generated against real.

    The bound is the critical distance at alpha = 0.001 for these sample sizes,
    sqrt(-ln(0.0005) / 2) * sqrt((n + m) / (n m)): a second real sample of the generated size
    would exceed it in one column out of a thousand. The generator was fitted to this very
    sample, so its distances should sit well inside.
    """
    n, m = len(sample), len(generated)
    bound = math.sqrt(-math.log(0.0005) / 2) * math.sqrt((n + m) / (n * m))
    results = [stats.ks_2samp(sample[:, j], generated[:, j]) for j in range(len(SUSY_COLUMNS))]

    print(f"\nKS: {m:,} generated rows (seed 7) against {n:,} real; bound {bound:.4f}")
    print(f"{'column':<26} {'D':>7} {'p-value':>8}  real mean  gen mean")
    for j, (name, result) in enumerate(zip(SUSY_COLUMNS, results, strict=True)):
        print(
            f"{name:<26} {result.statistic:7.4f} {result.pvalue:8.3f}"
            f"  {sample[:, j].mean():9.4f} {generated[:, j].mean():9.4f}"
        )

    worst = {name: r.statistic for name, r in zip(SUSY_COLUMNS, results, strict=True)}
    assert max(worst.values()) < bound, worst


def test_a_gzip_corrupted_in_the_middle_is_one_clear_error(tmp_path: Path) -> None:
    good = data.generate(tmp_path / "good.csv.gz", 50_000, seed=5)
    raw = bytearray(good.read_bytes())
    middle = len(raw) // 2
    # These bytes break the deflate stream itself (zlib: "invalid code lengths set").
    raw[middle : middle + 4096] = (
        np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes()
    )
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(bytes(raw))

    with pytest.raises(DataError, match=r"bad\.csv\.gz: cannot be read after line .*invalid code"):
        data.validate_csv(bad)


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("", "is a folder: name the file to write"),
        ("a-file/x.csv", "a-file is a file, not a folder"),
    ],
)
def test_generate_refuses_a_path_it_cannot_write(tmp_path: Path, target: str, words: str) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DataError, match=words):
        data.generate(tmp_path / target, 10, seed=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_parquet_holds_the_rows_the_csv_holds(tmp_path: Path) -> None:
    """The Parquet cache gets the same numbers as the CSV: the CSV's text reads back to them."""
    pq = pytest.importorskip("pyarrow.parquet")
    rows = 23_456
    folder, written = data.generate_parquet(tmp_path / "parquet", rows=rows, seed=3)
    assert written
    assert folder.name == data.synthetic_fingerprint(rows, 3).removeprefix("sha256:")
    table = pq.read_table(folder)
    assert table.column_names == SUSY_COLUMNS
    from_parquet = np.column_stack([table.column(name).to_numpy() for name in SUSY_COLUMNS])
    csv = data.generate(tmp_path / "same.csv", rows=rows, seed=3)
    from_csv = np.loadtxt(csv, delimiter=",")
    assert np.array_equal(from_parquet, from_csv)
    assert not [p for p in (tmp_path / "parquet").iterdir() if p.name.startswith(".")]


def test_parquet_of_the_same_recipe_is_reused(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    first, written = data.generate_parquet(tmp_path, rows=1000, seed=0)
    mtime = first.stat().st_mtime_ns
    again, written_again = data.generate_parquet(tmp_path, rows=1000, seed=0)
    assert (again, written, written_again) == (first, True, False)
    assert first.stat().st_mtime_ns == mtime
    # Another size or seed is another set, in its own folder.
    assert data.generate_parquet(tmp_path, rows=1001, seed=0)[0] != first
    assert data.generate_parquet(tmp_path, rows=1000, seed=1)[0] != first


def test_parquet_under_a_file_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="is a file, not a folder"):
        data.generate_parquet(blocker / "parquet", rows=10, seed=0)
    assert blocker.read_text() == "x"
