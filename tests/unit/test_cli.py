"""The command line, called through main() on copies of the fixture folders.

The runner drives Ansible and Docker, so `run` is tested with a stand-in `sparksweep.runner`
module that writes a fixture sweep where a real sweep would be.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import sparksweep
from sparksweep import settings
from sparksweep.cli import main
from sparksweep.errors import PlaybookError
from sparksweep.plan import SweepPlan, write_plan
from sparksweep.progress import SweepProgress

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "results"
AMDAHL_KEYS = {"parallel_fraction", "serial_fraction", "ci95", "r2", "ceiling", "t1", "metric"}


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sparksweep: error: ")
    return lines[0]


# --- report ----------------------------------------------------------------------------


def test_report_writes_three_files_and_prints_the_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = Path(shutil.copytree(FIXTURES / "good", tmp_path / "good"))

    assert main(["report", str(sweep)]) == 0

    out = capsys.readouterr().out
    assert "p = 0.900" in out
    for name in ("report.json", "report.md", "speedup.png"):
        assert (sweep / name).is_file()
        assert str(sweep / name) in out
    data = json.loads((sweep / "report.json").read_text())
    assert set(data["amdahl"]) >= AMDAHL_KEYS
    assert data["amdahl"]["metric"] == "fit_s"
    assert data["amdahl"]["parallel_fraction"] == pytest.approx(0.9, abs=1e-6)
    assert data["oversubscribed_workers"] == [3, 4]


def test_report_metric_total_s(tmp_path: Path) -> None:
    sweep = Path(shutil.copytree(FIXTURES / "good", tmp_path / "good"))

    assert main(["report", str(sweep), "--metric", "total_s"]) == 0

    data = json.loads((sweep / "report.json").read_text())
    assert data["amdahl"]["metric"] == "total_s"
    assert data["amdahl"]["parallel_fraction"] == pytest.approx(108 / 140, abs=1e-3)


def test_report_on_the_results_folder_writes_into_the_sweep_folder(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "good", tmp_path / "results" / "good")

    assert main(["report", str(tmp_path / "results")]) == 0

    assert (tmp_path / "results" / "good" / "report.json").is_file()


def test_report_with_a_failed_run_writes_the_report_then_exits_4_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = Path(shutil.copytree(FIXTURES / "failed-run", tmp_path / "failed-run"))

    assert main(["report", str(sweep)]) == 4

    out = capsys.readouterr()
    assert out.out.splitlines()[-1] == (
        "failed w2-r2: executor_lost: Lost executor 1 on 172.18.0.4: worker lost"
    )
    (error,) = out.err.splitlines()
    assert error.startswith("sparksweep: error: 1 of 6 runs of sweep failed-run failed")
    assert json.loads((sweep / "report.json").read_text())["runs"]["failed"] == 1


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])

    assert stopped.value.code == 0
    assert capsys.readouterr().out == f"sparksweep {sparksweep.__version__}\n"


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("malformed", r"malformed/runs/w1-r2\.json: not valid JSON"),
        ("schema-violation", r"schema-violation/runs/w2-r1\.json: .*\$\.timings\.fit_s"),
        ("empty", r"no run files in .*empty"),
        ("mixed", r"2 sweeps: sweep-a .*sweep-b"),
        ("does-not-exist", r"does-not-exist does not exist"),
    ],
)
def test_report_on_bad_results_fails_with_one_line(
    fixture: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(FIXTURES / fixture)]) == 2

    assert re.search(expected, one_error_line(capsys))
    # Nothing is written into a folder the report refused.
    assert not (FIXTURES / fixture / "report.json").exists()


def test_report_rejects_an_unknown_metric(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(FIXTURES / "good"), "--metric", "cost"]) == 2

    assert "invalid choice: 'cost'" in one_error_line(capsys)


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2

    assert "required: COMMAND" in one_error_line(capsys)


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sparksweep", "report", str(tmp_path / "none")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.startswith("sparksweep: error: ")
    assert "does not exist" in done.stderr


# --- run -------------------------------------------------------------------------------


@pytest.fixture
def no_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget any imported runner, so that a test can see whether main imports it."""
    monkeypatch.delitem(sys.modules, "sparksweep.runner", raising=False)
    monkeypatch.delattr(sparksweep, "runner", raising=False)


