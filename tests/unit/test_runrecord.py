"""The run record's one writer: config and hash, the resume plan, and a dead driver's record."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sparksweep.job import runrecord
from sparksweep.results import load_runs

FINGERPRINT = "sha256:" + "ab" * 32


def config_args(*extra: str) -> list[str]:
    return [
        "--data",
        "/workspace/data/parquet/ab",
        "--cores-per-worker",
        "1",
        "--executor-memory",
        "2g",
        "--driver-memory",
        "1g",
        "--dataset-source",
        "synthetic",
        "--dataset-fingerprint",
        FINGERPRINT,
        "--dataset-rows",
        "20000",
        "--spark-version",
        "4.0.1",
        "--image",
        "sparksweep/spark:4.0.1-0123456789ab",
        *extra,
    ]


def run_args(out: Path, workers: int = 1, repeat: int = 1, *extra: str) -> list[str]:
    return [
        *config_args(*extra),
        "--out",
        str(out),
        "--sweep-id",
        "s1",
        "--run-id",
        f"w{workers}-r{repeat}",
        "--workers",
        str(workers),
    ]


def parse(argv: list[str]):
    return runrecord.job_parser("test").parse_args(argv)


def ok_record(out: Path, workers: int = 1, *extra: str) -> dict:
    """A record as kmeans.py fills it after a good run."""
    record = runrecord.new_record(parse(run_args(out, workers, 1, *extra)))
    record.update(
        status="ok",
        iterations=20,
        cost=1.5e6,
        application_id="app-1",
        executors=[
            {"id": str(i), "host": f"10.0.0.{i}:4000", "cores": 1, "tasks": 9, "removed": None}
            for i in range(workers)
        ],
    )
    record["timings"].update(session_s=1.0, executors_s=0.1, load_s=2.0, fit_s=10.0 / workers)
    record["timings"].update(iteration_s=record["timings"]["fit_s"] / 20, total_s=20.0)
    return record


def test_config_hash_is_stable_and_covers_every_setting(tmp_path: Path) -> None:
    base = runrecord.config_of(parse(run_args(tmp_path / "a.json")))
    same = runrecord.config_of(parse(run_args(tmp_path / "b.json", workers=3, repeat=2)))
    assert runrecord.config_hash(base) == runrecord.config_hash(same)
    for extra in (["--k", "11"], ["--conf", "spark.locality.wait=0s"], ["--partitions", "8"]):
        other = runrecord.config_of(parse(run_args(tmp_path / "c.json", 1, 1, *extra)))
        assert runrecord.config_hash(other) != runrecord.config_hash(base)


def test_plan_skips_only_ok_runs_of_the_same_config(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    runrecord.write_json(str(runs / "w1-r1.json"), ok_record(runs / "w1-r1.json"))
    failed = ok_record(runs / "w2-r1.json", 2)
    runrecord.set_error(failed, "executor_lost", "lost 1")
    runrecord.write_json(str(runs / "w2-r1.json"), failed)

    config = runrecord.config_of(parse(run_args(tmp_path / "x.json")))
    assert runrecord.plan(str(runs), config, "s1") == ["w1-r1"]
    assert runrecord.plan(str(tmp_path / "absent"), config, "s1") == []


def test_resume_with_a_changed_k_is_refused_naming_k(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    runrecord.write_json(str(runs / "w1-r1.json"), ok_record(runs / "w1-r1.json"))
    argv = [
        "plan",
        f"--runs-dir={runs}",
        "--sweep-id=s1",
        "--job-args=" + json.dumps(config_args("--k", "12", "--dataset-rows", "30000")),
    ]

    assert runrecord.main(argv) == 3

    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1
    assert "w1-r1.json" in message
    assert "(different dataset.rows, params.k)" in message
    assert "new sweep id" in message


def test_plan_prints_the_done_runs_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    runrecord.write_json(str(runs / "w1-r1.json"), ok_record(runs / "w1-r1.json"))
    argv = [
        "plan",
        f"--runs-dir={runs}",
        "--sweep-id=s1",
        f"--job-args={json.dumps(config_args())}",
    ]

    assert runrecord.main(argv) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["done"] == ["w1-r1"]
    assert plan["config_hash"].startswith("sha256:")


@pytest.mark.parametrize(
    ("exit_code", "output", "elapsed", "kind"),
    [
        (137, "", 12.0, "killed"),
        (124, "", 1800.5, "timeout"),
        (137, "", 1831.0, "timeout"),
        (1, "java.lang.OutOfMemoryError: Java heap space", 40.0, "oom"),
        (1, "py4j gateway exited", 5.0, "exit"),
    ],
)
def test_a_dead_driver_is_recorded_by_the_same_code(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    exit_code: int,
    output: str,
    elapsed: float,
    kind: str,
) -> None:
    out = tmp_path / "runs" / "w1-r1.json"
    monkeypatch.setattr("sys.stdin", io.StringIO(output))
    argv = [
        "failure",
        f"--exit-code={exit_code}",
        f"--elapsed={elapsed}",
        "--timeout=1800",
        "--started-at=2026-11-27T11:00:00+00:00",
        f"--job-args={json.dumps(run_args(out))}",
    ]

    assert runrecord.main(argv) == 0

    (run,) = load_runs(tmp_path)  # validates against schema v2
    assert run["status"] == "failed"
    assert run["error"]["kind"] == kind
    assert run["error"]["message"].startswith(f"spark-submit exited with {exit_code}")
    assert run["started_at"] == "2026-11-27T11:00:00+00:00"
    assert json.loads(capsys.readouterr().out) == run


def test_a_record_the_job_wrote_in_this_attempt_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Traceback ..."))
    out = tmp_path / "runs" / "w1-r1.json"
    own = ok_record(out)
    runrecord.set_error(own, "executors_missing", "wanted exactly 1 executors")
    own["started_at"] = "2026-11-27T11:00:05+00:00"
    runrecord.write_json(str(out), own)
    argv = [
        "failure",
        "--exit-code=1",
        "--elapsed=9",
        "--started-at=2026-11-27T11:00:00+00:00",
        f"--job-args={json.dumps(run_args(out))}",
    ]

    assert runrecord.main(argv) == 0
    assert json.loads(out.read_text())["error"]["kind"] == "executors_missing"


def test_nan_is_never_written(tmp_path: Path) -> None:
    out = tmp_path / "w1-r1.json"
    record = ok_record(out)
    record["cost"] = float("nan")
    with pytest.raises(ValueError):
        runrecord.write_json(str(out), record)
    assert list(tmp_path.iterdir()) == []


def test_error_kind_reads_the_failure_text() -> None:
    assert runrecord.error_kind("java.lang.OutOfMemoryError: Java heap space") == "oom"
    assert (
        runrecord.error_kind("ExecutorLostFailure ... Reason: Command exited with code 137")
        == "oom"
    )
    assert runrecord.error_kind("worker exit code 137") == "oom"
    assert runrecord.error_kind("Container killed by the kernel") == "oom"
    assert runrecord.error_kind("ExecutorLostFailure (executor 1 exited)") == "executor_lost"
    assert runrecord.error_kind("AnalysisException: [PATH_NOT_FOUND]") == "exception"


def _failure_argv(out: Path, *extra: str) -> list[str]:
    return [
        "failure",
        "--exit-code=137",
        "--elapsed=30",
        "--started-at=2026-11-27T11:00:00+00:00",
        f"--job-args={json.dumps(run_args(out))}",
        *extra,
    ]


def test_a_master_killed_under_the_driver_is_not_called_oom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 137 alone reads as OOM; the role knows the master was lost and says so."""
    monkeypatch.setattr("sys.stdin", io.StringIO("Killed"))
    out = tmp_path / "runs" / "w1-r1.json"
    cause = "the master container stopped during the run (exit code 137, exited)"
    argv = _failure_argv(out, "--cause-kind=master_lost", f"--cause={cause}")
    assert runrecord.main(argv) == 0
    (run,) = load_runs(tmp_path)
    assert run["error"]["kind"] == "master_lost"
    assert run["error"]["message"].startswith(cause + "; spark-submit exited with 137")


