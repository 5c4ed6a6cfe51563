"""Loading run JSON folders and writing files atomically, on the fixture folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sparksweep.errors import ResultsError
from sparksweep.job import runrecord
from sparksweep.results import atomic_write, load_runs, sweep_folder, write_json_atomic
from tests.sweeps import FIXTURES, copy_fixture, rewrite_runs

# --- load_runs -------------------------------------------------------------------------


def test_load_runs_reads_every_run_of_a_sweep() -> None:
    runs = load_runs(FIXTURES / "good")

    assert sorted(run["run_id"] for run in runs) == [
        f"w{w}-r{r}" for w in range(1, 5) for r in (1, 2)
    ]
    assert sweep_folder(FIXTURES / "good") == FIXTURES / "good"


def test_load_runs_accepts_the_folder_above_one_sweep(tmp_path: Path) -> None:
    copy_fixture("good", tmp_path)

    assert len(load_runs(tmp_path)) == 8
    assert sweep_folder(tmp_path) == tmp_path / "good"


def test_malformed_json_names_the_file() -> None:
    with pytest.raises(ResultsError, match=r"w1-r2\.json: not valid JSON: .*line \d+"):
        load_runs(FIXTURES / "malformed")


def test_schema_violation_names_the_file_and_the_json_path() -> None:
    with pytest.raises(ResultsError) as caught:
        load_runs(FIXTURES / "schema-violation")

    message = str(caught.value)
    assert "w2-r1.json" in message
    assert "$.timings.fit_s" in message
    assert "less than the minimum of 0" in message


def test_ok_run_without_a_fit_time_violates_the_schema(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, lambda run: run["timings"].update(fit_s=None))

    with pytest.raises(ResultsError, match=r"\$\.timings\.fit_s"):
        load_runs(sweep)


def test_nan_is_not_json(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    path = sweep / "runs" / "w1-r1.json"
    path.write_text(path.read_text().replace('"fit_s": 122.4', '"fit_s": NaN'))

    with pytest.raises(ResultsError, match=r"w1-r1\.json: line \d+: \"fit_s\": NaN is not a JSON"):
        load_runs(sweep)


@pytest.mark.parametrize(
    ("text", "change"),
    [
        ("beyond a double's range", lambda raw: raw.replace('"fit_s": 122.4', '"fit_s": 1e400')),
        (
            "100000 is greater than the maximum of 1024",
            lambda raw: raw.replace('"workers": 1,', '"workers": 100000,'),
        ),
    ],
)
def test_numbers_beyond_reason_are_refused_at_once(tmp_path: Path, text: str, change: Any) -> None:
    sweep = copy_fixture("good", tmp_path)
    path = sweep / "runs" / "w1-r1.json"
    path.write_text(change(path.read_text()))

    with pytest.raises(ResultsError, match=text):
        load_runs(sweep)


def test_bad_timestamp_violates_the_schema(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, lambda run: run.update(started_at="yesterday"))

    with pytest.raises(ResultsError, match=r"\$\.started_at: 'yesterday' is not a 'date-time'"):
        load_runs(sweep)


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no run files"):
        load_runs(FIXTURES / "empty")
    with pytest.raises(ResultsError, match="no run files"):
        load_runs(tmp_path)


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="does not exist"):
        load_runs(tmp_path / "nowhere")


def test_mixed_sweeps_are_refused_with_their_ids() -> None:
    with pytest.raises(ResultsError) as caught:
        load_runs(FIXTURES / "mixed")

    message = str(caught.value)
    assert "sweep-a" in message
    assert "sweep-b" in message
    assert "point at one sweep's folder" in message


def test_a_run_counted_twice_is_refused(tmp_path: Path) -> None:
    copy_fixture("good", tmp_path)
    shutil.copytree(FIXTURES / "good", tmp_path / "good-copy")

    with pytest.raises(ResultsError, match="appears twice"):
        load_runs(tmp_path)


def test_runs_of_different_settings_are_refused_naming_the_fields(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)

    def change(run: dict[str, Any]) -> None:
        run["params"]["k"] = 12
        run["dataset"]["fingerprint"] = "sha256:" + "cd" * 32

    rewrite_runs(sweep, change, "w3-*.json")

    with pytest.raises(ResultsError) as caught:
        load_runs(sweep)
    message = str(caught.value)
    assert "mixes runs measured with different settings" in message
    assert "dataset.fingerprint, params.k" in message


def test_version_2_runs_with_mixed_config_hashes_are_refused(tmp_path: Path) -> None:
    runs = tmp_path / "s1" / "runs"
    runs.mkdir(parents=True)
    for workers, k in ((1, 10), (2, 11)):
        record = runrecord.new_record(
            runrecord.job_parser("test").parse_args(
                [
                    *("--data", "/d", "--cores-per-worker", "1", "--executor-memory", "2g"),
                    *("--dataset-source", "synthetic", "--dataset-fingerprint", "sha256:ab"),
                    *("--k", str(k), "--out", "x", "--sweep-id", "s1"),
                    *("--run-id", f"w{workers}-r1", "--workers", str(workers)),
                ]
            )
        )
        runrecord.set_error(record, "exit", "x")
        runrecord.write_json(str(runs / f"w{workers}-r1.json"), record)

    with pytest.raises(ResultsError, match=r"w1-r1.json and w2-r1.json differ in params\.k"):
        load_runs(tmp_path / "s1")


def test_a_run_id_that_does_not_name_its_workers_is_refused(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    rewrite_runs(sweep, lambda run: run.update(workers=3), "w2-r1.json")

    with pytest.raises(ResultsError, match="run_id w2-r1 names 2 workers but the run had 3"):
        load_runs(sweep)


def test_a_file_named_for_another_run_is_refused(tmp_path: Path) -> None:
    sweep = copy_fixture("good", tmp_path)
    (sweep / "runs" / "w4-r2.json").rename(sweep / "runs" / "w4-r3.json")

    with pytest.raises(ResultsError, match="does not match its run_id w4-r2"):
        load_runs(sweep)


# --- write_json_atomic -----------------------------------------------------------------


def test_write_json_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json_atomic(target, {"a": 1})
    write_json_atomic(target, {"a": 2})

    assert json.loads(target.read_text()) == {"a": 2}
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_write_json_atomic_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json_atomic(target, {"a": 1})

    with pytest.raises(ValueError):
        write_json_atomic(target, {"a": float("nan")})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [path.name for path in tmp_path.iterdir()] == ["out.json"]


def test_atomic_write_leaves_the_old_file_when_the_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "speedup.png"
    target.write_bytes(b"old")

    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["speedup.png"]


def test_atomic_write_check_reads_the_whole_file_and_can_refuse_it(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text("old")
    seen: list[bytes] = []

    def refuse(written: Path) -> None:
        seen.append(written.read_bytes())
        raise ResultsError("not good enough")

    with pytest.raises(ResultsError), atomic_write(path, check=refuse) as handle:
        handle.write(b"new")

    assert seen == [b"new"]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