@pytest.fixture
def fake_runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """A stand-in runner that records its calls and lays down the good fixture sweep."""
    calls: list[dict[str, Any]] = []

    def run_sweep(*, progress: SweepProgress, **kwargs: Any) -> Path:
        calls.append(kwargs)
        sweep = (kwargs["results_dir"] or tmp_path / "results") / kwargs["sweep_id"]
        with progress.shown(kwargs["sweep_id"], sweep):
            pass
        shutil.copytree(FIXTURES / "good", sweep)
        return sweep

    module = types.ModuleType("sparksweep.runner")
    module.run_sweep = run_sweep
    monkeypatch.setitem(sys.modules, "sparksweep.runner", module)
    monkeypatch.setattr(sparksweep, "runner", module, raising=False)
    return calls


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--workers", "0"], "argument --workers: worker counts start at 1, got 0 (see"),
        (["--workers", "17"], "argument --workers: a worker count goes up to 16 "),
        (["--workers", "1,2,2"], "argument --workers: worker count 2 is listed twice"),
        (["--workers", "4,2"], "argument --workers: worker counts must be ascending: 2 comes"),
        (["--workers", "abc"], "argument --workers: expected N (sweeps 1..N) or ascending "),
        (["--workers", "2.5"], "or 1-4,8, got '2.5'"),
        (["--workers", "٣"], "or 1-4,8, got '٣'"),
        (["--workers", "1_0"], "or 1-4,8, got '1_0'"),
        ([], "the following arguments are required: --workers"),
        (["--workers", "2", "--repeats", "0"], "argument --repeats: expected an integer of at"),
        (["--workers", "2", "--repeats", "٣"], "argument --repeats: expected an integer of at"),
        (["--workers", "2", "--repeats", "1_0"], "expected an integer of at least 1, got '1_0'"),
        (["--workers", "2", "--order", "fast"], "argument --order: invalid choice: 'fast'"),
        (["--workers", "2", "--order", "random", "--seed", "-1"], "argument --seed: expected"),
        (["--workers", "2", "--rows", "-5"], "argument --rows: expected an integer of at least 1"),
        (["--workers", "2", "--sweep-id", "my sweep"], "'my sweep' is not a sweep id"),
        (["--workers", "2", "--sweep-id", "a/b"], "'a/b' is not a sweep id"),
        (["--workers", "2", "--sweep-id", ".."], "'..' is not a sweep id"),
        (["--workers", "2", "-e", "novalue"], "'novalue' is not KEY=VALUE"),
        (["--workers", "2", "-e", "1x=2"], "'1x=2' is not KEY=VALUE"),
        (["--workers", "2", "--cores", "0"], "argument --cores: expected an integer of at least 1"),
        (["--workers", "2", "--memory", "2GB"], "'2GB' is not a memory size with a unit"),
        (["--workers", "2", "--memory", "2048"], "'2048' is not a memory size with a unit"),
    ],
)
def test_run_validates_arguments_before_importing_the_runner(
    args: list[str], expected: str, no_runner: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", *args]) == 2

    line = one_error_line(capsys)
    assert expected in line
    assert "sparksweep run --help" in line
    assert "sparksweep.runner" not in sys.modules


def test_run_validation_never_calls_the_runner(
    fake_runner: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--workers", "0"]) == 2

    assert fake_runner == []
    one_error_line(capsys)


def test_run_calls_the_runner_then_reports_on_its_sweep(
    fake_runner: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "elsewhere"
    argv = ["run", "--workers", "4", "--repeats", "2", "--rows", "1000", "--sweep-id", "s1.a_b-c"]
    argv += ["--results-dir", str(results), "-e", "spark_worker_memory=1g", "-e", "a=b=c"]

    assert main(argv) == 0

    assert fake_runner == [
        {
            "workers": (1, 2, 3, 4),
            "repeats": 2,
            "order": "interleaved",
            "seed": None,
            "rows": 1000,
            "sweep_id": "s1.a_b-c",
            "extravars": {"spark_worker_memory": "1g", "a": "b=c"},
            "results_dir": results,
            "inventory": None,
        }
    ]
    data = json.loads((results / "s1.a_b-c" / "report.json").read_text())
    assert set(data["amdahl"]) >= AMDAHL_KEYS
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"sweep s1.a_b-c: 8 runs, results in {results / 's1.a_b-c'}"
    assert out[1] == (
        "to resume it: sparksweep run --workers 4 --repeats 2 --order interleaved --rows 1000 "
        f"--results-dir {results} -e spark_worker_memory=1g -e a=b=c --sweep-id s1.a_b-c"
    )
    assert any("p = 0.900" in line for line in out)


def test_run_resume_command_spells_out_every_option_and_quotes_for_the_shell(
    fake_runner: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--workers", "2", "--cores", "2", "--memory", "3g", "-e", "x=a b"]) == 0

    (call,) = fake_runner
    resume = capsys.readouterr().out.splitlines()[1]
    assert resume == (
        "to resume it: sparksweep run --workers 2 --repeats 1 --order interleaved "
        f"--rows {settings.default_rows()} --cores 2 --memory 3g -e 'x=a b' "
        f"--sweep-id {call['sweep_id']}"
    )


def test_run_defaults(fake_runner: list[dict[str, Any]]) -> None:
    assert main(["run", "--workers", "2"]) == 0

    (call,) = fake_runner
    assert call["workers"] == (1, 2)
    assert (call["order"], call["seed"]) == ("interleaved", None)
    assert call["repeats"] >= 1
    assert call["rows"] >= 1
    assert call["extravars"] == {}
    assert call["results_dir"] is None
    assert re.fullmatch(r"sweep-[0-9]{8}T[0-9]{6}Z", call["sweep_id"])


def test_run_takes_a_list_of_worker_counts_and_a_random_order(
    fake_runner: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--workers", "1-2,4", "--repeats", "2", "--order", "random", "--seed", "5"]

    assert main([*argv, "--results-dir", str(tmp_path), "--sweep-id", "s"]) == 0

    (call,) = fake_runner
    assert (call["workers"], call["repeats"], call["order"], call["seed"]) == (
        (1, 2, 4),
        2,
        "random",
        5,
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"sweep s: 6 runs, results in {tmp_path / 's'}"
    assert out[1].startswith(
        "to resume it: sparksweep run --workers 1,2,4 --repeats 2 --order random --seed 5 "
    )


def test_run_with_a_random_order_and_no_seed_spells_the_drawn_seed_in_the_resume(
    fake_runner: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--workers", "3", "--order", "random"]) == 0

    (call,) = fake_runner
    assert isinstance(call["seed"], int)
    resume = capsys.readouterr().out.splitlines()[1]
    assert f"--order random --seed {call['seed']} --rows " in resume


def test_run_resuming_under_another_plan_is_refused_before_the_runner(
    no_runner: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = tmp_path / "s"
    write_plan(sweep, SweepPlan.new((1, 2, 4), 2, "random", seed=3))
    (sweep / "runs").mkdir()
    (sweep / "runs" / "w2-r1.json").write_text("{}")
    argv = ["run", "--workers", "4", "--repeats", "2", "--results-dir", str(tmp_path)]

    assert main([*argv, "--sweep-id", "s"]) == 2

    line = one_error_line(capsys)
    assert "sweep s was planned as workers 1,2,4, 2 repeat(s), random order, seed 3" in line
    assert "resume it with --workers 1,2,4 --repeats 2 --order random --seed 3" in line
    assert "sparksweep.runner" not in sys.modules


def test_run_a_seed_without_the_random_order_is_refused(
    no_runner: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--workers", "2", "--seed", "4"]) == 2

    assert "--seed shuffles the runs of --order random only" in one_error_line(capsys)


def test_run_cores_and_memory_set_the_workers_and_their_executors(
    fake_runner: list[dict[str, Any]],
) -> None:
    assert main(["run", "--workers", "1", "--cores", "2", "--memory", "3g"]) == 0

    (call,) = fake_runner
    assert call["extravars"] == {"sparksweep_worker_cores": 2, "sparksweep_worker_memory": "3g"}


def test_run_reports_a_playbook_failure_as_one_line(
    fake_runner: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def failing_sweep(**kwargs: Any) -> Path:
        raise PlaybookError("playbook sweep.yml failed at task 'start workers'")

    monkeypatch.setattr(sys.modules["sparksweep.runner"], "run_sweep", failing_sweep)

    assert main(["run", "--workers", "2"]) == 1

    assert "playbook sweep.yml failed" in one_error_line(capsys)


# --- data ------------------------------------------------------------------------------


def test_data_generate_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sparksweep.data")
    out = tmp_path / "small.csv.gz"

    assert main(["data", "generate", "--rows", "50", "--seed", "3", "--out", str(out)]) == 0
    assert out.is_file()
    assert str(out) in capsys.readouterr().out

    assert main(["data", "check", str(out)]) == 0
    assert "50 rows" in capsys.readouterr().out


def test_data_check_of_a_missing_file_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sparksweep.data")

    assert main(["data", "check", str(tmp_path / "missing.csv.gz")]) == 2

    assert "missing.csv.gz" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["generate", "--rows", "0"], "argument --rows: expected an integer of at least 1"),
        (["generate", "--rows", "5", "--seed", "-1"], "argument --seed"),
        (["generate"], "the following arguments are required: --rows"),
        ([], "required: ACTION"),
    ],
)
def test_data_arguments_are_validated(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", *args]) == 2

    assert expected in one_error_line(capsys)


def test_run_passes_an_inventory_on_and_into_the_resume_command(
    fake_runner: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("---\n")
    inventory = tmp_path / "two-hosts.yml"
    inventory.write_text("all: {}\n")

    assert main(["run", "--workers", "2", "--inventory", str(inventory)]) == 0

    (call,) = fake_runner
    assert call["inventory"] == inventory
    resume = capsys.readouterr().out.splitlines()[1]
    assert f"--inventory {inventory} --sweep-id {call['sweep_id']}" in resume


@pytest.fixture
def rounds_runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """A stand-in runner that lays down the good fixture's runs up to the repeats asked for."""
    calls: list[int] = []

    def run_sweep(*, progress: SweepProgress, **kwargs: Any) -> Path:
        calls.append(kwargs["repeats"])
        sweep = (kwargs["results_dir"] or tmp_path / "results") / kwargs["sweep_id"]
        (sweep / "runs").mkdir(parents=True, exist_ok=True)
        for run in sorted((FIXTURES / "good" / "runs").glob("*.json")):
            if int(run.stem.split("-r")[1]) <= kwargs["repeats"]:
                shutil.copy(run, sweep / "runs" / run.name)
        return sweep

    module = types.ModuleType("sparksweep.runner")
    module.run_sweep = run_sweep
    monkeypatch.setitem(sys.modules, "sparksweep.runner", module)
    return calls


@pytest.mark.parametrize(
    ("target", "max_repeats", "repeats", "reached"),
    # One run per count leaves p's interval unknown: a second round, which gives +-0.02.
    [("0.05", [], [1, 2], True), ("0.001", ["--max-repeats", "2"], [1, 2], False)],
)
def test_until_ci_adds_rounds_until_p_is_sharp_or_the_repeats_run_out(
    rounds_runner: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    max_repeats: list[str],
    repeats: list[int],
    reached: bool,
) -> None:
    argv = ["run", "--workers", "4", "--until-ci", target, *max_repeats]

    assert main([*argv, "--results-dir", str(tmp_path), "--sweep-id", "s"]) == 0

    assert rounds_runner == repeats
    report = json.loads((tmp_path / "s" / "report.json").read_text())
    assert report["until_ci"]["reached"] is reached
    assert report["until_ci"]["half_width"] == pytest.approx(0.0204, abs=0.002)
    out = capsys.readouterr().out
    assert "after 1 repeat(s): p's 95% interval is unknown" in out
    assert ("reached after 2 repeat(s)" if reached else "NOT reached after 2") in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--until-ci", "0"], "must be above 0 and below 1, got 0"),
        (["--until-ci", "1"], "must be above 0 and below 1, got 1"),
        (["--until-ci", "x"], "'x' is not a number"),
        (["--max-repeats", "3"], "--max-repeats bounds --until-ci"),
        (["--until-ci", "0.1", "--repeats", "3", "--max-repeats", "2"], "below --repeats 3"),
    ],
)
def test_until_ci_refuses_bad_input_before_the_runner(
    no_runner: None, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    assert main(["run", "--workers", "2", *args]) == 2

    assert expected in one_error_line(capsys)


def test_until_ci_resumes_from_the_rounds_it_added_before(
    rounds_runner: list[int], tmp_path: Path
) -> None:
    write_plan(tmp_path / "s", SweepPlan.new((1, 2, 3, 4), 2, "interleaved"))
    argv = ["run", "--workers", "4", "--until-ci", "0.05", "--results-dir", str(tmp_path)]

    assert main([*argv, "--sweep-id", "s"]) == 0

    assert rounds_runner == [2]