def test_a_record_the_job_could_only_print_is_the_one_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk made the job print its measured record: once there is room, that record
    is written, not a failure built from the exit code."""
    out = tmp_path / "runs" / "w1-r1.json"
    measured = ok_record(out)
    printed = runrecord.RECORD_FALLBACK + json.dumps(measured)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{printed}\ncannot write {out}: No space\n"))
    assert runrecord.main(_failure_argv(out, "--exit-code=4")) == 0
    assert json.loads(out.read_text()) == measured


def test_a_record_that_cannot_be_written_is_printed_and_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs folder should be")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert runrecord.main(_failure_argv(blocker / "w1-r1.json")) == 4
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[0])["status"] == "failed"
    assert "cannot write" in captured.err and "resume the sweep with the same id" in captured.err
    assert blocker.read_text().startswith("a file")


def test_executors_killed_at_start_up_are_named_with_their_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's own executors_missing record gains what only the driver's log says."""
    out = tmp_path / "runs" / "w1-r1.json"
    own = ok_record(out)
    runrecord.set_error(own, "executors_missing", "wanted exactly 1 executors; registered: 0")
    own["started_at"] = "2026-11-27T11:00:05+00:00"
    runrecord.write_json(str(out), own)
    log = "".join(
        f"26/11/27 11:00:{10 + i} INFO StandaloneSchedulerBackend: Executor "
        f"app-20261127110005-0000/{i} removed: Command exited with code 137\n"
        for i in range(3)
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(log))
    assert runrecord.main(_failure_argv(out, "--exit-code=1")) == 0
    message = json.loads(out.read_text())["error"]["message"]
    assert message.startswith("wanted exactly 1 executors; registered: 0; ")
    assert "launched and lost 3 executor(s), last app-20261127110005-0000/2" in message
    assert "Command exited with code 137 (3x)" in message
