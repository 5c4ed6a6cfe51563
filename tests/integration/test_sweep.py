"""The product end to end: real Docker, real Spark, real Ansible, through the wrapper."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from sparksweep.cli import main
from sparksweep.runner import REPO_ROOT, run_playbook, run_sweep

SCHEMA = json.loads((REPO_ROOT / "sparksweep" / "schemas" / "run.schema.json").read_text())
ROWS = 50_000


def validate(path: Path) -> dict:
    doc = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    return doc


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="module", autouse=True)
def teardown_after(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    done = run_playbook(
        "playbooks/teardown.yml", private_data_dir=tmp_path_factory.mktemp("teardown")
    )
    assert done.ok, done.failures


@pytest.fixture(scope="module")
def sweep(results_dir: Path) -> Path:
    """One real sweep, w = 1 and 2, on a generated set of 50,000 rows."""
    lines: list[str] = []
    folder = run_sweep(
        workers=2,
        rows=ROWS,
        sweep_id=f"it-{uuid.uuid4().hex[:8]}",
        results_dir=results_dir,
        write=lines.append,
    )
    assert any("job running" in line for line in lines), "no progress was reported"
    assert any("w2-r1: ok" in line for line in lines), lines
    return folder


def test_sweep_writes_one_valid_ok_json_per_worker_count(sweep: Path) -> None:
    runs = sorted((sweep / "runs").glob("*.json"))
    assert [p.name for p in runs] == ["w1-r1.json", "w2-r1.json"]
    for path, workers in zip(runs, (1, 2), strict=True):
        doc = validate(path)
        assert doc["status"] == "ok", doc["error"]
        assert doc["workers"] == workers
        assert doc["dataset"]["rows"] == ROWS
        assert doc["dataset"]["source"] == "synthetic"
        assert doc["iterations"] >= 1
        assert 0 < doc["timings"]["fit_s"] < doc["timings"]["total_s"]


def test_report_through_the_cli(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(sweep)]) == 0
    report = json.loads((sweep / "report.json").read_text())
    p = report["amdahl"]["parallel_fraction"]
    assert 0.0 <= p <= 1.0
    assert report["amdahl"]["serial_fraction"] == pytest.approx(1.0 - p)
    assert (sweep / "report.md").stat().st_size > 0
    assert (sweep / "speedup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "workers" in capsys.readouterr().out


def test_rerun_resumes_only_the_missing_run(sweep: Path, results_dir: Path) -> None:
    kept = sweep / "runs" / "w1-r1.json"
    kept_bytes = kept.read_bytes()
    (sweep / "runs" / "w2-r1.json").unlink()
    run_sweep(workers=2, rows=ROWS, sweep_id=sweep.name, results_dir=results_dir, write=print)
    assert kept.read_bytes() == kept_bytes, "an ok run was run again"
    assert validate(sweep / "runs" / "w2-r1.json")["status"] == "ok"


def test_executor_out_of_memory_is_recorded_as_failed_oom(
    results_dir: Path, tmp_path: Path
) -> None:
    # 40,000 centres make the block solver's distance matrix far larger than a 512 MiB
    # executor heap: a real java.lang.OutOfMemoryError in the executors.
    sweep_id = f"oom-{uuid.uuid4().hex[:8]}"
    result = run_playbook(
        "playbooks/sweep.yml",
        extravars={
            "workers": 1,
            "rows": ROWS,
            "sweep_id": sweep_id,
            "results_dir": str(results_dir),
            "spark_job_k": 40_000,
            "spark_job_solver": "block",
            "spark_job_max_iter": 2,
            "spark_job_executor_memory": "512m",
            "sparksweep_report_enabled": False,
        },
        private_data_dir=tmp_path,
    )
    assert result.ok, "a failed run must be recorded, not fail the sweep"
    doc = validate(results_dir / sweep_id / "runs" / "w1-r1.json")
    assert doc["status"] == "failed"
    assert doc["error"]["kind"] == "oom", doc["error"]["message"][:500]
