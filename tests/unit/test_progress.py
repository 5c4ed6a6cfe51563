"""A sweep you can follow: recorded ansible-runner events fed to the progress, as plain lines,
as a bar on a terminal, and through the whole `sparksweep run` in a pty and in a pipe."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from sparksweep.progress import (
    SweepProgress,
    SweepProgressBar,
    SweepState,
    clock_text,
    download_progress,
    sweep_progress,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
EVENTS = json.loads((FIXTURES / "events" / "sweep-failed-run.json").read_text())
# `sparksweep run --workers 3 --repeats 2` with a stand-in runner: it plays the recorded
# events to the progress the CLI hands it and lays down the failed-run fixture as the sweep.
FAKE_RUN = """
import json, shutil, sys, types
from pathlib import Path

events = json.loads(Path(sys.argv[1]).read_text())
fixture = Path(sys.argv[2])

def run_sweep(*, sweep_id, results_dir, progress, **kwargs):
    folder = results_dir / sweep_id
    with progress.shown(sweep_id, folder):
        for event in events:
            progress(event)
    shutil.copytree(fixture, folder)
    return folder

runner = types.ModuleType("sparksweep.runner")
runner.run_sweep = run_sweep
sys.modules["sparksweep.runner"] = runner
from sparksweep.cli import main
raise SystemExit(main(sys.argv[3:]))
"""
# Rich reads these; the tests decide what is a terminal, not the environment they run in.
_RICH_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def play(progress: SweepProgress, clock: Clock, seconds_per_event: float = 1.0) -> None:
    with progress.shown("failed-run", Path("/results/failed-run")):
        for event in EVENTS:
            clock.now += seconds_per_event
            assert progress(event) is True


def marker(phase: str, **fields: Any) -> dict[str, Any]:
    return {
        "event": "runner_on_ok",
        "event_data": {
            "task": "Mark the phase",
            "res": {"msg": {"sparksweep_phase": phase, **fields}},
        },
    }


# --- what the sweep has done ----------------------------------------------------------


def test_state_counts_runs_and_estimates_the_time_left_from_runs_of_this_process() -> None:
    clock = Clock()
    state = SweepState(workers=2, repeats=2, clock=clock)
    assert (state.total, state.done, state.left()) == (4, 0, None)
    assert state.left_text() == "left: estimating"

    clock.now += 30
    state.advance({"sparksweep_phase": "planned", "done": [], "runs": "4"})
    clock.now += 60
    state.advance({"sparksweep_phase": "run_done", "run_id": "w1-r1", "status": "ok"})
    assert state.done == 1
    assert state.left() == pytest.approx(3 * 60)
    clock.now += 20
    # 20 s into the second run: three runs of 60 s are left, less those 20 s.
    assert state.left() == pytest.approx(3 * 60 - 20)
    assert state.left_text() == "about 0:02:40 left"

    clock.now += 100
    state.advance({"sparksweep_phase": "run_done", "run_id": "w1-r2", "status": "ok"})
    assert state.done == 2
    # The median of 60 s and 120 s, for the two runs left.
    assert state.left() == pytest.approx(2 * 90)
    assert state.elapsed() == pytest.approx(210)


def test_state_counts_the_runs_a_resume_skips_but_only_those_of_this_sweep() -> None:
    state = SweepState(workers=2, repeats=1, clock=Clock())
    text = state.advance(
        {"sparksweep_phase": "planned", "done": ["w1-r1", "w3-r1", "w1-r2"], "runs": "2"}
    )

    assert text == "data ready; 2 runs planned, already done: w1-r1, w3-r1, w1-r2"
    assert state.done == 1
    # Skipped runs took no time here, so they tell nothing about the time left.
    assert state.left() is None


def test_state_of_a_list_of_worker_counts_counts_its_runs_and_only_those() -> None:
    state = SweepState(workers=(1, 2, 4, 8), repeats=2, clock=Clock())
    assert state.total == 8

    state.advance(
        {"sparksweep_phase": "planned", "done": ["w4-r1", "w3-r1", "w8-r2", "w8-r3"], "runs": "8"}
    )
    # w3 is not in the list, r3 not among the repeats.
    assert state.done == 2


def test_clock_text() -> None:
    assert [clock_text(s) for s in (0, 59.6, 61, 3600 + 125)] == [
        "0:00:00",
        "0:01:00",
        "0:01:01",
        "1:02:05",
    ]


# --- plain lines (not a terminal) -------------------------------------------------------


def test_lines_name_the_run_the_phase_and_after_each_run_the_count_and_time_left() -> None:
    lines: list[str] = []
    clock = Clock()
    play(
        SweepProgress(
            3, 2, resume="sparksweep run --workers 3 ...", write=lines.append, clock=clock
        ),
        clock,
    )

    assert lines[:2] == [
        "sweep failed-run: 6 runs, results in /results/failed-run",
        "to resume it: sparksweep run --workers 3 ...",
    ]
    texts = [line.split("] ", 1)[1].strip() for line in lines[2:]]
    assert texts[:6] == [
        "sweep failed-run started",
        "ansible: [WARNING]: a warning Ansible printed",
        "image built or reused, master ALIVE",
        "data: preparing (written or converted to Parquet once per data set)",
        "data ready; 6 runs planned, already done: none",
        "w1-r1  workers removed with their volumes",
    ]
    done = [text for text in texts if "done," in text]
    assert done[0] == "w1-r1  w1-r1: ok fit 122.4 s, total 142.4 s (1/6 done, about 0:01:00 left)"
    assert done[3] == (
        "w2-r2  w2-r2: failed executor_lost: Lost executor 1 on 172.18.0.4: worker lost "
        "(4/6 done, about 0:00:24 left)"
    )
    assert done[-1].endswith("(6/6 done, about 0:00:00 left)")
    # Each line starts with the time since the sweep started.
    assert lines[2].startswith("[    2.0s] ")


# --- the bar (a terminal) ---------------------------------------------------------------


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# One frame of the bar: run, bar, runs done, elapsed, time left, phase.
BAR = re.compile(
    r"(w[1-3]-r[12])? +[━╸╺]* +[0-6]/6 [0-9:]{7} (about [0-9:]{7} left|left: estimating) +.+"
)


def bar_output(width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=width, color_system=None)
    clock = Clock()
    progress = SweepProgressBar(3, 2, console, resume="RESUME", clock=clock, auto_refresh=False)
    play(progress, clock, seconds_per_event=10)
    return out.getvalue()


def test_the_bar_shows_runs_done_the_run_the_phase_elapsed_and_time_left() -> None:
    text = bar_output(width=120)

    # The last frame: all 6 runs, the last run and its phase, elapsed and left.
    last = text.rsplit("\r", 1)[-1]
    assert re.search(r"w3-r2 +━+ 6/6 0:13:50 about 0:00:00 left w3-r2: ok fit 47.04 s", last), last
    # A frame in the third run's job: 12 events of 10 s a run, 4 runs left, 2 events in.
    assert re.search(r"w2-r1 +━+ +2/6 0:07:10 about 0:06:40 left job running", text)
    # Finished runs and warnings stay on screen above the bar, the header before it.
    assert text.index("sweep failed-run: 6 runs") < text.index("to resume it: RESUME")
    assert "ansible: [WARNING]: a warning Ansible printed" in text
    assert "w2-r2: failed executor_lost: Lost executor 1" in text
    # Transient phases live in the bar only.
    assert "workers removed with their volumes\n" not in text


def test_the_bar_cuts_a_long_phase_instead_of_wrapping_at_80_columns() -> None:
    text = ANSI.sub("", bar_output(width=80))
    bars = [line for line in re.split(r"[\r\n]", text) if re.search(r" [0-6]/6 ", line)]

    assert bars
    for line in bars:
        assert len(line) <= 80, line
        assert re.fullmatch(BAR, line), line
    assert "workers removed with th…" in text


def test_sweep_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    terminal = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO(), force_terminal=False)

    assert type(sweep_progress(1, 1, None, terminal)) is SweepProgressBar
    assert type(sweep_progress(1, 1, None, pipe)) is SweepProgress


# --- the whole command, in a pty and in a pipe ------------------------------------------


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _RICH_ENV}
    env["TERM"] = "xterm-256color"
    return env


def fake_run_argv(results: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        FAKE_RUN,
        str(FIXTURES / "events" / "sweep-failed-run.json"),
        str(FIXTURES / "results" / "failed-run"),
        *("run", "--workers", "3", "--repeats", "2", "--rows", "1000"),
        *("--sweep-id", "followed", "--results-dir", str(results)),
    ]


def test_run_on_a_terminal_draws_the_bar_and_exits_4_naming_the_failed_run(
    tmp_path: Path,
) -> None:
    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(
        fake_run_argv(tmp_path),
        stdin=child,
        stdout=child,
        stderr=child,
        cwd=REPO_ROOT,
        env=cli_env(),
    )
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(parent)
    code = proc.wait(timeout=60)
    screen = b"".join(chunks).decode("utf-8", errors="replace")

    assert code == 4, screen
    assert "\x1b[" in screen  # a terminal gets rich's drawing
    assert re.search(r"w3-r2 +━+ 6/6 ", ANSI.sub("", screen)), screen
    resume = (
        "sparksweep run --workers 3 --repeats 2 --order interleaved --rows 1000 "
        f"--results-dir {tmp_path} --sweep-id followed"
    )
    assert f"to resume it: {resume}" in screen
    assert "failed w2-r2: executor_lost: Lost executor 1 on 172.18.0.4: worker lost" in screen
    assert (
        f"1 of 6 runs of sweep failed-run failed (listed above); to rerun them: {resume}" in screen
    )
    assert (tmp_path / "followed" / "report.json").is_file()


def test_run_in_a_pipe_prints_plain_lines_and_exits_4(tmp_path: Path) -> None:
    done = subprocess.run(
        fake_run_argv(tmp_path),
        cwd=REPO_ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 4, done.stderr
    assert "\x1b[" not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == f"sweep followed: 6 runs, results in {tmp_path / 'followed'}"
    assert lines[1].startswith("to resume it: sparksweep run --workers 3 ")
    assert re.fullmatch(
        r"\[ *[0-9.]+s\] w3-r2  w3-r2: ok fit 47.04 s, total 67.04 s "
        r"\(6/6 done, about 0:00:00 left\)",
        lines[2 + 5 + 6 * 4 - 1],
    ), lines
    assert "failed w2-r2: executor_lost: Lost executor 1 on 172.18.0.4: worker lost" in lines
    (error,) = done.stderr.splitlines()
    assert error.startswith("sparksweep: error: 1 of 6 runs of sweep failed-run failed")


# --- a download -------------------------------------------------------------------------


def test_a_download_on_a_terminal_is_a_bar_with_size_speed_and_time_left() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)

    with download_progress("download", console) as update:
        for done in range(0, 5_000_001, 1_000_000):
            update(done, 5_000_000)

    last = ANSI.sub("", out.getvalue()).rsplit("\r", 1)[-1]
    assert re.search(r"download +━+ 5\.0/5\.0 MB .*/s", last), last


def test_a_download_elsewhere_is_a_line_at_each_tenth() -> None:
    lines: list[str] = []
    with download_progress("download", Console(file=io.StringIO()), lines.append) as update:
        for done in range(0, 1_000_001, 50_000):
            update(done, 1_000_000)
        update(1_000_000, 1_000_000)

    assert lines == [f"download: {mb / 10:.1f} of 1.0 MB" for mb in range(11)]


def test_a_download_of_unknown_size_is_a_line_every_100_mb() -> None:
    lines: list[str] = []
    with download_progress("download", Console(file=io.StringIO()), lines.append) as update:
        for done in range(0, 250_000_001, 10_000_000):
            update(done, None)

    assert lines == ["download: 0.0 MB", "download: 100.0 MB", "download: 200.0 MB"]
